"""Does a dead zone in the encoder's quantizer pay? The encoder may choose any integer symbol
(the decoder only reconstructs symbol + mean), so rounding |y - mean| down whenever its
fraction is below 0.5 + DELTA saves rate on the most probable symbols at some distortion.
Bitstream-compatible; measured on the shipped student against plain rounding.

Results: results/training.md (the dead-zone quantizer).

    python experiments/deadzone.py 6 0.1 0.2     # first 6 Kodak images, DELTA = 0.1 and 0.2

Prints each DELTA's BD-rate against DELTA = 0 (same images, qualities 0/25/50/75/100).
"""

import sys
from pathlib import Path

import torch

import lic_codec.latent.checkerboard as cb
from lic_codec.bdrate import bd_rate
from lic_codec.evaluate import evaluate

KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak"


class _DeadZoneTorch:
    """torch, except that round() of the flat float64 latent residuals (the symbols that
    compress() codes; the hyper-latent's residuals are 4-D) rounds with a dead zone."""

    delta = 0.0

    def __getattr__(self, name):
        return self._round if name == "round" else getattr(torch, name)

    def _round(self, x, *args, **kwargs):
        if x.dtype == torch.float64 and x.dim() == 1 and self.delta:
            return torch.sign(x) * torch.floor(x.abs() + 0.5 - self.delta)
        return torch.round(x, *args, **kwargs)


def curve(images: int, delta: float) -> tuple[list[float], list[float]]:
    cb.torch.delta = delta
    rep = evaluate(KODAK, [0, 25, 50, 75, 100], "student", limit=images, threads=1)
    return [r["bpp"] for r in rep["summary"]], [r["psnr"] for r in rep["summary"]]


def main() -> None:
    images, deltas = int(sys.argv[1]), [float(d) for d in sys.argv[2:]]
    cb.torch = _DeadZoneTorch()
    base = curve(images, 0.0)
    for d in deltas:
        bpp, psnr = curve(images, d)
        print(f"DELTA {d}: BD-rate {bd_rate(*base, bpp, psnr):+.2f}% against plain rounding "
              f"(bpp {' / '.join(f'{b:.3f}' for b in bpp)})")


if __name__ == "__main__":
    main()
