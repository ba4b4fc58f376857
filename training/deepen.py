"""A student with a deeper analysis transform (ModelConfig.analysis_blocks), started from a
trained one without changing what it computes.

Why: the decode-speed target leaves the student little room in its decoder (the synthesis
and the exact entropy networks are what a decode runs), but the encoder's g_a is free: no
decode ever runs it. Effort 2 (per-image latent refinement, lic_codec.refine) codes Kodak
~7% smaller with the same decoder, so the analysis leaves rate on the table that a
stronger g_a may recover at encode time only. Measured on the Me 80 cut with 2 blocks at each
place: ~0.2% BD-rate for a third more encode time, levelling off within 9,000 steps; not
adopted (results/history.md, "Encoder-only depth for the fast student").

How: residual blocks go in after the GDN at 1/4 and at 1/8 of the image; every other layer is
copied. Each block's second convolution starts at zero, so a block is the identity
(x + LeakyReLU(0)) and the deepened network is the source's function; training then grows
the blocks.

    python -m training.deepen runs/student_me80/ckpt.pt /tmp/me80d.pt --analysis-blocks 2
    python -m training rd --init /tmp/me80d.pt --run runs/student_me80d ...
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from lic_codec.models.layers import ResidualBlock
from lic_codec.models.lic import LicModel
from .checkpoint import source_model
from .widen import write_start


@torch.no_grad()
def deepen(src: LicModel, blocks: int) -> LicModel:
    """``src`` (a student without analysis blocks) with ``blocks`` identity-initialised
    residual blocks at 1/4 and at 1/8 in g_a: the same function, more encoder capacity."""
    if src.cfg.arch != "student" or src.cfg.analysis_blocks:
        raise ValueError("deepen starts from a student without analysis blocks")
    if blocks < 1:
        raise ValueError("the number of analysis blocks must be at least 1")
    dst = LicModel(dataclasses.replace(src.cfg, analysis_blocks=blocks))
    # g_a's layers other than the new blocks, in order, are the source's g_a layers
    kept = [i for i, m in enumerate(dst.g_a) if not isinstance(m, ResidualBlock)]
    moved = {f"g_a.{old}.": f"g_a.{new}." for old, new in enumerate(kept)}
    state = {}
    for k, v in src.state_dict().items():
        if k.startswith("g_a."):
            head = ".".join(k.split(".")[:2]) + "."
            k = moved[head] + k[len(head):]
        state[k] = v
    missing, unexpected = dst.load_state_dict(state, strict=False)
    assert not unexpected and all(".conv" in k for k in missing), (missing, unexpected)
    for m in dst.g_a:
        if isinstance(m, ResidualBlock):
            m.conv2.weight.zero_()
            m.conv2.bias.zero_()
    return dst


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.deepen", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="the checkpoint to start from (its moving "
                    "average of the weights when it has one)")
    ap.add_argument("out", type=Path, help="the checkpoint to write (step 0)")
    ap.add_argument("--analysis-blocks", type=int, required=True, metavar="K",
                    help="residual blocks at 1/4 and (again) at 1/8 of the image")
    args = ap.parse_args(argv)
    state, src = source_model(args.source)
    model = deepen(src, args.analysis_blocks)
    write_start(model, state, args.source, args.out, "deepened_from")
    print(f"{args.out}: {args.analysis_blocks} analysis blocks at 1/4 and 1/8, "
          f"{src.param_count() / 1e6:.2f} -> {model.param_count() / 1e6:.2f} M parameters")


if __name__ == "__main__":
    main()
