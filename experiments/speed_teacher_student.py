"""Coding time of one Kodak image, student vs teacher (and CompressAI's reference networks),
2 threads, best of 3, in one process. Pause any training first (kill -STOP).

    python -m lic_codec.train.export runs/teacher/ckpt.pt --name teacher --out-dir /tmp/wt
    cp weights/student.pt /tmp/wt/
    python experiments/speed_teacher_student.py /tmp/wt results/speed_teacher_student.json
"""

import datetime
import json
import sys
from pathlib import Path

import torch

from lic_codec.bench import speed_comparison
from lic_codec.evaluate import git_commit, machine


def main() -> None:
    weights, out = Path(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(2)
    res = speed_comparison(Path("../shared/data/kodak/kodim01.png"), ["student", "teacher"],
                           weights, repeats=3)
    res.update({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "command": "python " + " ".join(sys.argv), "commit": git_commit(),
                "machine": machine()})
    out.write_text(json.dumps(res, indent=2) + "\n")
    for name, t in res["times"].items():
        print(f"{name}: encode {t['encode_s']:.3f} s, decode {t['decode_s']:.3f} s "
              f"({t['decode_x_student']:.2f}x the student's decode)")


if __name__ == "__main__":
    main()
