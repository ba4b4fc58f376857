"""Decode (and encode) time of several candidate students against the shipped teacher on one
Kodak image, 2 threads, in one process, rounds interleaved so that a noisy machine hits every
network alike; the best of the rounds counts. Pause any training first (kill -STOP).

    python experiments/speed_students.py OUT.json weights DIR ...

Each argument after OUT.json is a folder holding a student.pt (``weights`` is the shipped
one; a candidate folder is what ``python -m lic_codec.train.export CKPT --half --out-dir DIR``
writes). The teacher is weights/teacher.pt.
"""

import datetime
import json
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from lic_codec.allocator import keep_freed_memory
from lic_codec.codec import Codec
from lic_codec.evaluate import git_commit, machine

IMAGE = Path("../shared/data/kodak/kodim01.png")
ROUNDS = 5


def main() -> None:
    out, dirs = Path(sys.argv[1]), [Path(d) for d in sys.argv[2:]]
    tuned = keep_freed_memory()
    torch.set_num_threads(2)
    im = Image.open(IMAGE).convert("RGB")
    codecs = {"teacher (weights)": Codec("teacher", weights=Path("weights"))}
    codecs.update({f"student ({d})": Codec("student", weights=d) for d in dirs})
    files = {name: c.encode(im) for name, c in codecs.items()}
    times: dict[str, dict[str, list[float]]] = {n: {"encode_s": [], "decode_s": []} for n in codecs}
    for _ in range(ROUNDS):
        for name, c in codecs.items():
            t0 = time.perf_counter()
            c.encode(im)
            t1 = time.perf_counter()
            c.decode(files[name])
            t2 = time.perf_counter()
            times[name]["encode_s"].append(t1 - t0)
            times[name]["decode_s"].append(t2 - t1)
    teacher = min(times["teacher (weights)"]["decode_s"])
    res = {name: {"params": sum(p.numel() for p in c.model.parameters()),
                  "file_bytes": len(files[name]),
                  "encode_s": min(t["encode_s"]), "decode_s": min(t["decode_s"]),
                  "teacher_decode_over_this": teacher / min(t["decode_s"])}
           for (name, c), t in zip(codecs.items(), times.values())}
    report = {"image": IMAGE.name, "threads": 2, "rounds": ROUNDS, "times": res,
              "allocator_tuned": tuned,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "python " + " ".join(sys.argv), "commit": git_commit(),
              "machine": machine()}
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, r in res.items():
        print(f"{name}: {r['params'] / 1e6:.2f} M params, encode {r['encode_s']:.3f} s, "
              f"decode {r['decode_s']:.3f} s, "
              f"teacher decode / this {r['teacher_decode_over_this']:.2f}x")


if __name__ == "__main__":
    main()
