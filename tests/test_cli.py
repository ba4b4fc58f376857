"""The command line through click's CliRunner: exit codes, messages, and output files that
are either complete or absent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import crop

from lic_codec.cli import main


@pytest.fixture()
def run(use_tiny):
    def _run(*args):
        return CliRunner().invoke(main, [str(a) for a in args])
    return _run


@pytest.fixture()
def png(tmp_path, photo) -> Path:
    p = tmp_path / "in.png"
    crop(photo, 70, 50).save(p)
    return p


def listing(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def test_encode_decode_info(run, png, tmp_path):
    r = run("encode", png, tmp_path / "a.licc", "-q", 70)
    assert r.exit_code == 0, r.output
    r = run("decode", tmp_path / "a.licc", tmp_path / "a.png")
    assert r.exit_code == 0, r.output
    from PIL import Image

    assert Image.open(tmp_path / "a.png").size == (70, 50)
    r = run("info", tmp_path / "a.licc", "--json")
    assert r.exit_code == 0
    d = json.loads(r.output)
    assert (d["width"], d["height"], d["quality"], d["model"]) == (70, 50, 70.0, "student")
    assert d["bytes"] == (tmp_path / "a.licc").stat().st_size
    r = run("info", tmp_path / "a.licc")
    assert "70x50 RGB" in r.output and "skipped" in r.output


def test_preset(run, png, tmp_path):
    assert run("encode", png, tmp_path / "p.licc", "--preset", "low").exit_code == 0
    r = run("info", tmp_path / "p.licc", "--json")
    assert json.loads(r.output)["quality"] == 25.0


def test_existing_output_needs_force(run, png, tmp_path):
    out = tmp_path / "a.licc"
    out.write_bytes(b"precious")
    r = run("encode", png, out)
    assert r.exit_code == 1 and "already exists" in r.output and "--force" in r.output
    assert out.read_bytes() == b"precious"
    assert run("encode", png, out, "-f").exit_code == 0
    assert out.read_bytes()[:4] == b"LICC"


def test_outputs_get_ordinary_permissions(run, png, tmp_path):
    """New files: 0o666 minus the umask, like any tool; overwritten files keep theirs."""
    import os

    old = os.umask(0o022)
    try:
        assert run("encode", png, tmp_path / "a.licc").exit_code == 0
        assert run("decode", tmp_path / "a.licc", tmp_path / "a.png").exit_code == 0
        assert (tmp_path / "a.licc").stat().st_mode & 0o777 == 0o644
        assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o644
        os.chmod(tmp_path / "a.png", 0o640)
        assert run("decode", "-f", tmp_path / "a.licc", tmp_path / "a.png").exit_code == 0
        assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_writing_onto_input_is_refused(run, png):
    before = png.read_bytes()
    r = run("encode", png, png, "--force")
    assert r.exit_code == 1 and "overwrite the input" in r.output
    assert png.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_non_image_input(run, tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    r = run("encode", bad, tmp_path / "out.licc")
    assert r.exit_code == 1
    assert r.output.startswith("licc: error:") and len(r.output.strip().splitlines()) == 1
    assert "Traceback" not in r.output
    assert listing(tmp_path) == {"bad.png"}


def test_missing_input(run, tmp_path):
    r = run("decode", tmp_path / "nope.licc", tmp_path / "o.png")
    assert r.exit_code == 1 and "no such file" in r.output


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic", "empty"])
def test_corrupt_file_leaves_no_output(run, png, tmp_path, damage):
    assert run("encode", png, tmp_path / "a.licc").exit_code == 0
    data = bytearray((tmp_path / "a.licc").read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-3] ^= 0x40
    elif damage == "magic":
        data[:4] = b"RIFF"
    else:
        data = bytearray()
    (tmp_path / "a.licc").write_bytes(bytes(data))
    before = listing(tmp_path)
    r = run("decode", tmp_path / "a.licc", tmp_path / "out.png")
    assert r.exit_code == 1, r.output
    assert r.output.startswith("licc: error:") and "Traceback" not in r.output
    assert listing(tmp_path) == before


def test_file_from_other_weights(run, png, tmp_path, tiny_weights, other_weights):
    env_other = {"LICC_WEIGHTS_DIR": str(other_weights)}
    r = CliRunner().invoke(main, ["encode", str(png), str(tmp_path / "o.licc")], env=env_other)
    assert r.exit_code == 0, r.output
    r = run("decode", tmp_path / "o.licc", tmp_path / "o.png")
    assert r.exit_code == 1 and "not installed" in r.output
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("args", [["encode", "x.png", "y.licc", "-q", "101"],
                                  ["encode", "x.png", "y.licc", "--preset", "ultra"],
                                  ["encode", "x.png"],
                                  ["frobnicate"]])
def test_usage_errors_exit_2(run, args):
    assert run(*args).exit_code == 2


def test_unknown_output_extension(run, png, tmp_path):
    assert run("encode", png, tmp_path / "a.licc").exit_code == 0
    r = run("decode", tmp_path / "a.licc", tmp_path / "a.xyz")
    assert r.exit_code == 1 and "extension" in r.output


def test_help_lists_presets_and_default():
    r = CliRunner().invoke(main, ["encode", "--help"])
    assert r.exit_code == 0
    for name in ("tiny", "low", "medium", "high", "max", "Default 50"):
        assert name in r.output


def test_info_and_help_do_not_import_torch(use_tiny, png, tmp_path):
    import subprocess
    import sys

    assert CliRunner().invoke(main, ["encode", str(png), str(tmp_path / "a.licc")]).exit_code == 0
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from lic_codec.cli import main\n"
        f"r = CliRunner().invoke(main, ['info', {str(tmp_path / 'a.licc')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(main, ['encode', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_metadata_reaches_the_decoded_png(run, photo, tmp_path):
    from PIL import Image, ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "m.png"
    crop(photo, 30, 20).save(src, icc_profile=icc)
    assert run("encode", src, tmp_path / "m.licc").exit_code == 0
    assert run("decode", tmp_path / "m.licc", tmp_path / "m_out.png").exit_code == 0
    assert Image.open(tmp_path / "m_out.png").info.get("icc_profile") == icc
    assert run("encode", src, tmp_path / "s.licc", "--strip").exit_code == 0
    r = run("info", tmp_path / "s.licc", "--json")
    assert "ICCP" not in json.loads(r.output)["sections"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL", "SIGINT"])
def test_interrupted_encode_leaves_nothing(tmp_path, photo, sig):
    """Killed mid-run: no output, no temporary file, input untouched."""
    import signal
    import subprocess
    import sys
    import time

    from PIL import Image

    src = tmp_path / "big.png"
    Image.fromarray(np.tile(np.asarray(photo), (12, 12, 1))).save(src, compress_level=1)
    before = src.read_bytes()
    # A shell starts background jobs with SIGINT ignored and the child would inherit that
    # (pytest run with `&`): give the encoder the disposition a terminal gives it.
    p = subprocess.Popen([sys.executable, "-m", "lic_codec", "encode", str(src),
                          str(tmp_path / "big.licc")], stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)
    assert p.poll() is None, "encode finished before it could be interrupted"
    p.send_signal(getattr(signal, sig))
    _, err = p.communicate(timeout=60)
    expected = {"SIGTERM": 143, "SIGINT": 130, "SIGKILL": -9}[sig]  # the shell's convention
    assert p.returncode == expected, err.decode(errors="replace")[-2000:]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["big.png"]
    assert src.read_bytes() == before


def test_retrained_weights_keep_old_files_decodable(png, tmp_path, monkeypatch):
    """Shipping new weights through the export command retires the old ones: a file made
    before decodes to the same pixels after, and the manifest keeps the old entry."""
    import torch

    from conftest import tiny_model

    from training.export import main as export

    weights = tmp_path / "weights"
    monkeypatch.setenv("LICC_WEIGHTS_DIR", str(weights))
    run = CliRunner()
    for seed in (0, 1):
        ckpt = tmp_path / f"ckpt{seed}.pt"
        torch.save({"config": tiny_model(seed).cfg.to_dict(),
                    "model": tiny_model(seed).state_dict(), "step": 10 + seed,
                    "wall_seconds": 1.0, "args": {}}, ckpt)
        export([str(ckpt), "--out-dir", str(weights)])
        if seed == 0:
            assert run.invoke(main, ["encode", str(png), str(tmp_path / "old.licc")]).exit_code == 0
            assert run.invoke(main, ["decode", str(tmp_path / "old.licc"),
                                     str(tmp_path / "before.png")]).exit_code == 0
    export([str(ckpt), "--out-dir", str(weights)])  # the same weights again: nothing retired
    retired = sorted((weights / "retired").iterdir())
    assert len(retired) == 1 and retired[0].name.startswith("student-")
    man = json.loads((weights / "manifest.json").read_text())["student"]
    assert man["training"]["steps"] == 11
    assert [r["training"]["steps"] for r in man["retired"]] == [10]
    r = run.invoke(main, ["decode", str(tmp_path / "old.licc"), str(tmp_path / "after.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "after.png").read_bytes() == (tmp_path / "before.png").read_bytes()
    retired[0].unlink()
    r = run.invoke(main, ["decode", str(tmp_path / "old.licc"), str(tmp_path / "gone.png")])
    assert r.exit_code == 1 and "not installed" in r.output


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    """A small PNG declaring 13000x13000 pixels: refused from its header, naming the file,
    before its pixels or the network are loaded (issue: 14 s and 3.5 GB)."""
    import subprocess
    import sys

    from PIL import Image

    bomb = tmp_path / "bomb.png"
    Image.new("L", (13000, 13000)).save(bomb, optimize=True)
    # peak memory from VmHWM: ru_maxrss would include the forking pytest process's
    code = ("import re, sys; from lic_codec.cli import main\n"
            "try:\n    main(['encode', sys.argv[1], sys.argv[2]])\n"
            "except SystemExit as e:\n    code = e.code\n"
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "print(int(hwm) // 1024, code, 'torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code, str(bomb), str(tmp_path / "b.licc")],
                       capture_output=True, text=True, timeout=120)
    peak_mb, status, torch_loaded = r.stdout.split()
    assert status == "1" and torch_loaded == "False", r.stderr
    assert int(peak_mb) < 200
    assert f"{bomb}: image of 13000x13000 pixels is larger than licc supports" in r.stderr
    assert not (tmp_path / "b.licc").exists()


def test_decoding_to_a_licc_file_is_refused(run, png, tmp_path):
    run("encode", png, tmp_path / "a.licc")
    r = run("decode", tmp_path / "a.licc", tmp_path / "b.licc")
    assert r.exit_code == 1 and "decode writes an image" in r.output
    assert not (tmp_path / "b.licc").exists()


def test_errors_name_the_file_in_single_and_batch_mode(run, png, tmp_path):
    run("encode", png, tmp_path / "good.licc")
    data = bytearray((tmp_path / "good.licc").read_bytes())
    data[-3] ^= 0xFF  # the last section's payload: its CRC fails
    bad = tmp_path / "bad.licc"
    bad.write_bytes(bytes(data))
    r = run("decode", bad, tmp_path / "x.png")
    assert r.exit_code == 1 and f"licc: error: {bad}: section" in r.output
    r = run("decode", tmp_path / "good.licc", bad, "-o", tmp_path / "out", "-j", "2")
    assert r.exit_code == 1 and f"licc: error: {bad}: section" in r.output
    assert listing(tmp_path / "out") == {"good.png"}  # -o created the folder
    r = run("info", bad)
    assert r.exit_code == 1 and f"{bad}: section" in r.output


@pytest.mark.slow
def test_write_errors_and_closed_pipes(use_tiny, png, tmp_path):
    """/dev/full: one line, exit 1 (was a traceback); a reader that goes away: exit 141 as
    for SIGPIPE, no message."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "lic_codec", "encode", str(png), "-"]
    with open("/dev/full", "wb") as full:
        r = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == ("licc: error: <stdout>: cannot write (No space "
                                                 "left on device)")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before licc writes
    _, err = p.communicate(timeout=120)
    assert p.returncode == 141 and b"Traceback" not in err


def test_small_usage_rules(run, png, tmp_path):
    r = run("encode", png, "-o", tmp_path / "o", "--skip-existing", "-f")
    assert r.exit_code == 2 and "contradict" in r.output
    run("encode", png, tmp_path / "a.licc")
    r = CliRunner().invoke(main, ["info", "-"], input=(tmp_path / "a.licc").read_bytes())
    assert r.exit_code == 0 and "<stdin>: licc format" in r.output
    r = run("encode", png, "-o", tmp_path / "one_out")
    assert r.exit_code == 0 and "encoded 1 file (0 failed)" in r.output


def test_warnings_come_before_the_result_line(run, tmp_path, photo):
    """A 16-bit RGB PNG (Pillow drops the low byte silently) is reduced with a warning,
    printed before the line that reports the file."""
    import struct
    import zlib

    arr = (np.asarray(crop(photo, 40, 30)).astype(">u2") * 257)
    raw = b"".join(b"\0" + row.tobytes() for row in arr)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    png16 = tmp_path / "deep.png"
    png16.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 16, 2,
                                                                         0, 0, 0))
                      + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    r = run("encode", png16, tmp_path / "d.licc")
    lines = r.output.strip().splitlines()
    assert r.exit_code == 0 and "16-bit samples reduced to 8 bits" in lines[0]
    assert lines[-1].endswith("bytes")


def test_cmyk_input_gets_no_cmyk_profile(run, photo, tmp_path):
    """A CMYK image with a CMYK profile: the decoded RGB file must not carry that profile."""
    from PIL import Image, ImageCms

    cmyk = crop(photo, 64, 48).convert("CMYK")
    fake_cmyk_icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    fake_cmyk_icc[16:20] = b"CMYK"  # not a usable profile: converted without it, and dropped
    src = tmp_path / "c.jpg"
    cmyk.save(src, icc_profile=bytes(fake_cmyk_icc))
    r = run("encode", src, tmp_path / "c.licc")
    assert r.exit_code == 0 and "CMYK colour profile" in r.output
    run("decode", tmp_path / "c.licc", tmp_path / "c.png")
    assert "icc_profile" not in Image.open(tmp_path / "c.png").info


def test_info_verify_catches_an_altered_image_size(run, png, tmp_path):
    import struct

    from lic_codec import fuzz

    run("encode", png, tmp_path / "a.licc")
    parts = fuzz.split((tmp_path / "a.licc").read_bytes())
    img_at = 33 + len(parts["header"].model_name)
    forged = tmp_path / "forged.licc"
    forged.write_bytes(fuzz._reseal(parts, lambda b: struct.pack_into("<II", b, img_at,
                                                                      4000, 3000)))
    r = run("info", forged)
    assert r.exit_code == 0 and "streams   not checked" in r.output  # checksums alone pass
    r = run("info", "--verify", forged)
    assert r.exit_code == 1 and f"licc: error: {forged}: " in r.output  # a stream check
    r = run("info", "--verify", tmp_path / "a.licc")
    assert r.exit_code == 0 and "streams   verified" in r.output
