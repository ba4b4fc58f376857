"""Exact integer arithmetic for everything that decides the coding distributions.

Why: if encoder and decoder compute a mean or a scale index even one ulp apart, the rANS
decoder desyncs and the file decodes to garbage (CompressAI issues #279, #309, #320, #340).
So the hyper-synthesis, the checkerboard context network and both parameter networks run in
fixed point:

- activations are integers on a grid of 2^-F_ACT (F_ACT = 8);
- each layer's weights are integers, scaled per output channel by a power of two chosen so the
  largest weight uses 15 bits; biases are integers on the product grid;
- a layer is an integer convolution followed by a rounding shift back to the activation grid;
  LeakyReLU multiplies negative values by an integer slope /1024 and rounds.

The integer convolutions run as float64 convolutions on integer-valued tensors. Every product
and partial sum is an integer below 2^53 (bounded in :func:`ExactLayer.bound`), so the result
is exact whatever the summation order, thread count, instruction set or BLAS library.
Scale indexes come from integer comparisons with integer thresholds stored in the weights.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

F_ACT = 8
ONE = float(1 << F_ACT)
W_BITS = 15
SLOPE_DEN = 1024
MAX_ABS_ACT = float(1 << 24)  # |activation| bound on the integer grid (2^16 in real units)


def _round_half_up(x: torch.Tensor) -> torch.Tensor:
    return torch.floor(x + 0.5)


def _rescale(acc: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
    """Accumulator (float64, with ExactLayer.rounding_bias) -> activation grid, in place:
    floor(acc * 2^-s) clamped to MAX_ABS_ACT, which is round-half-up of the accumulator
    without the bias' half step (2^(s-1), an integer) divided by 2^s. One pass fewer than
    div, add 0.5, floor; with the LeakyReLU's in-place rounding the entropy parameters of
    kodim01 take 28.6 ms instead of 30.8 (the same integers)."""
    return acc.mul_(inv).floor_().clamp_(-MAX_ABS_ACT, MAX_ABS_ACT)


def weight_shifts(peak: torch.Tensor) -> torch.Tensor:
    """Per channel, the largest s in [0, 40] with peak * 2^s <= 2^15 - 1, computed with
    frexp and comparisons only (no log2, whose last bit may differ between libraries)."""
    _, e = torch.frexp(peak)  # peak = m * 2^e, 0.5 <= m < 1
    s = (W_BITS - e).double()
    s = torch.where(peak * torch.pow(2.0, s) > (1 << W_BITS) - 1, s - 1, s)
    return torch.where(peak > 0, s, torch.zeros_like(s)).clamp(0, 40)


class ExactLayer:
    """An integer version of a Conv2d / ConvTranspose2d (optionally with a fixed mask)."""

    def __init__(self, module: nn.Module, mask: torch.Tensor | None = None):
        w = module.weight.detach().double()
        if mask is not None:
            w = w * mask.double()
        self.transposed = isinstance(module, nn.ConvTranspose2d)
        out_dim = 1 if self.transposed else 0
        other = tuple(d for d in range(4) if d != out_dim)
        peak = w.abs().amax(dim=other)  # per output channel
        shifts = weight_shifts(peak)
        view = [1, -1, 1, 1]
        wshape = [1, 1, 1, 1]
        wshape[out_dim] = -1
        self.weight = _round_half_up(w * torch.pow(2.0, shifts).view(wshape))
        b = module.bias.detach().double() if module.bias is not None else torch.zeros_like(peak)
        self.bias = _round_half_up(b * torch.pow(2.0, shifts + F_ACT))
        self.div = torch.pow(2.0, shifts).view(view)
        # the accumulator's rounding folded into the bias: + 2^(s-1) (an integer; none
        # when s = 0, where the accumulator is already on the grid), and division by 2^s
        # as an exact multiplication by 2^-s (see _rescale)
        self.rounding_bias = self.bias + torch.where(shifts > 0, torch.pow(2.0, shifts - 1), 0.0)
        self.inv = torch.pow(2.0, -shifts).view(view)
        self.stride, self.padding = module.stride, module.padding
        self.output_padding = getattr(module, "output_padding", (0, 0))
        self.fan_in = int(self.weight.shape[0 if self.transposed else 1]
                          * self.weight.shape[2] * self.weight.shape[3])

    def output_rows(self, keep: torch.Tensor) -> "ExactLayer":
        """This layer computing only the output channels ``keep`` (int64 indexes), in that
        order: each output channel is its own integer sum, so the kept ones are exactly the
        full layer's. Why: the parameter networks' last layer gives a mean and a scale for
        every latent channel, and a channel the file skips needs neither."""
        out = copy.copy(self)
        out.weight = self.weight[:, keep] if self.transposed else self.weight[keep]
        out.rounding_bias = self.rounding_bias[keep]
        out.inv = self.inv[:, keep]
        out.div = self.div[:, keep]
        return out

    def bound(self) -> float:
        """Largest possible |accumulator| for activations within MAX_ABS_ACT."""
        return (self.fan_in * float(1 << W_BITS) * MAX_ABS_ACT
                + float(self.rounding_bias.abs().max()))

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        """Integer activations (float32 or float64) -> integer activations (float64, exact:
        |values| <= 2^24, so float32 holds them too); accumulates in float64."""
        a = a.double()
        if self.transposed:
            acc = F.conv_transpose2d(a, self.weight, self.rounding_bias, self.stride,
                                     self.padding, self.output_padding)
        elif self.weight.shape[2:] == (1, 1) and a.shape[0] == 1:
            # a 1x1 convolution is a matrix product, and BLAS's is several times faster than
            # the float64 convolution: [Cout, Cin] @ [Cin, h*w]
            acc = torch.addmm(self.rounding_bias[:, None], self.weight[:, :, 0, 0],
                              a[0].flatten(1))
            acc = acc.view(1, -1, *a.shape[2:])
        else:
            acc = F.conv2d(a, self.weight, self.rounding_bias, self.stride, self.padding)
        return _rescale(acc, self.inv)


class ExactCheckerboardContext(ExactLayer):
    """The masked context convolution where it is used: at non-anchor positions only and over
    the taps its mask keeps (12 of 25), as one matrix product. The integers equal the full
    convolution's at those positions (exact arithmetic) for about a quarter of the work."""

    def __init__(self, module: nn.Module):
        super().__init__(module, module.mask)
        keep = module.mask[0, 0] != 0  # [k, k]
        self.taps = keep.nonzero()  # [T, 2] (dy, dx), row-major
        # columns ordered (input channel, tap), the order one flat gather produces
        self.matrix = self.weight[:, :, keep].reshape(self.weight.shape[0], -1)  # [Cout, Cin*T]
        self.in_channels = int(self.weight.shape[1])  # Me: the latent channels it reads

    def pad(self, a: torch.Tensor) -> torch.Tensor:
        """[1, Cin, h, w] -> [Cin, h + 2p, w + 2p], the input of :meth:`at`."""
        p = self.padding[0]
        return F.pad(a[0], (p, p, p, p))

    def at(self, padded: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Padded integer activations (:meth:`pad`), N positions (rows[i], cols[i]) of the
        unpadded grid -> [Cout, N]."""
        cin, _, wp = padded.shape
        offsets = self.taps[:, 0] * wp + self.taps[:, 1]  # [T], tap (dy, dx) in the flat grid
        flat = (rows * wp + cols)[None, :] + offsets[:, None]  # [T, N]
        # [Cin, T * N] -> [Cin * T, N]: row c * T + t, as the matrix's columns
        gathered = padded.reshape(cin, -1)[:, flat.flatten()].view(cin * len(offsets), -1)
        acc = torch.addmm(self.rounding_bias[:, None], self.matrix,
                          gathered.double())  # [Cout, N]
        return _rescale(acc, self.inv.view(-1, 1))


class ExactLeakyReLU:
    def __init__(self, slope: float):
        self.num = float(round(slope * SLOPE_DEN))

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        a = a.double()  # a * num may exceed float32's exact integers
        # a * (num / 1024) is exactly a * num / 1024 (a power-of-two divisor), then rounded
        # half up in place
        neg = torch.mul(a, self.num / SLOPE_DEN).add_(0.5).floor_()
        if 0 <= self.num <= SLOPE_DEN:
            # for integer a and a slope in [0, 1], neg <= a exactly when a >= 0, so the max
            # is the select below without its mask (one pass fewer over the activations)
            return torch.maximum(a, neg, out=neg)
        return torch.where(a >= 0, a, neg)


def exact_sequence(seq: nn.Sequential) -> list:
    layers: list = []
    for m in seq:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            layers.append(ExactLayer(m, getattr(m, "mask", None)))
        elif isinstance(m, nn.LeakyReLU):
            layers.append(ExactLeakyReLU(m.negative_slope))
        else:
            raise TypeError(f"no exact version of {type(m).__name__}")
    return layers


def run(layers: list, a: torch.Tensor) -> torch.Tensor:
    """Integer activations through the layers (float64 between them) -> float32 (exact)."""
    for layer in layers:
        a = layer(a)
    return a.float()


def banded(fn, h: int, band: int, margin: int, scale: int = 1) -> torch.Tensor:
    """Evaluate a row-local network band by band to bound memory (float64 convolutions
    unfold their input). ``fn(a0, a1)`` computes the output for input rows a0..a1
    ([1, C, a1 - a0, w] -> [1, C', (a1 - a0) * scale, w']); each band gets ``margin`` rows of
    context on both sides. The arithmetic is exact, so the result equals one pass."""
    if h <= band + 2 * margin:
        return fn(0, h)
    out = None
    for i0 in range(0, h, band):
        i1 = min(h, i0 + band)
        a0, a1 = max(0, i0 - margin), min(h, i1 + margin)
        part = fn(a0, a1)[:, :, (i0 - a0) * scale : (i1 - a0) * scale]
        if out is None:
            out = part.new_empty(part.shape[0], part.shape[1], h * scale, part.shape[3])
        out[:, :, i0 * scale : i1 * scale] = part
    if out is None:  # h == 0: the container refuses such sizes before this point
        raise ValueError("no rows to compute")
    return out


def to_grid(x: torch.Tensor) -> torch.Tensor:
    """Real values -> integers on the activation grid (float64)."""
    return _round_half_up(x.double() * ONE)


def scale_thresholds(scale_table: torch.Tensor) -> np.ndarray:
    """Integer thresholds T_k with: index = number of k such that scale_int > T_k, which is
    CompressAI's index for scale = scale_int / 2^F_ACT (lower bound = the first entry)."""
    t = scale_table[:-1].double() * ONE
    return np.floor(t.numpy()).astype(np.int64)


class ExactEntropyParameters:
    """The integer twins of h_s, the context network and both parameter networks."""

    def __init__(self, latent: nn.Module, thresholds: np.ndarray):
        self.h_s = exact_sequence(latent.h_s)
        self.context = ExactCheckerboardContext(latent.context)
        self.anchor = exact_sequence(latent.params_anchor)
        self.nonanchor = exact_sequence(latent.params_nonanchor)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)  # sorted
        # scale_index by table lookup: every integer scale in [T_0, T_last + 1] maps to its
        # count of thresholds below it; scales outside clamp to the ends, whose counts
        # (0 and all) they share. ~10x faster than a binary search per symbol.
        lo, hi = int(self.thresholds[0]), int(self.thresholds[-1]) + 1
        self._lut_range = (float(lo), float(hi))
        self._lut = torch.from_numpy(np.searchsorted(
            self.thresholds, np.arange(lo, hi + 1, dtype=np.float64), side="left"))
        layers = [*self.h_s, self.context, *self.anchor, *self.nonanchor]
        worst = max(layer.bound() for layer in layers if isinstance(layer, ExactLayer))
        if worst >= 2.0**53:
            raise ValueError(f"accumulator bound 2^{math.log2(worst):.1f} is not exact in float64")

    # Bands: rows of z (hyper) or y (parameters) per pass, with enough context rows for the
    # receptive fields (h_s: two 5x5 stride-2 deconvolutions and a 3x3; context: 5x5).
    def hyper(self, z_hat_int: torch.Tensor) -> torch.Tensor:
        return banded(lambda a0, a1: run(self.h_s, z_hat_int[:, :, a0:a1]),
                      z_hat_int.shape[2], band=8, margin=4, scale=4)

    def _for_channels(self, layers: list, active: torch.Tensor | None) -> list:
        """The parameter network with its last layer computing the mean and scale of the
        ``active`` latent channels only ([M] bool; None: all of them)."""
        if active is None or bool(active.all()):
            return layers
        idx = active.nonzero().squeeze(1)
        keep = torch.cat([idx, idx + active.numel()])  # [mean | scale] rows
        return [*layers[:-1], layers[-1].output_rows(keep)]

    def anchor_params(self, hyper: torch.Tensor, active: torch.Tensor | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, scale) at the anchor positions (zero elsewhere), each [1, A, h, w]: A = M,
        or with ``active`` ([M] bool) the active channels only, in their order."""
        layers = self._for_channels(self.anchor, active)

        def params(a0: int, a1: int) -> torch.Tensor:
            rows, cols = _positions(a0, a1, hyper.shape[3], anchors=True)
            return _scatter(run(layers, _columns(hyper[:, :, a0:a1], rows, cols)),
                            rows, cols, a1 - a0, hyper.shape[3])

        return banded(params, hyper.shape[2], band=32, margin=0).chunk(2, 1)

    def nonanchor_params(self, hyper: torch.Tensor, y_hat_anchor_int: torch.Tensor,
                         active: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, scale) at the non-anchor positions (zero elsewhere), each [1, A, h, w] as
        :meth:`anchor_params`. Bands of 16 rows bound memory; the context gathers its rows
        from the whole padded latent, so no band computes rows it throws away."""
        _, _, h, w = hyper.shape
        layers = self._for_channels(self.nonanchor, active)
        padded = self.context.pad(y_hat_anchor_int[:, :self.context.in_channels])  # [Me, h+4, w+4]
        out = None
        for i0 in range(0, h, 16):
            rows, cols = _positions(i0, min(h, i0 + 16), w, anchors=False)
            rows = rows + i0
            ctx = self.context.at(padded, rows, cols)  # [2Me, N]
            cat = torch.cat([hyper[0][:, rows, cols].double(), ctx])[None, :, :, None]
            v = run(layers, cat)  # [1, 2A, N, 1]
            if out is None:
                out = v.new_zeros(1, v.shape[1], h, w)
            out[0][:, rows, cols] = v[0, :, :, 0]
        if out is None:  # no positions: the container refuses such sizes before this point
            raise ValueError("no non-anchor positions to compute")
        return out.chunk(2, 1)

    def scale_index(self, scale_int: torch.Tensor) -> np.ndarray:
        """Integer scales (any shape) -> table indexes (flat int64): the number of
        thresholds below each scale (exact: integers on both sides)."""
        lo, hi = self._lut_range
        at = scale_int.reshape(-1).double().clamp(lo, hi).sub_(lo).long()
        return self._lut[at].numpy()


def _positions(a0: int, a1: int, w: int, anchors: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows (relative to a0) and columns of the anchors ((row + col) even, rows counted from
    the top of the latent) or of the non-anchors in rows a0..a1."""
    r = torch.arange(a0, a1)[:, None]
    c = torch.arange(w)[None, :]
    rows, cols = (((r + c) % 2 == 0) == anchors).nonzero(as_tuple=True)
    return rows, cols


def _columns(a: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """[1, C, h, w] at N positions -> [1, C, N, 1], for the per-position (1x1) networks."""
    return a[0][:, rows, cols][None, :, :, None]


def _scatter(v: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, h: int, w: int
             ) -> torch.Tensor:
    """[1, C, N, 1] -> [1, C, h, w], zero at the other positions."""
    out = v.new_zeros(1, v.shape[1], h, w)
    out[0][:, rows, cols] = v[0, :, :, 0]
    return out
