"""The library API and the Pillow plugin."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import lic_codec
from conftest import crop, psnr


def test_api_round_trip_and_info(use_tiny, photo):
    im = crop(photo, 70, 45)
    data = lic_codec.encode(im, quality=60)
    info = lic_codec.read_info(data)
    assert (info.width, info.height, info.quality) == (70, 45, 60.0)
    out = lic_codec.decode(data)
    assert out.size == im.size and np.isfinite(psnr(out, im))


def test_api_targets_and_errors(use_tiny, photo):
    im = crop(photo, 64, 64)
    small = lic_codec.encode(im, quality=0)
    big = lic_codec.encode(im, quality=100)
    target = (len(small) + len(big)) // 2
    assert len(lic_codec.encode(im, target_size=target)) <= target
    assert len(lic_codec.encode(im, target_size=f"{target}B")) <= target
    with pytest.raises(ValueError):
        lic_codec.encode(im, quality=5, preset="low")
    with pytest.raises(lic_codec.FormatError):
        lic_codec.decode(b"LICC" + b"\0" * 40)
    with pytest.raises(lic_codec.LiccError):
        lic_codec.decode(b"")


def test_pillow_open_is_lazy_and_save_works(use_tiny, photo, tmp_path):
    im = crop(photo, 50, 30)
    path = tmp_path / "x.licc"
    im.save(path, quality=70)  # format from the extension
    assert path.read_bytes()[:4] == b"LICC"
    opened = Image.open(path)
    assert opened.format == "LICC" and opened.size == (50, 30) and opened.mode == "RGB"
    assert opened._licc_data is not None  # header only, pixels not decoded yet
    assert opened.info["licc_quality"] == 70.0
    pixels = np.asarray(opened)
    assert pixels.shape == (30, 50, 3) and opened._licc_data is None
    assert np.array_equal(pixels, np.asarray(lic_codec.decode(path.read_bytes())))


def test_pillow_save_to_buffer_with_options(use_tiny, photo):
    im = crop(photo, 64, 48)
    buf = io.BytesIO()
    im.save(buf, format="LICC", preset="low")
    assert lic_codec.read_info(buf.getvalue()).quality == 25.0
    buf2 = io.BytesIO()
    im.save(buf2, format="LICC", target_size=len(buf.getvalue()))
    assert len(buf2.getvalue()) <= len(buf.getvalue())
    rgba = im.convert("RGBA")
    buf3 = io.BytesIO()
    rgba.save(buf3, format="LICC")
    assert Image.open(io.BytesIO(buf3.getvalue())).mode == "RGBA"


def test_pillow_save_honours_every_encode_option(use_tiny, photo):
    """strip=True must drop the ICC profile and EXIF (GPS data leaked before); effort and the
    other keywords of lic_codec.encode reach it too."""
    import inspect

    from lic_codec.api import ENCODE_OPTIONS

    params = inspect.signature(lic_codec.encode).parameters
    assert set(ENCODE_OPTIONS) == set(params) - {"image"}
    im = crop(photo, 64, 48)
    exif = Image.Exif()
    exif[0x010F] = "camera maker"
    im.info["icc_profile"] = b"\0" * 16 + b"RGB " + b"\0" * 108
    im.info["exif"] = exif.tobytes()
    sections = {}
    for strip in (False, True):
        buf = io.BytesIO()
        im.save(buf, format="LICC", quality=40, strip=strip)
        sections[strip] = lic_codec.read_info(buf.getvalue()).section_sizes()
    assert "EXIF" in sections[False] and "ICCP" in sections[False]
    assert "EXIF" not in sections[True] and "ICCP" not in sections[True]
    with pytest.raises(ValueError, match="effort"):
        im.save(io.BytesIO(), format="LICC", effort=9)


@pytest.mark.parametrize("front", ["cli", "api", "pillow"])
def test_unknown_or_conflicting_options_are_errors_in_every_front_end(front, use_tiny, photo,
                                                                      tmp_path):
    """The same two mistakes, a misspelt option and two rate settings at once, refused by
    the command line, lic_codec.encode and Image.save alike (never a default in disguise)."""
    from click.testing import CliRunner

    from lic_codec.cli import main

    im = crop(photo, 64, 48)
    src = tmp_path / "in.png"
    im.save(src)
    if front == "cli":
        run = CliRunner().invoke
        r = run(main, ["encode", str(src), str(tmp_path / "o.licc"), "--qualty", "5"])
        assert r.exit_code == 2 and "No such option" in r.output
        r = run(main, ["encode", str(src), str(tmp_path / "o.licc"), "-q", "5", "--preset",
                       "low"])
        assert r.exit_code == 2 and "only one of" in r.output
    elif front == "api":
        with pytest.raises(TypeError, match="qualty"):
            lic_codec.encode(im, qualty=5)
        with pytest.raises(ValueError, match="at most one"):
            lic_codec.encode(im, quality=5, preset="low")
    else:
        with pytest.raises(ValueError, match="qualty"):
            im.save(io.BytesIO(), format="LICC", qualty=5)
        with pytest.raises(ValueError, match="at most one"):
            im.save(io.BytesIO(), format="LICC", quality=5, preset="low")
    assert not (tmp_path / "o.licc").exists()


def test_pillow_registration():
    assert Image.registered_extensions()[".licc"] == "LICC"
    assert Image.MIME["LICC"] == "image/x-licc"


def test_pillow_refuses_damaged_header(tmp_path):
    p = tmp_path / "bad.licc"
    p.write_bytes(b"LICC" + b"\x01" * 60)
    # the plugin refuses it (SyntaxError, Pillow's signal for "not mine"), so Pillow's own
    # error for an unreadable file is what the caller sees, naming the file
    from PIL import UnidentifiedImageError

    with pytest.raises(UnidentifiedImageError, match="bad.licc"):
        Image.open(p)
    from lic_codec.pillow_plugin import LiccImageFile

    with pytest.raises(SyntaxError, match="checksum|header|size"):
        LiccImageFile(str(p))
