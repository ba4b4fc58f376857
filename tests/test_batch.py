"""Batch conversion, pipes and rate targets through the CLI, and the target search itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import crop

from lic_codec.cli import main
from lic_codec.format.container import read_header
from lic_codec.ratecontrol import Target, TargetError, parse_size, search


@pytest.fixture()
def run(use_tiny):
    def _run(*args, input=None):
        return CliRunner().invoke(main, [str(a) for a in args], input=input)
    return _run


@pytest.fixture()
def folder(tmp_path, photo) -> Path:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    crop(photo, 40, 30).save(d / "a.png")
    crop(photo, 50, 20).convert("L").save(d / "b.jpg")
    crop(photo, 33, 33).save(d / "sub" / "c.png")
    (d / "broken.png").write_bytes(b"not a png at all")
    return d


def test_batch_encode_with_one_corrupt_input(run, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    r = run("encode", folder / "a.png", folder / "b.jpg", folder / "broken.png", "-o", out)
    assert r.exit_code == 1
    assert "broken.png" in r.output and "licc: error:" in r.output
    assert "encoded 2 files (1 failed)" in r.output
    assert sorted(p.name for p in out.iterdir()) == ["a.licc", "b.licc"]


def test_batch_round_trip_recursive_and_jobs(run, folder, tmp_path):
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    enc.mkdir()
    dec.mkdir()
    (folder / "broken.png").unlink()
    r = run("encode", folder, "-r", "-o", enc, "-j", "2", "--preset", "low")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in enc.iterdir()) == ["a.licc", "b.licc", "c.licc"]
    r = run("decode", *sorted(enc.iterdir()), "-o", dec)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in dec.iterdir()) == ["a.png", "b.png", "c.png"]


def test_directory_without_recursive_is_named(run, folder, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    r = run("encode", folder, "-o", out)
    assert r.exit_code == 1 and "use --recursive" in r.output


def test_existing_outputs_skip_and_force(run, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.licc").write_bytes(b"keep me")
    r = run("encode", folder / "a.png", "-o", out)
    assert r.exit_code == 1 and "already exists" in r.output
    assert (out / "a.licc").read_bytes() == b"keep me"
    r = run("encode", folder / "a.png", "-o", out, "--skip-existing")
    assert r.exit_code == 0 and "1 skipped" in r.output
    assert (out / "a.licc").read_bytes() == b"keep me"
    r = run("encode", folder / "a.png", "-o", out, "--force")
    assert r.exit_code == 0 and (out / "a.licc").read_bytes()[:4] == b"LICC"


def test_duplicate_output_names_are_refused(run, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (folder / "sub" / "a.png").write_bytes((folder / "a.png").read_bytes())
    r = run("encode", folder / "a.png", folder / "sub" / "a.png", "-o", out)
    assert r.exit_code == 1 and "not unique" in r.output
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_pipes(use_tiny, folder, tmp_path):
    """licc encode - - < a.png | licc decode - - > a.png, in real processes."""
    env = {"LICC_WEIGHTS_DIR": str(use_tiny), "PATH": "/usr/bin:/bin"}
    png = (folder / "a.png").read_bytes()
    enc = subprocess.run([sys.executable, "-m", "lic_codec", "encode", "-", "-", "--quiet"],
                         input=png, capture_output=True, env=env)
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout[:4] == b"LICC" and read_header(enc.stdout).width == 40
    dec = subprocess.run([sys.executable, "-m", "lic_codec", "decode", "-", "-"],
                         input=enc.stdout, capture_output=True, env=env)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout[:8] == b"\x89PNG\r\n\x1a\n"


def test_target_size_and_bpp(run, photo, tmp_path):
    src = tmp_path / "p.png"
    crop(photo, 128, 96).save(src)
    sizes = {}
    for q in (0, 100):
        assert run("encode", src, tmp_path / f"q{q}.licc", "-q", q).exit_code == 0
        sizes[q] = (tmp_path / f"q{q}.licc").stat().st_size
    target = (sizes[0] + sizes[100]) // 2
    r = run("encode", src, tmp_path / "t.licc", "--target-size", target)
    assert r.exit_code == 0, r.output
    assert "target" in r.output and "quality" in r.output
    got = (tmp_path / "t.licc").stat().st_size
    assert sizes[0] <= got <= target
    r = run("encode", src, tmp_path / "b.licc", "--target-bpp", 8 * target / (128 * 96))
    assert r.exit_code == 0 and (tmp_path / "b.licc").stat().st_size <= target
    r = run("encode", src, tmp_path / "x.licc", "--target-size", "10")
    assert r.exit_code == 1 and "cannot be met" in r.output
    assert not (tmp_path / "x.licc").exists()


def test_target_psnr_unreachable(run, photo, tmp_path):
    src = tmp_path / "p.png"
    crop(photo, 64, 64).save(src)
    r = run("encode", src, tmp_path / "x.licc", "--target-psnr", "99")
    assert r.exit_code == 1 and "cannot be met" in r.output


def test_conflicting_rate_options(run, tmp_path):
    r = run("encode", "a.png", "b.licc", "-q", "5", "--target-size", "4KB")
    assert r.exit_code == 2


@pytest.mark.parametrize("text,value", [("40000", 40000), ("40KB", 40000), ("40kb", 40000),
                                        ("1.5MB", 1500000), ("64KiB", 65536), ("2 MiB", 2097152)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "abc", "10GB", "-5KB", "0"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_search_finds_the_boundary():
    size = lambda q: int(100 + 10 * q)  # noqa: E731  (size grows with quality)
    probe = lambda q: (b"x" * size(q), 20 + q / 5)  # noqa: E731
    res = search(probe, Target("size", 555))
    assert size(res.quality) <= 555 < size(res.quality + 0.01)
    assert res.probes <= 20
    res = search(probe, Target("psnr", 30.0))
    assert res.psnr >= 30.0 and 20 + (res.quality - 0.01) / 5 < 30.0
    with pytest.raises(TargetError):
        search(probe, Target("size", 50))
    with pytest.raises(TargetError):
        search(probe, Target("psnr", 45))
