"""A wide-latent student whose pixel-side layers come from a trained student.

Results: results/training.md (the transplanted student).

Why: a student with M=192 trained from scratch needs most of the M=128 trunk's 400k steps
(results/training.md), and growing the trained student's latent failed because its latent
channels are tuned to 128 (the new ones died). This keeps what does not depend on the latent:
the analysis transform's layers before its last convolution and the synthesis transform's
layers after its first one (the convolutions and GDNs at 1/2 to 1/8 of the image), and starts
everything that touches the latent fresh: the last analysis and first synthesis convolution,
the gains, the hyperprior and the entropy networks. All M channels start alike, so none is
born dead.

    python experiments/transplant.py runs/student_v2/ckpt.pt /tmp/transplant.pt \\
        --latent 192 --entropy-width 128
    python -m training rd --init /tmp/transplant.pt --run runs/sweep/v3_transplant ...
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # training/, beside lic_codec


import argparse
import dataclasses
from pathlib import Path

import torch

from lic_codec.models.config import ModelConfig
from lic_codec.models.lic import LicModel, upgrade_state
from training.checkpoint import load_checkpoint
from training.widen import write_start


def pixel_side(model: LicModel) -> list[str]:
    """Names of the parameters and buffers that do not touch the latent: g_a without its last
    layer, g_s without its first."""
    last = len(model.g_a) - 1
    keep = [f"g_a.{i}." for i in range(last)] + [f"g_s.{i}." for i in range(1, len(model.g_s))]
    return [k for k in model.state_dict() if k.startswith(tuple(keep))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--latent", type=int, required=True, metavar="M")
    ap.add_argument("--entropy-width", type=int, default=0, metavar="Me")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fresh layers")
    args = ap.parse_args()
    state = load_checkpoint(args.source)
    src_cfg = ModelConfig.from_dict(state["config"])
    src = upgrade_state({k: v.float() for k, v in state["model"].items()})
    torch.manual_seed(args.seed)
    model = LicModel(dataclasses.replace(src_cfg, M=args.latent, Me=args.entropy_width))
    names = pixel_side(model)
    dst = model.state_dict()
    for k in names:
        if dst[k].shape != src[k].shape:
            raise SystemExit(f"{k}: {tuple(src[k].shape)} in the source, {tuple(dst[k].shape)} "
                             "here (the transforms' width must match)")
        dst[k] = src[k]
    model.load_state_dict(dst)
    write_start(model, state, args.source, args.out, "transplanted_from")
    print(f"{args.out}: M={args.latent}, {len(names)} of {len(dst)} tensors from "
          f"{args.source} (step {state['step']}), {model.param_count() / 1e6:.2f} M parameters")


if __name__ == "__main__":
    main()
