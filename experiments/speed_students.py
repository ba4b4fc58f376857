"""Decode (and encode) time of several candidate students against the shipped teacher, 2
threads, in one process, rounds interleaved so that a noisy machine hits every network alike;
the best of the rounds counts. Pause any training first (kill -STOP).

Results: results/speed_students*.json.

    python experiments/speed_students.py OUT.json weights DIR ...
    python experiments/speed_students.py OUT.json weights DIR ... --all --quality 50 100

Each folder argument holds a student.pt (``weights`` is the shipped one; a candidate folder is
what ``python -m training.export CKPT --half --out-dir DIR`` writes). The teacher is
weights/teacher.pt. By default one image (kodim01, default quality, 5 rounds); ``--all`` times
every Kodak image (2 rounds each) and reports the mean per network and quality, because
the ratio on one image is not the ratio on Kodak (2026-11-30: 3.04x on kodim01, 2.90x over
the 24 images for the same pair).
"""

import argparse
import datetime
import json
import time
from pathlib import Path

import torch
from PIL import Image

from lic_codec.allocator import keep_freed_memory
from lic_codec.codec import Codec
from lic_codec.evaluate import git_commit, machine

KODAK = Path("../shared/data/kodak")


def best_times(codec: Codec, im: Image.Image, quality: float | None, rounds: int):
    """-> (file bytes, best encode s, best decode s)."""
    data = codec.encode(im, quality=quality)
    enc, dec = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        codec.encode(im, quality=quality)
        t1 = time.perf_counter()
        codec.decode(data)
        enc.append(t1 - t0)
        dec.append(time.perf_counter() - t1)
    return len(data), min(enc), min(dec)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("dirs", type=Path, nargs="+")
    ap.add_argument("--all", action="store_true", help="every Kodak image, not only kodim01")
    ap.add_argument("--quality", type=float, nargs="*", default=[None])
    args = ap.parse_args()
    tuned = keep_freed_memory()
    torch.set_num_threads(2)
    images = sorted(KODAK.glob("*.png")) if args.all else [KODAK / "kodim01.png"]
    rounds = 2 if args.all else 5
    codecs = {"teacher (weights)": Codec("teacher", weights=Path("weights"))}
    codecs.update({f"student ({d})": Codec("student", weights=d) for d in args.dirs})
    # [quality][network] -> sums over the images of bytes, encode s, decode s
    sums = {q: {n: [0, 0.0, 0.0] for n in codecs} for q in args.quality}
    for path in images:
        im = Image.open(path).convert("RGB")
        for q in args.quality:
            for name, c in codecs.items():  # interleaved: every network on this image now
                for i, v in enumerate(best_times(c, im, q, rounds)):
                    sums[q][name][i] += v
    res = {}
    for q, per in sums.items():
        teacher = per["teacher (weights)"][2]
        res["default" if q is None else f"{q:g}"] = {
            name: {"params": sum(p.numel() for p in codecs[name].model.parameters()),
                   "file_bytes": b / len(images), "encode_s": e / len(images),
                   "decode_s": d / len(images), "teacher_decode_over_this": teacher / d}
            for name, (b, e, d) in per.items()}
    report = {"images": [p.name for p in images], "threads": 2, "rounds": rounds,
              "times_by_quality": res, "allocator_tuned": tuned,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "python experiments/speed_students.py " + " ".join(
                  [str(args.out), *map(str, args.dirs)] + (["--all"] if args.all else [])
                  + (["--quality", *(f"{q:g}" for q in args.quality)]
                     if args.quality != [None] else [])),
              "commit": git_commit(), "machine": machine()}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for q, per in res.items():
        for name, r in per.items():
            print(f"quality {q}, {name}: {r['params'] / 1e6:.2f} M params, mean encode "
                  f"{r['encode_s']:.3f} s, decode {r['decode_s']:.3f} s, teacher decode / this "
                  f"{r['teacher_decode_over_this']:.2f}x")


if __name__ == "__main__":
    main()
