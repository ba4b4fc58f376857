"""Exact integer entropy parameters: the float64 convolutions equal an int64 reference, and
files decode to identical symbols under other thread counts, instruction sets and with
oneDNN off."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
from numpy.lib.stride_tricks import sliding_window_view

from conftest import crop

from lic_codec.latent.checkerboard import anchor_mask
from lic_codec.latent.exact import ExactLayer, ExactLeakyReLU, to_grid


def _int_conv(a: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
    """Reference convolution in int64 (stride 1). a [C, H, W], w [O, C, k, k]."""
    a = np.pad(a, ((0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(a, w.shape[2:], axis=(1, 2))  # [C, H, W, k, k]
    return np.einsum("chwij,ocij->ohw", win, w) + b[:, None, None]


def test_exact_layer_equals_integer_reference():
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(torch.logspace(-3, 1, 5).view(5, 1, 1, 1))  # very different scales
    layer = ExactLayer(conv)
    a = to_grid(torch.randn(1, 6, 7, 8) * 40)  # large activations, integers on the grid
    got = layer(a)
    acc = _int_conv(a[0].numpy().astype(np.int64), layer.weight.numpy().astype(np.int64),
                    layer.bias.numpy().astype(np.int64), 1)
    div = layer.div.view(-1, 1, 1).numpy().astype(np.int64)
    want = np.floor_divide(acc + div // 2, div)  # round half up, in integers
    assert np.array_equal(got[0].numpy().astype(np.int64), want)
    # and it approximates the float layer well
    assert torch.equal(got.float().double(), got)  # integers below 2^24: exact in float32
    assert torch.allclose(got.double() / 256, conv(a.float() / 256).double(), atol=0.02)


def test_exact_layer_rounds_shifted_and_unshifted_channels_alike():
    """The rounding half step lives in the bias (2^(s-1)); a channel whose weights already
    use 15 bits (s = 0) gets none and must come out unchanged."""
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 3, 3, padding=1)
    with torch.no_grad():
        conv.weight[0].mul_(2e4 / conv.weight[0].abs().max())  # s = 0
        conv.weight[1].mul_(1e-3)  # a large shift
    layer = ExactLayer(conv)
    assert layer.div[0, 0] == 1 and layer.div[0, 1] > 2**10
    a = torch.randint(-3, 4, (1, 4, 6, 5)).double()  # small: no channel reaches the clamp
    acc = _int_conv(a[0].numpy().astype(np.int64), layer.weight.numpy().astype(np.int64),
                    layer.bias.numpy().astype(np.int64), 1)
    div = layer.div.view(-1, 1, 1).numpy().astype(np.int64)
    want = np.floor_divide(acc + div // 2, div)
    assert np.abs(want).max() < 2**24
    assert np.array_equal(layer(a)[0].numpy().astype(np.int64), want)


def test_exact_leaky_relu_is_integer():
    f = ExactLeakyReLU(0.01)
    a = torch.tensor([-1000.0, -3.0, 0.0, 7.0])
    out = f(a)
    assert torch.equal(out, torch.floor(out)) and out[3] == 7 and out[0] == -10


def test_exact_leaky_relu_equals_the_select():
    a = torch.arange(-5000.0, 5000.0)
    for slope in (0.0, 0.01, 0.3, 0.5, 1.0, 1.5):
        f = ExactLeakyReLU(slope)
        want = torch.where(a >= 0, a, torch.floor(a * f.num / 1024 + 0.5))
        assert torch.equal(f(a), want), slope


def test_scale_index_counts_the_thresholds_below(tiny_weights):
    from lic_codec.latent import exact
    from lic_codec.models.registry import load_model

    model, _ = load_model("student", tiny_weights)
    ex = exact.ExactEntropyParameters(model.latent, model.latent.scale_thresholds)
    t = ex.thresholds
    v = torch.arange(-100.0, t[-1] + 100)  # every integer scale, past both ends
    v = torch.cat([v, torch.tensor([-2.0**24, 2.0**24])])  # the activation bounds
    want = (v.double()[:, None] > torch.from_numpy(t)[None, :]).sum(1)
    assert np.array_equal(ex.scale_index(v[None, :, None]), want.numpy())  # any shape


@pytest.mark.slow
def test_files_decode_identically_under_other_arithmetic(tiny_weights, photo, tmp_path):
    from lic_codec.codec import Codec
    from lic_codec.portability import CONFIGS, cross_decode

    codec = Codec(weights=tiny_weights)
    files = []
    for i, (w, h) in enumerate([(96, 64), (70, 45)]):
        f = tmp_path / f"{i}.licc"
        f.write_bytes(codec.encode(crop(photo, w, h), quality=40 * i + 30))
        files.append(f)
    results = cross_decode(files, tiny_weights)
    assert set(results) == set(CONFIGS)
    for name, res in results.items():
        assert "process_failed" not in res, (name, res)
        assert all(r["ok"] for r in res.values()), (name, res)


def test_float_fragility_counts(tiny_weights, tmp_path, photo):
    from lic_codec.portability import float_fragility

    crop(photo, 64, 64).save(tmp_path / "a.png")
    rep = float_fragility([tmp_path / "a.png"], tiny_weights, qualities=(50.0,))
    assert rep["scales"] == 24 * 4 * 4 and rep["flipped_by_one_ulp"] >= 0


def test_weight_shifts_use_15_bits():
    from lic_codec.latent.exact import weight_shifts

    peak = torch.tensor([1.0, 0.5, 32767.0, 1e-3, 3e-5, 0.0], dtype=torch.float64)
    s = weight_shifts(peak)
    scaled = peak * torch.pow(2.0, s)
    assert (scaled[:5] <= 32767).all() and (scaled[:4] * 2 > 32767).all()
    assert s[5] == 0


@pytest.mark.slow
def test_banded_evaluation_is_identical(tiny_weights):
    from lic_codec.latent import exact
    from lic_codec.models.registry import load_model

    model, _ = load_model("student", tiny_weights)
    ex = exact.ExactEntropyParameters(model.latent, model.latent.scale_thresholds)
    torch.manual_seed(0)
    z = to_grid(torch.randn(1, 16, 23, 9) * 3).float()  # tall: many bands
    whole = exact.run(ex.h_s, z)
    assert torch.equal(ex.hyper(z), whole)
    y = to_grid(torch.randn(1, 24, 92, 36) * 5)
    # the parameter networks run only where their outputs are used; there they equal the
    # full-grid float64 convolutions (with the masked 5x5 context convolution) bit for bit
    anchors = anchor_mask(whole.shape[2], whole.shape[3])
    a_whole = exact.run(ex.anchor, whole) * anchors
    assert torch.equal(torch.cat(ex.anchor_params(whole), 1), a_whole)
    y = y * anchors  # the context sees decoded anchors only
    ctx = exact.ExactLayer(model.latent.context, model.latent.context.mask)(y)
    n_whole = exact.run(ex.nonanchor, torch.cat([whole, ctx], 1)) * ~anchors
    assert torch.equal(torch.cat(ex.nonanchor_params(whole, y), 1), n_whole)
    # a file's skipped channels: the last layers compute only the active channels' mean and
    # scale, which are the full networks' exactly
    active = torch.rand(24) < 0.6
    for part, full in ((ex.anchor_params(whole, active), a_whole),
                       (ex.nonanchor_params(whole, y, active), n_whole)):
        mu, scale = full.chunk(2, 1)
        assert part[0].shape[1] == int(active.sum()) < 24
        assert torch.equal(part[0], mu[:, active]) and torch.equal(part[1], scale[:, active])
