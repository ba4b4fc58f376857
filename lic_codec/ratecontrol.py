"""Rate control: find the quality that meets a size, bpp or PSNR target.

Pure search logic over a callable ``probe(quality) -> (bytes, psnr or None)``; the codec
supplies a probe that reuses the analysis transform across probes. Qualities live on the
header's 0.01 grid, so the search is a bisection over the integers 0..10000.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .errors import LiccError

_UNITS = {"": 1, "b": 1, "kb": 1000, "k": 1000, "kib": 1024, "mb": 1000**2, "m": 1000**2,
          "mib": 1024**2}


class TargetError(LiccError):
    """A size or quality target that no quality setting can meet."""


def parse_size(text: str) -> int:
    """'40KB' -> 40000, '1.5MiB' -> 1572864, '12345' -> 12345 (KB = 1000 bytes)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise ValueError(f"invalid size '{text}' (examples: 40000, 40KB, 1.5MB, 64KiB)")
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise ValueError(f"size must be positive, got '{text}'")
    return value


@dataclass
class Target:
    kind: str  # "size" (bytes) or "psnr" (dB)
    value: float

    def describe(self) -> str:
        return f"{int(self.value)} bytes" if self.kind == "size" else f"{self.value:g} dB PSNR"


def make_target(size: int | str | None = None, bpp: float | None = None,
                psnr: float | None = None, width: int = 0, height: int = 0) -> Target | None:
    """The one place that turns the user's target options into a Target (CLI, API and Pillow
    plugin alike): a size in bytes (or "40KB"), bits per pixel of this image, or a PSNR;
    None when no target is given."""
    if size is not None:
        return Target("size", parse_size(size) if isinstance(size, str) else int(size))
    if bpp is not None:
        return Target("size", bpp * width * height / 8)
    if psnr is not None:
        return Target("psnr", float(psnr))
    return None


@dataclass
class SearchResult:
    quality: float
    data: bytes
    psnr: float | None
    probes: int


def first_true(pred: Callable[[int], bool], lo: int, hi: int) -> int:
    """Smallest k in [lo, hi] with pred(k), for pred monotone false -> true; hi + 1 if none."""
    if not pred(hi):
        return hi + 1
    if pred(lo):
        return lo
    while hi - lo > 1:  # pred(lo) false, pred(hi) true
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pred(mid) else (mid, hi)
    return hi


def search(probe: Callable[[float], tuple[bytes, float | None]], target: Target) -> SearchResult:
    """Size target: the highest quality whose file fits. PSNR target: the lowest quality
    (smallest file) that reaches it. Assumes size and PSNR grow with quality."""
    cache: dict[int, tuple[bytes, float | None]] = {}

    def at(step: int) -> tuple[bytes, float | None]:
        if step not in cache:
            cache[step] = probe(step / 100)
        return cache[step]

    def ok(step: int) -> bool:
        data, psnr = at(step)
        if target.kind == "size":
            return len(data) <= target.value
        return psnr is not None and psnr >= target.value

    if target.kind == "size":
        if not ok(0):
            raise TargetError(f"target {target.describe()} cannot be met: the smallest file "
                              f"(quality 0) is {len(at(0)[0])} bytes")
        best = first_true(lambda k: not ok(k), 0, 10000) - 1  # last quality that fits
    else:
        if not ok(10000):
            raise TargetError(f"target {target.describe()} cannot be met: quality 100 gives "
                              f"{at(10000)[1]:.2f} dB")
        best = first_true(ok, 0, 10000)  # first quality that reaches it
    data, psnr = at(best)
    return SearchResult(best / 100, data, psnr, len(cache))
