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
    order = np.argsort(indexes, kind="stable")
    tables_used, starts = np.unique(indexes[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    grouped = bins[order]
    for t, a, b in zip(tables_used[::-1], starts[::-1], ends[::-1]):
        coder.encode_reverse(grouped[a:b], models[int(t)])
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

    order = np.argsort(indexes, kind="stable")
    tables_used, starts = np.unique(indexes[order], return_index=True)
    ends = np.append(starts[1:], len(order))
    grouped = np.empty(len(indexes), dtype=np.int64)
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        for t, a, b in zip(tables_used, starts, ends):
            grouped[a:b] = coder.decode(models[int(t)], int(b - a))
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
