"""Cluster mode (licc encode|decode --ray) on real Ray clusters on this machine: a local one
started by the run, and a head plus a worker node started by the test, one worker killed
mid-run. The runs go through the CLI in subprocesses, so each Ray instance lives and dies
with its run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import crop

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO.parent / "shared" / "data" / "kodak"


def licc(*args: str, env: dict | None = None, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "lic_codec", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_lic_codec_and_help_never_import_ray():
    code = ("import sys, lic_codec, lic_codec.cli\n"
            "from click.testing import CliRunner\n"
            "for a in (['--help'], ['encode', '--help'], ['decode', '--help']):\n"
            "    assert CliRunner().invoke(lic_codec.cli.main, a).exit_code == 0\n"
            "print(sorted(m for m in ('ray', 'pyarrow', 'torch') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_plan_keeps_relative_paths_and_names_problems(tmp_path):
    from lic_codec.cluster import plan

    (tmp_path / "a" / "deep").mkdir(parents=True)
    for rel in ("a/x.png", "a/deep/y.JPG", "a/notes.txt", "z.png"):
        (tmp_path / rel).write_bytes(b"")
    items, problems = plan([str(tmp_path / "a"), str(tmp_path / "z.png"),
                            str(tmp_path / "nope.png")], "s3://bucket/out?region=x",
                           {".png", ".jpg"}, ".licc", recursive=True)
    assert [(it.rel, it.dst) for it in items] == [
        ("deep/y.JPG", "s3://bucket/out/deep/y.licc?region=x"),
        ("x.png", "s3://bucket/out/x.licc?region=x"),
        ("z.png", "s3://bucket/out/z.licc?region=x")]
    assert [p.error for p in problems] == [f"{tmp_path / 'nope.png'}: no such file"]
    _, problems = plan([str(tmp_path / "a")], "out", {".png"}, ".licc", recursive=False)
    assert "is a directory (use --recursive)" in problems[0].error


@pytest.mark.slow
def test_local_cluster_run_matches_local_encoding_and_finishes_with_skip_existing(
        tiny_weights, photo, tmp_path):
    src, out, dec = tmp_path / "src", tmp_path / "out", tmp_path / "dec"
    (src / "sub").mkdir(parents=True)
    crop(photo, 96, 64).save(src / "a.png")
    crop(photo, 64, 96).save(src / "sub" / "b.png")
    (src / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    env = {"LICC_WEIGHTS_DIR": str(tiny_weights)}
    r = licc("encode", str(src), "-r", "-o", str(out), "--ray", "-j", "2", "-q", "40", env=env)
    assert r.returncode == 1  # the broken file
    assert "broken.png" in r.stderr and "encoded 2 files (1 failed)" in r.stderr
    assert "WARNING" not in r.stderr and "INFO" not in r.stderr  # Ray's logs stay in Ray's
    report = [json.loads(ln) for ln in (out / "licc-failures.jsonl").read_text().splitlines()]
    assert [Path(f["src"]).name for f in report] == ["broken.png"] and report[0]["attempts"] == 3
    # the same bytes as local mode
    for rel in ("a", "sub/b"):
        local = tmp_path / "local.licc"
        assert licc("encode", str(src / f"{rel}.png"), str(local), "-q", "40", "-f",
                    env=env).returncode == 0
        assert (out / f"{rel}.licc").read_bytes() == local.read_bytes()
    # an interrupted run, rerun: only the missing output is made
    (out / "a.licc").unlink()
    before = (out / "sub" / "b.licc").stat().st_mtime_ns
    r = licc("encode", str(src), "-r", "-o", str(out), "--ray", "--skip-existing", "-q", "40",
             env=env)
    assert "encoded 1 file (1 failed, 1 skipped)" in r.stderr, r.stderr
    assert (out / "a.licc").exists()
    assert (out / "sub" / "b.licc").stat().st_mtime_ns == before
    # without -f or --skip-existing an existing output is an error, as in local mode
    r = licc("encode", str(src / "a.png"), "-o", str(out), "--ray", env=env)
    assert r.returncode == 1 and "exists (use -f" in r.stderr
    r = licc("decode", str(out), "-r", "-o", str(dec), "--ray", env=env)
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(dec).as_posix() for p in dec.rglob("*.png")) == [
        "a.png", "sub/b.png"]
    assert not list(out.rglob("*.part")) and not list(dec.rglob("*.part"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _map_workers() -> list[int]:
    r = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


@pytest.mark.slow
def test_head_and_worker_node_lose_nothing_when_a_worker_dies(photo, tmp_path):
    """Kodak-size images on a two-node cluster (head + worker, one CPU each); one converting
    actor is killed (SIGKILL) once the first output exists. Every good file still ends up
    converted, with the bytes local mode gives, and no partial output is left."""
    from PIL import Image

    from lic_codec.codec import Codec

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    big = photo.resize((768, 512), Image.BICUBIC)
    for i in range(10):
        big.rotate(90 * (i % 2), expand=False).crop((i, 0, 768 - i, 512)).save(src / f"{i}.png")
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    ray_cli = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    # token authentication (Ray's default for clusters) on every node and the driver
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    start = [ray_cli, "start", "--num-cpus=1", "--disable-usage-stats"]
    try:
        subprocess.run(start + ["--head", f"--port={port}", "--include-dashboard=false"],
                       check=True, capture_output=True, env=env, timeout=120)
        subprocess.run(start + [f"--address=127.0.0.1:{port}"], check=True,
                       capture_output=True, env=env, timeout=120)
        run = subprocess.Popen([sys.executable, "-m", "lic_codec", "encode", str(src), "-r",
                                "-o", str(out), "--ray", f"127.0.0.1:{port}", "-j", "2"],
                               stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.time() + 240
        while not list(out.glob("*.licc")) and time.time() < deadline and run.poll() is None:
            time.sleep(0.05)
        victims = _map_workers()
        assert victims, "no converting actor found to kill"
        os.kill(victims[0], signal.SIGKILL)
        _, err = run.communicate(timeout=300)
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)
    assert run.returncode == 1, err  # the corrupt file, and only it
    assert "encoded 10 files (1 failed)" in err
    report = (out / "licc-failures.jsonl").read_text().splitlines()
    assert len(report) == 1 and "corrupt.png" in report[0]
    codec = Codec()
    for i in range(10):
        assert (out / f"{i}.licc").read_bytes() == codec.encode(src / f"{i}.png")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_object_store_sources_and_outputs(tiny_weights, photo, tmp_path):
    """s3:// in and out, against an S3-compatible server (moto) on 127.0.0.1."""
    from pyarrow import fs

    port = _free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                               "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    creds = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_DEFAULT_REGION": "us-east-1", "LICC_WEIGHTS_DIR": str(tiny_weights)}
    opts = f"?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    try:
        s3 = fs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http",
                             access_key="test", secret_key="test", region="us-east-1",
                             allow_bucket_creation=True, connect_timeout=1)
        deadline = time.time() + 30
        while True:
            try:
                s3.create_dir("photos")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        local = {"a.png": crop(photo, 96, 64), "sub/b.png": crop(photo, 64, 80)}
        for rel, im in local.items():
            im.save(tmp_path / rel.replace("/", "_"))
            with s3.open_output_stream(f"photos/in/{rel}") as f:
                f.write((tmp_path / rel.replace("/", "_")).read_bytes())
        r = licc("encode", f"s3://photos/in{opts}", "-r", "-o", f"s3://photos/out{opts}",
                 "--ray", env=creds)
        assert r.returncode == 0, r.stderr
        for rel in local:
            mine = tmp_path / "local.licc"
            assert licc("encode", str(tmp_path / rel.replace("/", "_")), str(mine), "-f",
                        env=creds).returncode == 0
            with s3.open_input_stream(f"photos/out/{rel[:-4]}.licc") as f:
                assert f.read() == mine.read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_ray_mode_without_ray_says_what_to_install(monkeypatch, tmp_path):
    import importlib.util

    from click.testing import CliRunner

    from lic_codec.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    r = CliRunner().invoke(main, ["encode", str(tmp_path), "-r", "-o", str(tmp_path / "o"),
                                  "--ray"])
    assert r.exit_code == 1 and "pip install 'licc[cluster]'" in r.output
    r = CliRunner().invoke(main, ["encode", str(tmp_path), "-r", "--ray"])
    assert r.exit_code == 2 and "give the outputs' folder with -o" in r.output
