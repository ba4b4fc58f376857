"""Would the decoder gain from reconstructing nonzero latent symbols at their bin's centroid?

Results: results/reconstruction_offset.tsv.

The coded residual r = round(y - mu) stands for every y in [r - 1/2, r + 1/2] around the mean;
for a peaked distribution the values pile up at the bin's inner edge, so mu + r - delta *
sign(r) is closer to the analysis transform's y than mu + r. This probe measures both sides
with a shipped network, rate unchanged (the same symbols): the mean signed position of y
within its bin by predicted scale, and the PSNR after the synthesis for constant offsets.
Float arithmetic throughout (the exact integer path gives the same symbols up to its 2^-8 grid).

    python experiments/reconstruction_offset.py [student|teacher] [IMAGES]
"""

from __future__ import annotations

import math
import sys

import numpy as np
import torch
from PIL import Image

from lic_codec.codec import Codec, pad_to_grid
from lic_codec.latent.checkerboard import anchor_mask
from lic_codec.quality import rate_position

KODAK = "../shared/data/kodak"
QUALITIES = (0, 25, 50, 75, 100)
DELTAS = (0.0, 0.05, 0.1, 0.15, 0.2)
SCALE_EDGES = (0.0, 0.3, 0.6, 1.0, 2.0, 4.0, math.inf)


def latent_and_means(model, x: torch.Tensor, t: float):
    """Gained latent y, predicted means and scales (each [1, M, h, w]) and the kept channels
    ([1, M, 1, 1] bool), as the coder's two checkerboard passes compute them."""
    lat = model.latent
    y = model.analyse(x, t).contiguous()
    med = lat.z_medians.view(1, -1, 1, 1)
    hyper = lat.h_s(torch.round(lat.h_a(y) - med) + med)
    mu_a, s_a = lat.params_anchor(hyper).chunk(2, 1)
    anchors = anchor_mask(y.shape[2], y.shape[3])
    keep = (torch.round(y) != 0).flatten(2).any(2)[:, :, None, None]
    y_anchor = (torch.round(y - mu_a) + mu_a) * anchors * keep
    mu_n, s_n = lat.params_nonanchor(torch.cat([hyper, lat.context_of(y_anchor)], 1)).chunk(2, 1)
    return y, torch.where(anchors, mu_a, mu_n), torch.where(anchors, s_a, s_n), keep


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "student"
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    torch.set_num_threads(1)
    model = Codec(name, threads=1).model
    psnr: dict[tuple[int, float], list[float]] = {}
    centroid: dict[tuple[int, int], list[float]] = {}  # (quality, scale bucket) -> [sum, n]
    with torch.inference_mode():
        for i in range(1, images + 1):
            rgb = np.asarray(Image.open(f"{KODAK}/kodim{i:02d}.png").convert("RGB"))
            ref = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float()  # [3, H, W]
            H, W = rgb.shape[:2]
            x = pad_to_grid(ref[None] / 255)
            for q in QUALITIES:
                t = rate_position(q, model.cfg.num_levels)
                y, mu, s, keep = latent_and_means(model, x, t)
                r = torch.round(y - mu)
                inward = (y - mu - r) * torch.sign(r)  # < 0: y sits toward the mean
                nonzero = (r != 0) & keep
                for b, (lo, hi) in enumerate(zip(SCALE_EDGES, SCALE_EDGES[1:])):
                    sel = nonzero & (s >= lo) & (s < hi)
                    acc = centroid.setdefault((q, b), [0.0, 0])
                    acc[0] += float(inward[sel].sum())
                    acc[1] += int(sel.sum())
                for d in DELTAS:
                    y_hat = (mu + r - d * torch.sign(r)) * keep
                    out = model.synthesize(y_hat, t, keep[0, :, 0, 0])[0, :, :H, :W]
                    mse = float((out.clamp(0, 1).mul(255).round() - ref).pow(2).mean())
                    psnr.setdefault((q, d), []).append(10 * math.log10(255**2 / mse))
    print(f"{name}, first {images} Kodak images: PSNR change (dB) for offset delta")
    print("quality\tPSNR\t" + "\t".join(f"{d}" for d in DELTAS[1:]))
    for q in QUALITIES:
        base = float(np.mean(psnr[(q, 0.0)]))
        print(f"{q}\t{base:.3f}\t" + "\t".join(
            f"{float(np.mean(psnr[(q, d)])) - base:+.3f}" for d in DELTAS[1:]))
    print("mean signed position of y in its bin (nonzero symbols), by predicted scale")
    print("quality\t" + "\t".join(f"[{lo}, {hi})" for lo, hi in zip(SCALE_EDGES, SCALE_EDGES[1:])))
    for q in QUALITIES:
        print(f"{q}\t" + "\t".join(
            f"{centroid[(q, b)][0] / max(centroid[(q, b)][1], 1):+.3f}"
            for b in range(len(SCALE_EDGES) - 1)))


if __name__ == "__main__":
    main()
