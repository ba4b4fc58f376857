"""Where networks stand per rate position, from their checkpoints (no coding): the network's
own rate and PSNR on whole Kodak images with the coder's rounding (eval mode, within ~1% of
the real files), the training objective lambda * 255^2 * MSE + bpp at that position, and the
transforms' ceiling, the PSNR of the synthesis given the latent unquantized.

Why: a BD-rate hides whether a network is behind everywhere or only at some rates, and
whether the top of its range is limited by the rate it spends or by what its synthesis can
reconstruct at all.

    python experiments/operating_points.py runs/student_v2/ckpt.pt runs/teacher/ckpt.pt --images 2
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # training/, beside lic_codec


import argparse
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic_codec.models.lic import LicModel, bits_per_pixel
from training.checkpoint import load_checkpoint

KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak"


def load(path: Path) -> tuple[LicModel, int]:
    state = load_checkpoint(path)
    model = LicModel.from_state_dict(state["config"], state["model"])
    return model.eval(), state["step"]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return -10 * math.log10((a.clamp(0, 1) - b).pow(2).mean().item())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+", type=Path)
    ap.add_argument("--images", type=int, default=2, help="the first N Kodak images")
    ap.add_argument("--positions", type=float, nargs="+", default=[0.0, 3.5, 7.0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)
              .float()[None] / 255 for p in sorted(KODAK.glob("*.png"))[:args.images]]
    print("checkpoint\tstep\tposition\tbpp\tPSNR\tlambda*D+R\tceiling PSNR")
    for path in args.checkpoints:
        model, step = load(path)
        for t in args.positions:
            tt = torch.tensor([t])
            bpp = mse = db = ceiling = 0.0
            for x in images:  # Kodak images differ in orientation: one at a time
                with torch.no_grad():
                    out = model(x, tt)
                    g, ig = model.gains(tt)
                    unquantized = model.g_s(model.g_a(x) * g * ig)
                bpp += bits_per_pixel(out["likelihoods"], x.shape[2] * x.shape[3]).item()
                mse += (out["x_hat"].clamp(0, 1) - x).pow(2).mean().item()
                db += psnr(out["x_hat"], x)
                ceiling += psnr(unquantized, x)
            n = len(images)  # PSNR: the mean over images, as evaluate and the bench report it
            loss = model.lmbda(tt).item() * 255**2 * mse / n + bpp / n
            print(f"{path}\t{step}\t{t:g}\t{bpp / n:.4f}\t{db / n:.2f}\t{loss:.4f}\t"
                  f"{ceiling / n:.2f}", flush=True)


if __name__ == "__main__":
    main()
