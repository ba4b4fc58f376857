"""constriction adapter: integer symbols + per-symbol table indexes <-> bytes.

Symbols are grouped by table and each group is coded with one categorical model over the
whole array (constriction is ~17x slower when driven symbol by symbol from Python). The
stream layout of one coded section:

    u32 n_escapes | n_escapes x i32 escaped values (raster order) | rANS words (u32 LE)
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import CorruptStreamError
from .tables import TableSet

_U32 = struct.Struct("<I")


class _ModelCache:
    """constriction models per table, built on first use (model construction is the costly
    part for small images)."""

    def __init__(self, tables: TableSet):
        self.tables = tables
        self._models: dict[int, object] = {}

    def __getitem__(self, t: int):
        model = self._models.get(t)
        if model is None:
            import constriction

            model = constriction.stream.model.Categorical(
                self.tables.probabilities(t), perfect=False
            )
            self._models[t] = model
        return model


def model_cache(tables: TableSet) -> _ModelCache:
    return _ModelCache(tables)


def _groups(indexes: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Order that groups flat ``indexes`` by table (stable: raster order within a group) and
    the (table, start, end) of each group in that order. Table indexes are small, so a radix
    sort on uint8/uint16 does it (~15x faster than sorting int64); bincount gives the runs."""
    small = np.uint8 if indexes.size == 0 or indexes.max() < 256 else np.uint16
    order = np.argsort(indexes.astype(small), kind="stable")
    counts = np.bincount(indexes)
    ends = np.cumsum(counts)
    used = np.flatnonzero(counts)
    return order, [(int(t), int(ends[t] - counts[t]), int(ends[t])) for t in used]


def encode(symbols: np.ndarray, indexes: np.ndarray, models: _ModelCache) -> bytes:
    """Code ``symbols[i]`` (int) with table ``indexes[i]``; both are flat arrays."""
    import constriction

    tables = models.tables
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    indexes = np.asarray(indexes, dtype=np.int64).ravel()
    bins = symbols - tables.offsets[indexes]
    sizes = tables.sizes[indexes]
    escaped = (bins < 0) | (bins >= sizes)
    bins = np.where(escaped, sizes, bins).astype(np.int32)
    escapes = symbols[escaped].astype("<i4")

    coder = constriction.stream.stack.AnsCoder()
    # Symbols grouped by table (stable: raster order within a group). A stack: the group
    # coded last is decoded first, so code the groups in reverse order.
    order, groups = _groups(indexes)
    grouped = bins[order]
    for t, a, b in reversed(groups):
        coder.encode_reverse(grouped[a:b], models[t])
    words = coder.get_compressed().astype("<u4")
    return _U32.pack(len(escapes)) + escapes.tobytes() + words.tobytes()


def decode(data: bytes, indexes: np.ndarray, models: _ModelCache) -> np.ndarray:
    """Inverse of :func:`encode`; ``indexes`` must equal the encoder's. Returns int32."""
    import constriction

    tables = models.tables
    indexes = np.asarray(indexes, dtype=np.int64).ravel()
    if len(data) < 4:
        raise CorruptStreamError("coded section too short")
    (n_esc,) = _U32.unpack_from(data, 0)
    if n_esc > len(indexes) or 4 + 4 * n_esc > len(data) or (len(data) - 4 - 4 * n_esc) % 4:
        raise CorruptStreamError("coded section has an invalid layout")
    escapes = np.frombuffer(data, dtype="<i4", count=n_esc, offset=4)
    words = np.frombuffer(data, dtype="<u4", offset=4 + 4 * n_esc).astype(np.uint32)

    order, groups = _groups(indexes)
    grouped = np.empty(len(indexes), dtype=np.int64)
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        for t, a, b in groups:
            grouped[a:b] = coder.decode(models[t], b - a)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # constriction's PanicException derives from BaseException
        raise CorruptStreamError(f"entropy decoder failed: {exc}") from None
    bins = np.empty(len(indexes), dtype=np.int64)
    bins[order] = grouped

    sizes = tables.sizes[indexes]
    escaped = bins == sizes
    if int(escaped.sum()) != n_esc:
        raise CorruptStreamError("escape count does not match the coded stream")
    symbols = bins + tables.offsets[indexes]
    symbols[escaped] = escapes
    return symbols.astype(np.int32)
