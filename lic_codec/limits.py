"""The sizes licc accepts, in one place: every check of an image's size (encoder input,
decoder header, --effort) reads these, and --help, the README and docs/format.md state them.

Why these numbers: the transforms run in tiles (tiling.py), so memory grows with the latent
(1/256 of the pixels times the latent channels), not with the full-resolution feature maps;
64 megapixels stays within a few GB (results/limits_memory.txt). --effort back-propagates
through the whole image, so it is limited to 8 megapixels.
"""

from __future__ import annotations

MAX_SIDE = 32768  # pixels, width or height
MAX_PIXELS = 64 * 1024 * 1024  # width x height
EFFORT_MAX_PIXELS = 8 * 1024 * 1024


class SizeLimitError(ValueError):
    """Raised by :func:`check_size`; callers turn it into their own typed error."""


def check_size(width: int, height: int, effort: int = 0) -> None:
    """Refuse an image size licc does not code (before any pixel is decoded)."""
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise SizeLimitError(f"image of {width}x{height} pixels is outside the supported "
                             f"range (sides 1 to {MAX_SIDE})")
    if width * height > MAX_PIXELS:
        raise SizeLimitError(f"image of {width}x{height} pixels is larger than licc supports "
                             f"(at most {MAX_PIXELS >> 20} megapixels)")
    if effort and width * height > EFFORT_MAX_PIXELS:
        raise SizeLimitError(f"--effort {effort} supports images up to "
                             f"{EFFORT_MAX_PIXELS >> 20} megapixels; use effort 0 for this "
                             f"{width}x{height} image")


def describe() -> str:
    """One line for --help."""
    return (f"Images up to {MAX_SIDE} pixels a side and {MAX_PIXELS >> 20} megapixels "
            f"(--effort: {EFFORT_MAX_PIXELS >> 20} megapixels).")
