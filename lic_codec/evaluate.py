"""Rate-distortion of licc on a folder of images, from real files.

    python -m lic_codec.evaluate --data ../shared/data/kodak --out results/kodak_student.json

Every image is encoded to a file on disk; bpp is that file's size (header included) over the
pixel count; the file is read back and decoded; PSNR is over RGB at 8 bits. Also records the
channels skipped, wall times, and (with --cold-start) the cold CLI times next to
``python -c "import torch"``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .quality import PRESETS


def psnr_rgb8(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).parent,
                               check=False)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def evaluate(data_dir: Path, qualities: list[float], model: str = "student",
             weights: Path | None = None, limit: int | None = None,
             threads: int | None = None, effort: int = 0) -> dict:
    import torch

    from .codec import Codec
    from .errors import ImageError
    from .format.container import read_header
    from .io.files import find_images, spread

    codec = Codec(model, weights=weights, threads=threads)
    paths = spread(find_images(data_dir), limit)
    if not paths:
        raise ImageError(f"{data_dir}: no images found")
    codec.decode(codec.encode(Image.open(paths[0]).convert("RGB").crop((0, 0, 64, 64))))  # warm-up
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for q in qualities:
            for p in paths:
                ref = np.asarray(Image.open(p).convert("RGB"))
                f = Path(tmp) / f"{p.stem}_q{q:g}.licc"
                t0 = time.perf_counter()
                f.write_bytes(codec.encode(p, quality=q, effort=effort))
                t1 = time.perf_counter()
                blob = f.read_bytes()
                t2 = time.perf_counter()
                out = np.asarray(codec.decode(blob).convert("RGB"))
                t3 = time.perf_counter()
                h = read_header(blob)
                rows.append({
                    "image": p.name, "quality": q, "bytes": f.stat().st_size,
                    "bpp": 8 * f.stat().st_size / (ref.shape[0] * ref.shape[1]),
                    "psnr": psnr_rgb8(ref, out), "skipped_channels": h.skipped_channels,
                    "channels": h.channels, "encode_s": t1 - t0, "decode_s": t3 - t2,
                })
                f.unlink()
    summary = []
    for q in qualities:
        r = [x for x in rows if x["quality"] == q]
        summary.append({
            "quality": q,
            "preset": next((k for k, v in PRESETS.items() if v == q), None),
            "bpp": float(np.mean([x["bpp"] for x in r])),
            "psnr": float(np.mean([x["psnr"] for x in r])),
            "skipped_channels": float(np.mean([x["skipped_channels"] for x in r])),
            "encode_s": float(np.median([x["encode_s"] for x in r])),
            "decode_s": float(np.median([x["decode_s"] for x in r])),
        })
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "lic_codec.evaluate", *sys.argv[1:]]),
        "commit": git_commit(), "machine": machine(), "threads": torch.get_num_threads(),
        "model": model, "model_id": codec.model_id.hex(), "effort": effort, "images": len(paths),
        "data": str(data_dir), "summary": summary, "rows": rows,
    }


def cold_start(image: Path, threads: int | None = None, repeats: int = 3) -> dict:
    """Wall time of fresh processes, interleaved and repeated (best and median of
    ``repeats``): import torch, licc encode, licc decode, licc info."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)

    def timed(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        return time.perf_counter() - t0

    py = sys.executable
    licc = [py, "-m", "lic_codec"]
    runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        enc, dec = Path(tmp) / "a.licc", Path(tmp) / "a.png"
        for _ in range(repeats):
            for name, cmd in (("import_torch", [py, "-c", "import torch"]),
                              ("licc_encode", [*licc, "encode", "-f", str(image), str(enc)]),
                              ("licc_decode", [*licc, "decode", "-f", str(enc), str(dec)]),
                              ("licc_info", [*licc, "info", str(enc)])):
                runs.setdefault(name, []).append(timed(cmd))
    res = {}
    for name, times in runs.items():
        res[f"{name}_best_s"] = min(times)
        res[f"{name}_median_s"] = float(np.median(times))
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m lic_codec.evaluate")
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak")
    ap.add_argument("--quality", type=float, nargs="*", default=None,
                    help="qualities to test (default: every preset)")
    ap.add_argument("--model", default="student")
    ap.add_argument("--weights", type=Path, default=None, help="weights folder")
    ap.add_argument("--limit", type=int, default=None, help="only N images, evenly spaced over the sorted folder")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--effort", type=int, default=0, help="encoder effort (licc encode --effort)")
    ap.add_argument("--cold-start", action="store_true",
                    help="also time cold CLI runs against `python -c 'import torch'`")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    args = ap.parse_args(argv)
    qualities = args.quality if args.quality else sorted(PRESETS.values())
    rep = evaluate(args.data, qualities, args.model, args.weights, args.limit, args.threads,
                   args.effort)
    if args.cold_start:
        first = sorted(args.data.glob("*.png"))[0]
        rep["cold_start"] = cold_start(first, args.threads)
    print(f"{rep['model']} (effort {rep['effort']}) on {rep['images']} images of {args.data} "
          f"({rep['commit']}, {rep['threads']} threads)")
    print("| quality | preset | bpp | PSNR (dB) | skipped channels | encode s | decode s |")
    print("|---|---|---|---|---|---|---|")
    for s in rep["summary"]:
        print(f"| {s['quality']:g} | {s['preset'] or ''} | {s['bpp']:.4f} | {s['psnr']:.2f} | "
              f"{s['skipped_channels']:.1f} / {rep['rows'][0]['channels']} | "
              f"{s['encode_s']:.3f} | {s['decode_s']:.3f} |")
    if "cold_start" in rep:
        print("cold start (s):", json.dumps({k: round(v, 2) for k, v in rep["cold_start"].items()}))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rep, indent=1) + "\n")


if __name__ == "__main__":
    main()
