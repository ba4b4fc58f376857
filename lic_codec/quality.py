"""The quality scale users see: -q 0..100 and named presets. Pure Python (no torch), so the
CLI can list presets in --help without loading anything heavy.

Quality maps linearly onto the network's rate position, between the trained lambda points
(which are log-spaced, so bpp grows roughly exponentially with quality).
"""

from __future__ import annotations

DEFAULT_QUALITY = 50.0
# Measured bpp on Kodak per preset: weights/manifest.json and results/.
PRESETS = {"tiny": 0.0, "low": 25.0, "medium": 50.0, "high": 75.0, "max": 100.0}


def resolve_quality(quality: float | None = None, preset: str | None = None) -> float:
    """Quality from ``-q`` or a preset name, rounded to the header's 0.01 resolution (the
    decoder derives the rate position from the stored value, so the encoder must too)."""
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}' (choose from {', '.join(PRESETS)})")
        quality = PRESETS[preset]
    q = DEFAULT_QUALITY if quality is None else float(quality)
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"quality must be between 0 and 100, got {q:g}")
    return round(q * 100) / 100


def rate_position(quality: float, num_levels: int) -> float:
    """Quality 0..100 -> rate position 0..K-1 of a K-level variable-rate network."""
    q = min(max(float(quality), 0.0), 100.0)
    return q / 100.0 * (num_levels - 1)
