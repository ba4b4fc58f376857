"""The shipped student (read-only) on a real photo: rate and quality bounds per preset,
monotone rate, channel skipping, and the README's example through the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import DATA, crop, psnr

from lic_codec.codec import Codec
from lic_codec.format.container import read_header

# (quality, max bpp, min PSNR) on the 320x240 parrots crop. Measured with the shipped student
# of 2026-11-23: q0 0.257 bpp 28.11 dB, q50 0.663 bpp 32.07 dB, q100 1.341 bpp 33.63 dB.
BOUNDS = [(0, 0.35, 26.5), (50, 0.85, 30.5), (100, 1.7, 32.0)]


@pytest.fixture(scope="module")
def shipped() -> Codec:
    return Codec()


@pytest.mark.parametrize("quality,max_bpp,min_psnr", BOUNDS)
def test_rate_and_quality_bounds(shipped, photo, quality, max_bpp, min_psnr):
    data = shipped.encode(photo, quality=quality)
    bpp = 8 * len(data) / (photo.width * photo.height)
    assert bpp <= max_bpp
    assert psnr(shipped.decode(data), photo) >= min_psnr


def test_rate_and_quality_rise_with_q(shipped, photo):
    sizes, quals = [], []
    for q in (0, 20, 40, 60, 80, 100):
        data = shipped.encode(photo, quality=q)
        sizes.append(len(data))
        quals.append(psnr(shipped.decode(data), photo))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    assert quals == sorted(quals)


@pytest.mark.parametrize("size", [(1, 1), (63, 65), (129, 70)])
def test_odd_sizes(shipped, photo, size):
    im = crop(photo, *size)
    out = shipped.decode(shipped.encode(im, quality=75))
    assert out.size == size
    if min(size) > 16:
        assert psnr(out, im) > 22


def test_low_quality_skips_channels(shipped, photo):
    assert read_header(shipped.encode(photo, quality=0)).skipped_channels > 0


def test_readme_example(tmp_path):
    from lic_codec.cli import main

    r = CliRunner().invoke(main, ["encode", str(DATA / "parrots.png"), str(tmp_path / "p.licc")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["decode", str(tmp_path / "p.licc"), str(tmp_path / "p.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.png").stat().st_size > 0
