"""Pixel error along the borders of decoded images against the interior (issue 42, item 7).

Results: results/robustness.md (edges).

    python experiments/border_error.py [--data ../shared/data/kodak] [--latent-pad K MODE]
    python experiments/border_error.py --codec AVIF --quality 60 80   # the reference

For each quality: the largest and the mean absolute error (max over RGB) in a 2-pixel band
along the four edges, in the interior (16 pixels in), and at the four 2x2 corners, over the
folder's images; then flat colours (1x1 and 256x256) whose every pixel should come back.
``--latent-pad K MODE`` runs the synthesis on the decoded latent padded by K positions
(``replicate`` or ``reflect``) and crops the result: a decoder-side probe of whether the
zero padding at the latent's edge causes the border error. ``--codec NAME`` measures one of
``licc bench``'s other contenders (AVIF, WebP, JPEG) at its own quality scale instead; the
mean bpp printed with each quality lets edges be compared at equal rate.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import lic_codec
from lic_codec.io.files import find_images


def edge_stats(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float, float]:
    e = np.abs(a.astype(int) - b.astype(int)).max(2)
    band = np.zeros(e.shape, bool)
    band[:2] = band[-2:] = True
    band[:, :2] = band[:, -2:] = True
    inner = np.zeros(e.shape, bool)
    inner[16:-16, 16:-16] = True
    corner = max(e[:2, :2].max(), e[:2, -2:].max(), e[-2:, :2].max(), e[-2:, -2:].max())
    return e[band].max(), e[band].mean(), e[inner].max(), e[inner].mean(), corner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/kodak"))
    ap.add_argument("--quality", type=float, nargs="*", default=[50, 100])
    ap.add_argument("--latent-pad", nargs=2, default=None, metavar=("K", "MODE"))
    ap.add_argument("--codec", default=None, help="a classical contender of licc bench")
    args = ap.parse_args()
    codec = lic_codec.Codec()
    encode, decode = codec.encode, codec.decode
    if args.codec:
        from lic_codec.bench import classical_contenders

        found = {c.name: c for c in classical_contenders()}
        if args.codec not in found:
            raise SystemExit(f"--codec: {args.codec} is not available here ({sorted(found)})")
        c = found[args.codec]
        encode = lambda im, quality: c.encode(im, quality)  # noqa: E731
        decode = c.decode
    if args.latent_pad:
        import torch.nn.functional as F

        k, mode = int(args.latent_pad[0]), args.latent_pad[1]
        synth = codec.model.synthesize

        def padded(y, t, active=None):
            x = synth(F.pad(y, (k,) * 4, mode=mode), t, active)
            return x[:, :, 16 * k:-16 * k, 16 * k:-16 * k]
        codec.model.synthesize = padded
    images = [Image.open(p).convert("RGB") for p in find_images(args.data)]
    for q in args.quality:
        rows, bpp = [], []
        for im in images:
            data = encode(im, quality=q)
            bpp.append(8 * len(data) / (im.width * im.height))
            rows.append(edge_stats(np.asarray(im), np.asarray(decode(data).convert("RGB"))))
        r = np.array(rows)
        print(f"q{q:g}, {len(images)} images, {np.mean(bpp):.3f} bpp: border max "
              f"{r[:, 0].max():.0f} (mean of the "
              f"images' max {r[:, 0].mean():.1f}), border mean abs {r[:, 1].mean():.2f}; "
              f"interior max {r[:, 2].max():.0f}, mean abs {r[:, 3].mean():.2f}; corners max "
              f"{r[:, 4].max():.0f}, mean {r[:, 4].mean():.1f}")
    for colour in ((200, 30, 40), (255, 255, 255)):
        for size in ((1, 1), (256, 256)):
            im = Image.new("RGB", size, colour)
            for q in args.quality:
                b = np.asarray(decode(encode(im, quality=q)).convert("RGB"))
                e = np.abs(b.astype(int) - np.array(colour)).max(2)
                print(f"flat {colour} {size[0]}x{size[1]} q{q:g}: max error {e.max()}, "
                      f"corner {max(e[0, 0], e[0, -1], e[-1, 0], e[-1, -1])}, "
                      f"pixel (0, 0) = {tuple(int(v) for v in b[0, 0])}")


if __name__ == "__main__":
    main()
