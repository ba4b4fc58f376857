"""Integer probability tables for the rANS coder.

A table set holds T discrete distributions as integer counts that sum to 2**16 (CompressAI's
quantized CDFs, differenced). Table t codes the integer value v as bin ``v - offset[t]``; values
outside ``[offset[t], offset[t] + size[t])`` go to the last bin (the escape) and are stored
verbatim beside the stream. The tables are computed once when weights are exported and stored
in the weights file, so a decoder never recomputes them with its own floating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PRECISION = 16


@dataclass
class TableSet:
    counts: np.ndarray  # [T, L] int32, row t valid up to size[t] + 1 (the escape bin)
    offsets: np.ndarray  # [T] int32: the value coded by bin 0
    sizes: np.ndarray  # [T] int32: number of regular bins (escape bin not counted)

    def __post_init__(self) -> None:
        self.counts = np.ascontiguousarray(self.counts, dtype=np.int32)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int32)
        self.sizes = np.ascontiguousarray(self.sizes, dtype=np.int32)
        if self.counts.ndim != 2 or len(self.offsets) != len(self.counts) != len(self.sizes):
            raise ValueError("inconsistent table shapes")

    def __len__(self) -> int:
        return len(self.sizes)

    def probabilities(self, t: int) -> np.ndarray:
        """Row t as float64 probabilities; exact dyadic values, so every machine sees the same."""
        row = self.counts[t, : self.sizes[t] + 1].astype(np.float64)
        return row / float(1 << PRECISION)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}_counts": self.counts,
            f"{prefix}_offsets": self.offsets,
            f"{prefix}_sizes": self.sizes,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> "TableSet":
        return cls(
            np.asarray(arrays[f"{prefix}_counts"]),
            np.asarray(arrays[f"{prefix}_offsets"]),
            np.asarray(arrays[f"{prefix}_sizes"]),
        )

    @classmethod
    def from_compressai(cls, quantized_cdf, cdf_length, offset) -> "TableSet":
        """From an updated CompressAI entropy model's ``_quantized_cdf``, ``_cdf_length`` and
        ``_offset`` (CDF rows end with the overflow bin, which becomes our escape bin)."""
        cdf = np.asarray(quantized_cdf, dtype=np.int64)
        lengths = np.asarray(cdf_length, dtype=np.int64)
        counts = np.zeros((len(cdf), cdf.shape[1] - 1), dtype=np.int32)
        for t, n in enumerate(lengths):
            counts[t, : n - 1] = np.diff(cdf[t, :n])
        sizes = lengths - 2
        in_use = np.arange(counts.shape[1])[None, :] <= sizes[:, None]
        if (counts.sum(1) != (1 << PRECISION)).any() or (counts[in_use] <= 0).any():
            raise ValueError("CDF table is not a valid 16-bit distribution")
        return cls(counts, np.asarray(offset, dtype=np.int32), sizes.astype(np.int32))


def conditional_tables(scales, family: str, tail_mass: float = 1e-9) -> TableSet:
    """Integer tables of a zero-mean discretized Gaussian or Laplacian for every scale,
    with CompressAI's quantizer (each bin >= 1 count, an overflow bin for the tails).
    Runs at export time only."""
    import torch
    from compressai._CXX import pmf_to_quantized_cdf

    s = torch.as_tensor(scales, dtype=torch.float64)
    if family == "gaussian":
        q = -float(torch.special.ndtri(torch.tensor(tail_mass / 2, dtype=torch.float64)))
        half = torch.ceil(s * q).long()
    elif family == "laplace":
        half = torch.ceil(s * float(np.log(1 / tail_mass))).long()
    else:
        raise ValueError(f"unknown distribution {family}")
    rows, lengths = [], []
    for scale, c in zip(s.tolist(), half.tolist()):
        v = torch.arange(-c, c + 1, dtype=torch.float64)
        pmf = _bin_probability(v, scale, family)
        tail = max(0.0, 1.0 - float(pmf.sum()))
        cdf = pmf_to_quantized_cdf(pmf.tolist() + [tail], PRECISION)
        rows.append(cdf)
        lengths.append(len(cdf))
    cdf_arr = np.zeros((len(rows), max(lengths)), dtype=np.int64)
    for i, r in enumerate(rows):
        cdf_arr[i, : len(r)] = r
    return TableSet.from_compressai(cdf_arr, np.array(lengths), -half.numpy())


def _bin_probability(v, scale: float, family: str):
    """P(round(X) = v) for a zero-mean X of the given family and scale (float64)."""
    import torch

    a = v.abs()
    if family == "gaussian":
        def cdf(x):
            return 0.5 * torch.erfc(-x / (scale * 2**0.5))
        return cdf(0.5 - a) - cdf(-0.5 - a)
    # Laplace: written on |v| for accuracy in the tails
    inner = 1 - math.exp(-0.5 / scale)  # P(|X| < 0.5)
    outer = 0.5 * (torch.exp(-(a - 0.5) / scale) - torch.exp(-(a + 0.5) / scale))
    return torch.where(a == 0, inner, outer)
