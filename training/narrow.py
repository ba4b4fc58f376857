"""A student with narrower entropy networks (smaller ModelConfig.Me), started from a trained one.

Why: the exact integer entropy networks cost the student more than half the decode time
they cost the teacher (38 against 65 ms on a Kodak image, results/decode_split_*.json) while
its synthesis is four times cheaper, which caps the student/teacher decode-speed ratio near
2.8x. Their
matrix products scale with Me^2, so halving Me takes most of that time away; what it costs in
rate is what training from here has to show.

How: the transforms, gains, hyper-analysis, hyper-latent model and the two deconvolutions of the
hyper-synthesis are copied unchanged; every entropy layer keeps the hidden units whose weights
are largest (row norm) and the inputs its kept predecessors produce. The context reads the
first Me latent channels, as before. The output layers keep all 2M rows (mean | scale). The
start is a pruned network, not the old function: the rate rises at first and training
recovers it.

    python -m training.narrow runs/student_v4/ckpt.pt /tmp/narrow64.pt --entropy-width 64
    python -m training rd --init /tmp/narrow64.pt --run runs/student_me64 ...
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch
import torch.nn as nn

from lic_codec.models.lic import LicModel
from .checkpoint import source_model
from .widen import write_start


# the layers whose width follows Me (everything else is copied as it is)
_ENTROPY = ("latent.h_s.4.", "latent.context.", "latent.params_anchor.",
            "latent.params_nonanchor.")


def _strongest(layer: nn.Conv2d, n: int, cols: torch.Tensor | None = None) -> torch.Tensor:
    """Indexes (sorted) of the n output channels with the largest weight norm over ``cols``."""
    w = layer.weight.detach()
    if cols is not None:
        w = w[:, cols]
    return w.flatten(1).norm(dim=1).topk(n).indices.sort().values


@torch.no_grad()
def _copy(dst: nn.Conv2d, src: nn.Conv2d, rows, cols) -> None:
    rows, cols = torch.as_tensor(rows), torch.as_tensor(cols)
    dst.weight.copy_(src.weight[rows][:, cols])
    dst.bias.copy_(src.bias[rows])


@torch.no_grad()
def narrow(src: LicModel, Me: int) -> LicModel:
    """``src`` with its entropy networks cut to width ``Me`` (see the module docstring)."""
    if not 0 < Me < src.cfg.entropy_width:
        raise ValueError(f"the entropy width must be below {src.cfg.entropy_width}")
    dst = LicModel(dataclasses.replace(src.cfg, Me=Me))
    own = {k for k in dst.state_dict() if not k.startswith(_ENTROPY)}
    dst.load_state_dict({k: v for k, v in src.state_dict().items() if k in own}, strict=False)
    s, d = src.latent, dst.latent
    He = 2 * src.latent.Me  # hyper features of src; non-anchor input is cat(hyper, ctx)
    hyper = _strongest(s.h_s[4], 2 * Me)
    _copy(d.h_s[4], s.h_s[4], hyper, range(s.h_s[4].in_channels))
    ctx_in = torch.arange(Me)
    ctx = _strongest(s.context, 2 * Me, ctx_in)
    d.context.weight.copy_(s.context.weight[ctx][:, ctx_in] * d.context.mask)
    d.context.bias.copy_(s.context.bias[ctx])
    cols = hyper
    for i in (0, 2):
        rows = _strongest(s.params_anchor[i], 2 * Me, cols)
        _copy(d.params_anchor[i], s.params_anchor[i], rows, cols)
        cols = rows
    _copy(d.params_anchor[4], s.params_anchor[4], range(2 * src.cfg.M), cols)
    cols = torch.cat([hyper, He + ctx])
    for i, width in ((0, 3 * Me), (2, 2 * Me)):
        rows = _strongest(s.params_nonanchor[i], width, cols)
        _copy(d.params_nonanchor[i], s.params_nonanchor[i], rows, cols)
        cols = rows
    _copy(d.params_nonanchor[4], s.params_nonanchor[4], range(2 * src.cfg.M), cols)
    return dst


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.narrow", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="the checkpoint to start from (its moving "
                    "average of the weights when it has one)")
    ap.add_argument("out", type=Path, help="the checkpoint to write (step 0)")
    ap.add_argument("--entropy-width", type=int, required=True, metavar="ME")
    args = ap.parse_args(argv)
    state, src = source_model(args.source)
    model = narrow(src, args.entropy_width)
    write_start(model, state, args.source, args.out, "narrowed_from")
    print(f"{args.out}: entropy width {src.cfg.entropy_width} -> {args.entropy_width}, "
          f"{src.param_count() / 1e6:.2f} -> {model.param_count() / 1e6:.2f} M parameters")


if __name__ == "__main__":
    main()
