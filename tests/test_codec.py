"""End-to-end coding with a tiny seeded network: exact round trips, odd sizes, image modes,
determinism, and agreement with the model's own forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import crop, psnr, tiny_model

from lic_codec.codec import Codec, crop_from_grid, pad_to_grid
from lic_codec.errors import ChecksumError, CorruptStreamError, FormatError, ModelMismatchError
from lic_codec.format.container import read_header
from lic_codec.quality import rate_position


@pytest.fixture(scope="module")
def codec(tiny_weights) -> Codec:
    return Codec(weights=tiny_weights)


@pytest.mark.parametrize("size", [(1, 1), (17, 33), (64, 64), (65, 130), (200, 77)])
def test_odd_sizes_round_trip(codec, photo, size):
    im = crop(photo, *size)
    data = codec.encode(im, quality=50)
    out = codec.decode(data)
    assert out.size == im.size and out.mode == "RGB"
    h = read_header(data)
    assert (h.width, h.height) == size and h.total_size == len(data)


@pytest.mark.slow
def test_decode_matches_forward_pass(codec, photo):
    """The decoded pixels are what the network's eval-mode forward pass predicts."""
    im = crop(photo, 130, 70)
    model = tiny_model(seed=0)  # the trainable network the tiny weights were exported from
    for q in (0.0, 37.5, 100.0):
        out = np.asarray(codec.decode(codec.encode(im, quality=q)), dtype=np.int16)
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255
        t = rate_position(q, model.cfg.num_levels)
        with torch.no_grad():
            pred = model(pad_to_grid(x), torch.tensor([t]))["x_hat"]
        pred = crop_from_grid(pred[0], 70, 130)  # the image sits centred in its canvas
        pred = (pred.clamp(0, 1) * 255).round().permute(1, 2, 0).numpy()
        assert np.abs(out - pred.astype(np.int16)).max() <= 1


def test_encoder_is_deterministic(codec, photo):
    im = crop(photo, 96, 80)
    assert codec.encode(im, quality=42) == codec.encode(im, quality=42)


def test_quality_changes_rate(codec, photo):
    im = crop(photo, 128, 128)
    sizes = [len(codec.encode(im, quality=q)) for q in (0, 50, 100)]
    assert sizes[0] < sizes[2]


def test_modes(codec, photo):
    base = crop(photo, 40, 30)
    grey = codec.decode(codec.encode(base.convert("L")))
    assert grey.mode == "L" and grey.size == (40, 30)
    rgba = base.convert("RGBA")
    alpha = Image.fromarray((np.arange(1200).reshape(30, 40) % 256).astype(np.uint8))
    rgba.putalpha(alpha)
    out = codec.decode(codec.encode(rgba))
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[:, :, 3], np.asarray(alpha))  # alpha is lossless
    pal = codec.decode(codec.encode(base.convert("P")))
    assert pal.mode == "RGB"


def test_sixteen_bit_input_is_reduced_with_warning(codec):
    arr = (np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16)
    im = Image.fromarray(arr)
    assert im.mode.startswith("I")
    with pytest.warns(UserWarning, match="8 bits"):
        data = codec.encode(im)
    assert codec.decode(data).mode == "L"


def test_flipped_bit_in_each_section(codec, photo):
    data = codec.encode(crop(photo, 64, 64))
    h = read_header(data)
    pos = h.header_size
    for tag, length, _ in h.sections:
        bad = bytearray(data)
        bad[pos + length // 2] ^= 0x10
        with pytest.raises(ChecksumError, match=tag.decode()):
            codec.decode(bytes(bad))
        pos += length


def test_file_from_other_weights_is_refused(codec, other_weights, photo):
    other = Codec(weights=other_weights)
    data = other.encode(crop(photo, 32, 32))
    with pytest.raises(ModelMismatchError, match="not installed"):
        codec.decode(data)


def test_symbols_checksum_catches_desync(codec, photo):
    """A stream that passes its CRC but decodes differently is refused, not returned."""
    import struct
    import zlib

    data = bytearray(codec.encode(crop(photo, 64, 64)))
    h = read_header(bytes(data))
    crc_pos = h.header_size - 4 - 1 - 12 * len(h.sections) - 4
    struct.pack_into("<I", data, crc_pos, h.symbols_crc ^ 1)
    struct.pack_into("<I", data, h.header_size - 4, zlib.crc32(bytes(data[: h.header_size - 4])))
    with pytest.raises(CorruptStreamError, match="checksum"):
        codec.decode(bytes(data))


def test_truncated_file(codec, photo):
    data = codec.encode(crop(photo, 64, 64))
    with pytest.raises(FormatError, match="truncated"):
        codec.decode(data[:-1])


def test_psnr_reasonable_for_untrained_tiny_model(codec, photo):
    # Random weights: only check the pipeline returns an image of the right kind.
    out = codec.decode(codec.encode(crop(photo, 64, 64), quality=100))
    assert np.isfinite(psnr(out, crop(photo, 64, 64)))


def test_icc_and_exif_survive_unless_stripped(codec, photo, tmp_path):
    from PIL import ExifTags, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90 degrees clockwise to display
    exif[ExifTags.Base.Make] = "licc-test"
    src = tmp_path / "meta.jpg"
    crop(photo, 40, 24).save(src, icc_profile=icc, exif=exif, quality=95)

    out = codec.decode(codec.encode(str(src)))
    assert out.size == (24, 40)  # orientation applied to the pixels
    assert out.info["icc_profile"] == icc
    kept = Image.Exif()
    kept.load(out.info["exif"])
    assert kept[ExifTags.Base.Make] == "licc-test"
    assert kept.get(ExifTags.Base.Orientation, 1) == 1  # not applied twice by viewers

    bare = codec.decode(codec.encode(str(src), strip=True))
    assert "icc_profile" not in bare.info and "exif" not in bare.info


@pytest.mark.slow
def test_tiled_transforms_match_untiled(tiny_weights, photo):
    """Small tiles (forced) give the same latent and image as one pass, up to rounding."""
    whole = Codec(weights=tiny_weights)
    tiled = Codec(weights=tiny_weights)
    tiled.tile, tiled.margin = 4, 4  # 64-pixel tiles: 5 x 4 tiles on a 320x240 image
    src = whole.source(photo)
    assert torch.allclose(whole._features(src), tiled._features(src), atol=1e-4)
    data = whole.encode(photo, quality=50)
    a = np.asarray(whole.decode(data), dtype=np.int16)
    b = np.asarray(tiled.decode(data), dtype=np.int16)
    assert np.abs(a - b).max() <= 1 and (a != b).mean() < 0.001
