"""How much a latent of M channels at stride 16 can hold, against what the networks reach.

Results: results/latent_ceiling*.tsv.

For each Kodak image: the PSNR of the best linear code with K numbers per 16x16 RGB block
(the image's own principal components of its 768-value blocks, kept K at a time: an upper
bound for linear transforms, fitted to the image itself), and each checkpoint's ceiling, the
PSNR of its synthesis given the latent unquantized at the highest rate position.

Why: the student (M=128) and the teacher (M=192, but only ~130 live channels) both stopped at
~35 dB on Kodak at their highest rate, spending rate for little PSNR. Their unquantized
ceilings sit at the 128-component bound image by image, so the latent width, not the training
objective or the quantization, caps the top of the range (results/training.md).

    python experiments/latent_ceiling.py runs/student_v2/ckpt.pt --images 24 \
        > results/latent_ceiling.tsv
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

from lic_codec.models.lic import LicModel
from training.checkpoint import load_checkpoint
from training.ema import averaged_state

KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak"


def pca_bound(rgb: np.ndarray, components: int) -> float:
    """PSNR of the image's blocks [n, 768] projected on their first principal components."""
    h, w, _ = rgb.shape
    blocks = (rgb.reshape(h // 16, 16, w // 16, 16, 3).transpose(0, 2, 1, 3, 4)
              .reshape(-1, 768))
    mean = blocks.mean(0)
    _, vecs = np.linalg.eigh(np.cov((blocks - mean).T))
    basis = vecs[:, ::-1][:, :components]
    approx = (blocks - mean) @ basis @ basis.T + mean
    return -10 * math.log10(float(((approx - blocks) ** 2).mean()))


def ceiling(model: LicModel, x: torch.Tensor) -> tuple[float, int]:
    """(PSNR of g_s(g_a(x)) without quantization at the top rate, live latent channels)."""
    t = torch.tensor([float(model.cfg.num_levels - 1)])
    with torch.no_grad():
        g, ig = model.gains(t)
        y = model.g_a(x) * g
        x_hat = model.g_s(y * ig, model.decoder_scales(t))
    live = int((torch.round(y).abs().amax(dim=(0, 2, 3)) > 0).sum())
    return -10 * math.log10((x_hat.clamp(0, 1) - x).pow(2).mean().item()), live


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="*", type=Path)
    ap.add_argument("--images", type=int, default=24, help="the first N Kodak images")
    ap.add_argument("--components", type=int, nargs="+", default=[128, 160, 192, 256])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models = []
    for path in args.checkpoints:
        state = load_checkpoint(path)
        # the moving average of the weights where there is one: what evaluations and
        # exports use
        m = LicModel.from_state_dict(state["config"], averaged_state(state))
        models.append((f"{path}@{state['step']}", m.eval()))
    import datetime
    import sys

    from lic_codec.evaluate import git_commit, machine

    print(f"# {datetime.date.today()}  python {' '.join(sys.argv)}  commit {git_commit()}  "
          f"{machine()}")
    head = [f"pca{k}" for k in args.components] + [f"ceiling {n}\tlive" for n, _ in models]
    print("image\t" + "\t".join(head))
    sums = np.zeros(len(args.components) + len(models))
    paths = sorted(KODAK.glob("*.png"))[:args.images]
    for p in paths:
        rgb = np.asarray(Image.open(p).convert("RGB"))
        row = [pca_bound(rgb.astype(np.float64) / 255, k) for k in args.components]
        cells = [f"{v:.2f}" for v in row]
        x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float()[None] / 255
        for _, m in models:
            db, live = ceiling(m, x)
            row.append(db)
            cells += [f"{db:.2f}", str(live)]
        sums += row
        print(p.stem + "\t" + "\t".join(cells), flush=True)
    print("mean\t" + "\t".join(f"{v / len(paths):.2f}" + ("\t" if i >= len(args.components)
                                                          else "")
                                for i, v in enumerate(sums)))


if __name__ == "__main__":
    main()
