"""Coding time of one Kodak image, student vs teacher (and CompressAI's reference networks),
2 threads, best of 3, in one process, with glibc's malloc tuned as the `licc` command does
(lic_codec/allocator.py; `--plain` leaves it alone). Pause any training first (kill -STOP).

Results: results/speed_teacher_student*.json.

    python experiments/speed_teacher_student.py weights results/speed_teacher_student.json
    python experiments/speed_teacher_student.py --plain weights results/speed_teacher_student_plain.json

(``weights`` may be any folder holding a student.pt and a teacher.pt.)
"""

import datetime
import json
import sys
from pathlib import Path

import torch

from lic_codec.allocator import keep_freed_memory
from lic_codec.bench import speed_comparison
from lic_codec.evaluate import git_commit, machine


def main() -> None:
    args = sys.argv[1:]
    plain = "--plain" in args
    args = [a for a in args if a != "--plain"]
    weights, out = Path(args[0]), Path(args[1])
    tuned = False if plain else keep_freed_memory()
    torch.set_num_threads(2)
    res = speed_comparison(Path("../shared/data/kodak/kodim01.png"), ["student", "teacher"],
                           weights, repeats=3)
    res.update({"allocator_tuned": tuned,
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "command": "python " + " ".join(sys.argv), "commit": git_commit(),
                "machine": machine()})
    out.write_text(json.dumps(res, indent=2) + "\n")
    for name, t in res["times"].items():
        print(f"{name}: encode {t['encode_s']:.3f} s, decode {t['decode_s']:.3f} s "
              f"({t['decode_x_student']:.2f}x the student's decode)")


if __name__ == "__main__":
    main()
