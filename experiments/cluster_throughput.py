"""Throughput of batch encoding: local batch mode against Ray mode with 1 and 2 workers, in
one run on one machine, plus the time and peak memory of one 12-megapixel photo, alone and
in a Ray worker (for the capacity plan in docs/cluster.md).

    python experiments/cluster_throughput.py ../shared/data/kodak --out results/cluster_throughput.json

Run it with nothing else on the CPU (pause training: kill -STOP). Every configuration codes
the same images at the default quality with one thread per worker; the Ray runs start their
own local cluster, whose start-up is counted (as a user would see it). The per-image time
and the fixed start-up of each configuration come from two runs, on the folder and on five
copies of it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lic_codec.evaluate import git_commit, machine  # noqa: E402
from lic_codec.io.files import find_images  # noqa: E402


class WorkerPeak(threading.Thread):
    """The largest peak resident memory (VmHWM) of Ray's converting actors while it runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb, self.done = 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    if b"MapWorker" not in (proc / "cmdline").read_bytes():
                        continue
                    for line in (proc / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue


def timed(args: list[str]) -> tuple[float, int | None]:
    """(seconds, peak MB of a Ray worker or None) of one licc run."""
    watch = WorkerPeak() if "--ray" in args else None
    if watch:
        watch.start()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "lic_codec", *args], capture_output=True,
                       text=True)
    secs = time.perf_counter() - t0
    if watch:
        watch.done.set()
        watch.join()
    if r.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{r.stderr}")
    return secs, (round(watch.peak_kb / 1024) if watch else None)


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one licc process, from /usr/bin/time -v."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "lic_codec", *args],
                       capture_output=True, text=True)
    secs = time.perf_counter() - t0
    line = next(ln for ln in r.stderr.splitlines() if "Maximum resident" in ln)
    return secs, int(line.split(":")[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    images = find_images(a.folder)
    work = Path(tempfile.mkdtemp())
    rows = []
    try:
        for copies in (1, 5):  # the folder, then five copies of it: per-image cost and start-up
            n = copies * len(images)
            src = work / f"src{n}"
            src.mkdir()
            for k in range(copies):
                for p in images:
                    shutil.copy(p, src / f"{k}_{p.name}")
            configs = {
                "local -j 1 (1 thread)": ["-j", "1", "--threads", "1"],
                "local -j 2 (1 thread each)": ["-j", "2", "--threads", "1"],
                "ray, 1 worker": ["--ray", "-j", "1", "--threads", "1"],
                "ray, 2 workers": ["--ray", "-j", "2", "--threads", "1"],
            }
            for name, extra in configs.items():
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                secs, worker_mb = timed(["encode", str(src), "-r", "-o", str(out), "--quiet",
                                         *extra])
                rows.append({"config": name, "images": n, "seconds": round(secs, 2),
                             "images_per_s": round(n / secs, 3), "worker_peak_mb": worker_mb})
                print(rows[-1], flush=True)
        # per-file overhead and start-up of each configuration from the two image counts
        derived = {}
        for name in dict.fromkeys(r["config"] for r in rows):
            (small, large) = [r for r in rows if r["config"] == name]
            per_file = (large["seconds"] - small["seconds"]) / (large["images"] - small["images"])
            derived[name] = {"seconds_per_image": round(per_file, 3),
                             "fixed_seconds": round(large["seconds"] - per_file
                                                    * large["images"], 2)}
        # one 12-megapixel photo (4000x3000, upscaled from the first image)
        big = work / "12mp.png"
        Image.open(images[0]).convert("RGB").resize((4000, 3000), Image.BICUBIC).save(big)
        secs, rss = peak_rss_mb(["encode", str(big), str(work / "12mp.licc"), "--threads",
                                 "1"])
        (work / "big").mkdir()
        shutil.move(str(big), work / "big" / big.name)
        ray_secs, worker_mb = timed(["encode", str(work / "big"), "-r", "-o",
                                     str(work / "bigout"), "--quiet", "--ray", "-j", "1",
                                     "--threads", "1"])
        twelve = {"seconds_1_thread": round(secs, 2), "peak_rss_mb": round(rss),
                  "ray_1_worker_seconds": round(ray_secs, 2), "ray_worker_peak_mb": worker_mb}
        print(twelve)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join(sys.argv), "commit": git_commit(), "machine": machine(),
              "runs": rows, "derived": derived, "photo_12mp": twelve}
    a.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(derived, indent=1))


if __name__ == "__main__":
    main()
