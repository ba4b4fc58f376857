"""Throughput of batch encoding: local batch mode against Ray mode with 1 and 2 workers, in
one run on one machine, plus the time and peak memory of one 12-megapixel photo (for the
capacity plan in docs/cluster.md).

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
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lic_codec.evaluate import git_commit, machine  # noqa: E402
from lic_codec.io.files import find_images  # noqa: E402


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "lic_codec", *args], capture_output=True,
                       text=True)
    if r.returncode:
        raise SystemExit(f"failed: {' '.join(args)}\n{r.stderr}")
    return time.perf_counter() - t0


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
                secs = timed(["encode", str(src), "-r", "-o", str(out), "--quiet", *extra])
                rows.append({"config": name, "images": n, "seconds": round(secs, 2),
                             "images_per_s": round(n / secs, 3)})
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
        twelve = {"seconds_1_thread": round(secs, 2), "peak_rss_mb": round(rss)}
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
