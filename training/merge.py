"""Two cores, one network: branch a run, train the copies on other crops, average them back.

Why: one student step does not use a second thread, and a second process sharing each step's
gradients (``--workers 2``) bought larger batches that did not train faster per step
(results/training.md). Averaging copies of one run that trained apart for some thousand steps
on different crops ("model soups", local SGD) can help where the larger batch did not: the
average of two points of the same basin usually sits lower than either.

    python -m training.merge branch runs/student_v4 runs/sweep/v4_b7 --seed 7
    # train both (same flags, --steps S), then, with both stopped at step S:
    python -m training.merge merge runs/student_v4 runs/sweep/v4_b7

``branch`` copies the run (checkpoint, Adam's state, logs) at its current step with another
data-order seed and records where it branched. ``merge`` needs every run at the same step; it
writes into the trunk the mean of the weights, of their moving averages and of Adam's moments,
and counts the branches' CPU time since they branched into the trunk's.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from .checkpoint import save_atomic

FILES = ("ckpt.pt", "opt.pt", "log.tsv", "eval.tsv")


def branch(trunk: Path, new: Path, seed: int) -> int:
    """Copy ``trunk`` to ``new`` with data-order seed ``seed`` -> the branch's step."""
    if new.exists():
        raise SystemExit(f"{new} exists: a branch starts in a new folder")
    state = torch.load(trunk / "ckpt.pt", map_location="cpu", weights_only=False)
    if seed == state["seed"]:
        raise SystemExit(f"the trunk's seed is {seed}: a branch needs other crops")
    new.mkdir(parents=True)
    for name in FILES[1:]:
        if (trunk / name).exists():
            shutil.copy2(trunk / name, new / name)
    state["seed"] = seed
    state["branch"] = {"trunk": str(trunk), "step": state["step"],
                       "cpu_seconds": state["cpu_seconds"]}
    save_atomic(state, new / "ckpt.pt")
    return state["step"]


def _mean(tensors: list) -> object:
    """The mean of floating-point tensors (in float32, then the first one's dtype); anything
    else (integer buffers, numbers) is taken from the first."""
    first = tensors[0]
    if not torch.is_tensor(first) or not first.is_floating_point():
        return first
    return (sum(t.float() for t in tensors) / len(tensors)).to(first.dtype)


def _mean_dicts(dicts: list[dict]) -> dict:
    return {k: _mean([d[k] for d in dicts]) for k in dicts[0]}


def merge(trunk: Path, branches: list[Path]) -> dict:
    """Average ``branches`` into ``trunk`` (all at one step, branched from it) -> the new
    trunk checkpoint."""
    t = torch.load(trunk / "ckpt.pt", map_location="cpu", weights_only=False)
    runs = [t]
    for b in branches:
        s = torch.load(b / "ckpt.pt", map_location="cpu", weights_only=False)
        origin = s.get("branch")
        if not origin or Path(origin["trunk"]).resolve() != trunk.resolve():
            raise SystemExit(f"{b} is not a branch of {trunk} (train.merge branch makes one)")
        if s["step"] != t["step"] or s["config"] != t["config"]:
            raise SystemExit(f"{b} is at step {s['step']:,}, the trunk at {t['step']:,}: "
                             "stop both at one step (--steps)")
        if set(s["model"]) != set(t["model"]) or set(s.get("ema", {})) != set(t.get("ema", {})):
            raise SystemExit(f"{b} holds other parameters than the trunk")
        t["cpu_seconds"] += s["cpu_seconds"] - origin["cpu_seconds"]
        runs.append(s)
    t["model"] = _mean_dicts([r["model"] for r in runs])
    if "ema" in t:
        t["ema"] = _mean_dicts([r["ema"] for r in runs])
    _merge_optimizers(trunk, branches, t["step"])
    save_atomic(t, trunk / "ckpt.pt")
    return t


def _merge_optimizers(trunk: Path, branches: list[Path], step: int) -> None:
    """Average Adam's moments when every run has them for this step; otherwise drop the
    trunk's, and the resume restarts Adam with a warm-up."""
    paths = [p / "opt.pt" for p in (trunk, *branches)]
    states = [torch.load(p, map_location="cpu", weights_only=False) for p in paths
              if p.exists()]
    if len(states) < len(paths) or any(s.get("step") != step for s in states):
        (trunk / "opt.pt").unlink(missing_ok=True)
        return
    merged = states[0]
    for k, per_param in merged["optimizer"]["state"].items():
        for name in per_param:
            if name != "step":
                per_param[name] = _mean([s["optimizer"]["state"][k][name] for s in states])
    save_atomic(merged, trunk / "opt.pt")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.merge", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="action", required=True)
    b = sub.add_parser("branch", help="copy a run to train it on other crops")
    b.add_argument("trunk", type=Path)
    b.add_argument("new", type=Path)
    b.add_argument("--seed", type=int, required=True, help="the branch's data-order seed")
    m = sub.add_parser("merge", help="average branches back into their trunk")
    m.add_argument("trunk", type=Path)
    m.add_argument("branches", type=Path, nargs="+")
    args = ap.parse_args(argv)
    if args.action == "branch":
        step = branch(args.trunk, args.new, args.seed)
        print(f"{args.new}: a branch of {args.trunk} at step {step:,}, seed {args.seed}")
    else:
        t = merge(args.trunk, args.branches)
        print(f"{args.trunk}: the mean of itself and {len(args.branches)} branch(es) at step "
              f"{t['step']:,}, {t['cpu_seconds'] / 3600:.2f} CPU-hours")


if __name__ == "__main__":
    main()
