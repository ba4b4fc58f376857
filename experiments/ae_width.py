"""Can the student's transforms use a wider latent? Train them from scratch as a plain
autoencoder (MSE only: no quantization, no rate) with M latent channels, and report the
reconstruction PSNR on Kodak as training goes.

Results: results/ae_width/ (results/training.md, the autoencoder-width probe).

Why: the trained networks' unquantized ceiling sits at the best linear code of 128 numbers per
16x16 block (experiments/latent_ceiling.py), and growing the latent of the trained student
did not lift it (results/training.md). If the same transforms with M=192 learn a clearly higher
ceiling from scratch, a student built wide from the start is the way; if not, the transforms
(N=64) are the limit too.

    python experiments/ae_width.py --M 128 --minutes 25 > results/ae_width/m128.tsv &
    python experiments/ae_width.py --M 192 --minutes 25 > results/ae_width/m192.tsv &
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the lab, beside the package

from lic_codec.evaluate import git_commit, machine
from lic_codec.models.config import STUDENT
from lic_codec.models.transforms import TRANSFORMS
from training.data import DEFAULT_DATA, CropDataset

KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak"


def kodak_psnr(g_a, g_s, images) -> float:
    total = 0.0
    with torch.no_grad():
        for x in images:
            x_hat = g_s(g_a(x)).clamp(0, 1)
            total += -10 * math.log10((x_hat - x).pow(2).mean().item())
    return total / len(images)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--M", type=int, default=128)
    ap.add_argument("--N", type=int, default=STUDENT.N)
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--every", type=int, default=500, help="Kodak check every this many steps")
    ap.add_argument("--images", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = dataclasses.replace(STUDENT, N=args.N, M=args.M)
    g_a, g_s = TRANSFORMS[cfg.arch](cfg)
    params = list(g_a.parameters()) + list(g_s.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    data = CropDataset(str(DEFAULT_DATA), 256)
    images = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)
              .float()[None] / 255 for p in sorted(KODAK.glob("*.png"))[:args.images]]
    print(f"# {datetime.date.today()}  python {' '.join(sys.argv)}  commit {git_commit()}  "
          f"{machine()}")
    print("step\tminutes\tkodak_psnr")
    start, step = time.time(), 0
    while time.time() - start < args.minutes * 60:
        x = data.batch(2, 0, step)
        loss = (g_s(g_a(x)) - x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if step % args.every == 0:
            print(f"{step}\t{(time.time() - start) / 60:.1f}\t"
                  f"{kodak_psnr(g_a, g_s, images):.2f}", flush=True)
    print(f"{step}\t{(time.time() - start) / 60:.1f}\t{kodak_psnr(g_a, g_s, images):.2f}")


if __name__ == "__main__":
    main()
