"""The constriction adapter: exact round trips, escapes, and damaged streams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lic_codec.entropy import rans
from lic_codec.entropy.tables import TableSet
from lic_codec.errors import CorruptStreamError
from lic_codec.latent.checkerboard import SCALE_TABLE


@pytest.fixture(scope="module")
def gaussian_tables() -> TableSet:
    from compressai.entropy_models import GaussianConditional

    gc = GaussianConditional(SCALE_TABLE.tolist())
    gc.update_scale_table(SCALE_TABLE, force=True)
    return TableSet.from_compressai(gc._quantized_cdf, gc._cdf_length, gc._offset)


def test_round_trip_with_escapes(gaussian_tables):
    rng = np.random.default_rng(0)
    n = 20000
    idx = rng.integers(0, len(gaussian_tables), n)
    scales = SCALE_TABLE.numpy()[idx]
    sym = np.round(rng.normal(0, scales)).astype(np.int64)
    sym[:5] = [10**6, -10**6, 5000, -4321, 77777]  # far outside every table: escapes
    idx[:5] = 0
    models = rans.model_cache(gaussian_tables)
    data = rans.encode(sym, idx, models)
    out = rans.decode(data, idx, rans.model_cache(gaussian_tables))
    assert np.array_equal(out, sym)
    # close to the ideal code length: well under 8 bits per symbol for these scales
    assert len(data) * 8 / n < 8


def test_empty(gaussian_tables):
    models = rans.model_cache(gaussian_tables)
    data = rans.encode(np.zeros(0, int), np.zeros(0, int), models)
    assert rans.decode(data, np.zeros(0, int), models).size == 0


@pytest.mark.parametrize("damage", ["short", "layout", "escapes"])
def test_damaged_stream_raises(gaussian_tables, damage):
    models = rans.model_cache(gaussian_tables)
    idx = np.zeros(100, int)
    data = rans.encode(np.arange(100) % 3, idx, models)
    bad = {"short": data[:2], "layout": data + b"x", "escapes": b"\xff\xff\x00\x00" + data[4:]}
    with pytest.raises(CorruptStreamError):
        rans.decode(bad[damage], idx, models)


def test_tables_are_valid_distributions(gaussian_tables):
    t = gaussian_tables
    for i in range(len(t)):
        row = t.counts[i, : t.sizes[i] + 1]
        assert row.sum() == 1 << 16 and (row > 0).all()
    assert torch.is_tensor(SCALE_TABLE)
