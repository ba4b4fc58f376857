"""Make an experiment arm the trunk, so a recipe that won a comparison continues as the main run:

    python -m training.adopt runs/sweep/arm2_area runs/student_v2

The arm must have started (``--init``) from the trunk's checkpoint as it still is: the trunk
stopped at the branch point, step S. The arm's checkpoint becomes the trunk's at step S + the
arm's steps, with wall and CPU time added and the trunk's lineage kept (the manifest's step
and CPU-hour totals stay right); the arm's log and evaluation rows are appended to the trunk's
with the same offset. Resume the trunk with the arm's flags afterwards.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .checkpoint import save_atomic, prior_training


def _append_rows(src: Path, dst: Path, offset: int) -> int:
    """Append src's TSV rows to dst with ``offset`` added to the step column -> rows added."""
    if not src.exists():
        return 0
    rows = src.read_text().splitlines()
    if not dst.exists():
        dst.write_text(rows[0] + "\n")
    with open(dst, "a") as f:
        for row in rows[1:]:
            step, rest = row.split("\t", 1)
            f.write(f"{int(step) + offset}\t{rest}\n")
    return len(rows) - 1


def adopt(arm: Path, trunk: Path) -> int:
    """-> the trunk's new step. Raises SystemExit when the arm did not branch from the trunk's
    current checkpoint."""
    a = torch.load(arm / "ckpt.pt", map_location="cpu", weights_only=False)
    t = torch.load(trunk / "ckpt.pt", map_location="cpu", weights_only=False)
    t_prior, a_prior = prior_training(t), prior_training(a)
    if a_prior["steps"] != t_prior["steps"] + t["step"]:
        raise SystemExit(f"{arm} started from {a_prior['steps']:,} steps of training, the trunk "
                         f"has {t_prior['steps'] + t['step']:,}: not its branch point")
    offset = t["step"]
    a["step"] += offset
    a["wall_seconds"] += t["wall_seconds"]
    a["cpu_seconds"] = a.get("cpu_seconds", 2 * a["wall_seconds"]) + t.get(
        "cpu_seconds", 2 * t["wall_seconds"])
    a["prior"] = t_prior
    a["args"] = {**a.get("args", {}), "run": str(trunk), "init": None}
    save_atomic(a, trunk / "ckpt.pt")
    opt = arm / "opt.pt"
    if opt.exists():
        o = torch.load(opt, map_location="cpu", weights_only=False)
        o["step"] += offset
        save_atomic(o, trunk / "opt.pt")
    else:
        (trunk / "opt.pt").unlink(missing_ok=True)
    for name in ("log.tsv", "eval.tsv"):
        n = _append_rows(arm / name, trunk / name, offset)
        print(f"{trunk / name}: {n} rows of {arm / name} appended (steps + {offset:,})")
    return a["step"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.adopt", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arm", type=Path, help="the arm's run directory")
    ap.add_argument("trunk", type=Path, help="the trunk's run directory (stopped at the branch)")
    args = ap.parse_args(argv)
    step = adopt(args.arm, args.trunk)
    print(f"{args.trunk} now continues {args.arm}: step {step:,}")


if __name__ == "__main__":
    main()
