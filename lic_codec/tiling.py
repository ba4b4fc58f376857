"""Run the analysis and synthesis transforms tile by tile, so memory stays bounded on large
images. Each tile is computed with a margin of context on every side and only its centre is
kept; with a margin wider than the transforms' receptive field the result equals the untiled
one up to float rounding. Tile origins and margins are multiples of 8 latents, which keeps
the teacher's attention windows aligned as in the untiled computation.

Units: one latent position = 16 pixels.
"""

from __future__ import annotations

from typing import Callable

import torch

TILE = 64  # latents per tile side (1024 pixels)
MARGIN = 8  # latents of context on each side (128 pixels)


def _spans(n: int, tile: int, margin: int):
    """(start, end) of each tile's kept part and of its computed part, in latent units."""
    for s in range(0, n, tile):
        e = min(n, s + tile)
        yield s, e, max(0, s - margin), min(n, e + margin)


def analyse_tiled(g_a: Callable, x: torch.Tensor, tile: int = TILE,
                  margin: int = MARGIN) -> torch.Tensor:
    """x [1, 3, H, W] (H, W multiples of 16) -> g_a(x) [1, M, H/16, W/16]."""
    h, w = x.shape[2] // 16, x.shape[3] // 16
    if h <= tile + 2 * margin and w <= tile + 2 * margin:
        return g_a(x)
    out = None
    for i0, i1, a0, a1 in _spans(h, tile, margin):
        for j0, j1, b0, b1 in _spans(w, tile, margin):
            y = g_a(x[:, :, a0 * 16 : a1 * 16, b0 * 16 : b1 * 16])
            if out is None:
                out = y.new_empty(1, y.shape[1], h, w)
            out[:, :, i0:i1, j0:j1] = y[:, :, i0 - a0 : i1 - a0, j0 - b0 : j1 - b0]
    if out is None:  # an empty image: refused by lic_codec.limits before this point
        raise ValueError("no tiles to transform")
    return out


def synthesize_tiled(g_s: Callable, y: torch.Tensor, tile: int = TILE,
                     margin: int = MARGIN) -> torch.Tensor:
    """y [1, M, h, w] -> g_s(y) [1, 3, 16h, 16w]."""
    h, w = y.shape[2], y.shape[3]
    if h <= tile + 2 * margin and w <= tile + 2 * margin:
        return g_s(y)
    out = y.new_empty(1, 3, h * 16, w * 16)
    for i0, i1, a0, a1 in _spans(h, tile, margin):
        for j0, j1, b0, b1 in _spans(w, tile, margin):
            x = g_s(y[:, :, a0:a1, b0:b1])
            out[:, :, i0 * 16 : i1 * 16, j0 * 16 : j1 * 16] = \
                x[:, :, (i0 - a0) * 16 : (i1 - a0) * 16, (j0 - b0) * 16 : (j1 - b0) * 16]
    return out
