"""Probe for lic_codec/refine.py: SGA refinement with a given lr, temperature range and
snapshots (mid-run latents) on real files. The noisy-rate numbers in results/README.md came
from a first version of this probe whose --baseline ran refine.py as of commit fad056c.
Usage:
    python experiments/sga_probe.py --images 3 --quality 0 50 100 --steps 50 100 200
    python experiments/sga_probe.py --data ../shared/data/train/wikipedia --crop 768 512 \
        --steps 50 100 --schedules 0.005 0.01:0.001   # learning-rate schedules, joint runs
Prints, per image and quality, bpp / PSNR / real cost (lambda * MSE + bpp) of each candidate.


Results: results/effort_sga/ and results/history.md (SGA sections).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from lic_codec.codec import Codec, _pixels
from lic_codec.quality import rate_position
from lic_codec.refine import anneal


def sga_refine(model, x, y, t, snapshots, lr, tau_max, tau_min, seed=0, joint=False,
               lr_end=None):
    """The latents after each step count in ``snapshots`` of one run as long as the largest
    (pairs (y, z) with ``joint``)."""
    n = max(snapshots)
    return anneal(model, x, y, t, n, lr, tau_max, tau_min, seed, keep=tuple(snapshots),
                  joint=joint, lr_end=lr_end)[:-1]


def centre_crop(src, w: int, h: int):
    """A SourceImage cut to at most w x h around its centre (RGB only)."""
    W, H = src.size
    x0, y0 = max(0, (W - w) // 2), max(0, (H - h) // 2)
    return dataclasses.replace(src, rgb=np.ascontiguousarray(src.rgb[y0:y0 + h, x0:x0 + w]),
                               alpha=None, mode="RGB")


def schedule(text: str) -> tuple[float, float | None]:
    """"0.01:0.001" -> (0.01, 0.001), an exponential decay; "0.005" -> (0.005, None)."""
    lr, _, end = text.partition(":")
    return float(lr), float(end) if end else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--quality", type=float, nargs="+", default=[0, 50, 100])
    ap.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--schedules", nargs="+", default=None,
                    help="learning-rate schedules LR[:LR_END] to compare, joint runs only "
                         "(candidates named zsga<steps>@<schedule>)")
    ap.add_argument("--data", default="../shared/data/kodak",
                    help="image folder (the first --images after --first, sorted by name)")
    ap.add_argument("--crop", type=int, nargs=2, default=None, metavar=("W", "H"),
                    help="centre-crop each image to W x H (e.g. 768 512, Kodak's size)")
    ap.add_argument("--tau-max", type=float, default=0.5)
    ap.add_argument("--tau-min", type=float, default=0.05)
    ap.add_argument("--joint", action="store_true",
                    help="also refine the hyper-latent, as candidates named zsga<steps>")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    codec = Codec("student", Path(a.weights) if a.weights else None)
    model = codec.model
    paths = sorted(p for p in Path(a.data).iterdir()
                   if p.suffix.lower() in {".png", ".jpg", ".jpeg"})[a.first:a.first + a.images]
    rows = []
    for p in paths:
        src = codec.source(p)
        if a.crop:
            src = centre_crop(src, *a.crop)
        feats = codec._features(src)
        x = _pixels(src)
        ref = src.rgb.astype(np.float64)
        W, H = src.size
        for q in a.quality:
            t = rate_position(q, model.cfg.num_levels)
            with torch.inference_mode():
                gain, _ = model.gains(torch.tensor([t]))
                y0 = feats * gain
            lam = float(model.lmbda(torch.tensor([t]))[0])
            cands = {"e0": (y0, None)}
            t1 = time.time()
            for text in a.schedules or ():
                lr, lr_end = schedule(text)
                for s, yz in zip(sorted(a.steps), sga_refine(
                        model, x, y0, t, sorted(a.steps), lr, a.tau_max, a.tau_min,
                        joint=True, lr_end=lr_end)):
                    cands[f"zsga{s}@{text}"] = yz
            if not a.schedules:
                for s, yy in zip(sorted(a.steps), sga_refine(
                        model, x, y0, t, sorted(a.steps), a.lr, a.tau_max, a.tau_min)):
                    cands[f"sga{s}"] = (yy, None)
            if a.joint and not a.schedules:
                for s, yz in zip(sorted(a.steps), sga_refine(
                        model, x, y0, t, sorted(a.steps), a.lr, a.tau_max, a.tau_min,
                        joint=True)):
                    cands[f"zsga{s}"] = yz
            t2 = time.time()
            for name, (yy, zz) in cands.items():
                data = codec._container(src, yy, q, zz)
                out = np.asarray(codec.decode(data).convert("RGB"), dtype=np.float64)
                mse = float(np.mean((out - ref) ** 2))
                bpp = 8 * len(data) / (W * H)
                row = dict(image=p.name, q=q, cand=name, bpp=bpp,
                           psnr=10 * math.log10(255**2 / mse), cost=lam * mse + bpp)
                rows.append(row)
                print(f"{p.name} q{q:g} {name:16s} bpp {bpp:.4f} psnr {row['psnr']:.3f} "
                      f"cost {row['cost']:.4f}", flush=True)
            print(f"  sga {t2 - t1:.1f}s", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(dict(args=vars(a), rows=rows), indent=1))


if __name__ == "__main__":
    main()
