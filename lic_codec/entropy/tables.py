"""Integer probability tables for the rANS coder.

A table set holds T discrete distributions as integer counts that sum to 2**16 (CompressAI's
quantized CDFs, differenced). Table t codes the integer value v as bin ``v - offset[t]``; values
outside ``[offset[t], offset[t] + size[t])`` go to the last bin (the escape) and are stored
verbatim beside the stream. The tables are computed once when weights are exported and stored
in the weights file, so a decoder never recomputes them with its own floating point.
"""

from __future__ import annotations

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
