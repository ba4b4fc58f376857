"""Bjontegaard delta rate (VCEG-M33): the average bitrate difference between two
rate-distortion curves at equal quality, over the quality range both cover.

log(rate) is fitted as a cubic polynomial of PSNR for each curve, both fits are integrated
over the overlapping PSNR interval, and the mean log difference is turned into a percentage.
Negative = the test codec needs fewer bits than the anchor.
"""

from __future__ import annotations

import numpy as np


def bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr,
            within: tuple[float, float] | None = None) -> float | None:
    """Percent rate change of ``test`` against ``anchor``; None if the PSNR ranges do not
    overlap or a curve has fewer than four usable points. ``within`` (lo, hi) narrows the
    interval to that PSNR window, to compare two codecs against the same anchor over the
    same range when their own ranges differ."""
    curves = []
    for rate, psnr in ((anchor_rate, anchor_psnr), (test_rate, test_psnr)):
        r = np.asarray(rate, dtype=np.float64)
        d = np.asarray(psnr, dtype=np.float64)
        ok = np.isfinite(r) & np.isfinite(d) & (r > 0)
        r, d = r[ok], d[ok]
        if len(r) < 4:
            return None
        order = np.argsort(d)
        curves.append((np.log(r[order]), d[order]))
    (lr1, d1), (lr2, d2) = curves
    lo, hi = max(d1.min(), d2.min()), min(d1.max(), d2.max())
    if within is not None:
        lo, hi = max(lo, within[0]), min(hi, within[1])
    if hi <= lo:
        return None
    deg = 3
    p1 = np.polyint(np.polyfit(d1, lr1, deg))
    p2 = np.polyint(np.polyfit(d2, lr2, deg))
    avg1 = (np.polyval(p1, hi) - np.polyval(p1, lo)) / (hi - lo)
    avg2 = (np.polyval(p2, hi) - np.polyval(p2, lo)) / (hi - lo)
    return float((np.exp(avg2 - avg1) - 1) * 100)
