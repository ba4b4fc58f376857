"""Resumable training checkpoints, one pair of files per run, overwritten atomically:

- ``ckpt.pt``: fp32 model (and its moving average, ``--ema``), step, wall time, CPU time,
  data-order seed, config and arguments. Small enough to commit every session.
- ``opt.pt``: Adam's state (moments in bfloat16: same range as fp32, half the bytes) for an
  exact resume within a session. Not committed (it would double the size); a run resumed
  without it restarts Adam with a short warm-up.

Before a checkpoint is committed, ``python -m training.checkpoint half CKPT...`` rounds
its model to float16 (half the bytes in the repository; the rounding, 2^-11 relative, is
smaller than one Adam step). Loading upcasts: ``load_state_dict`` copies into fp32 parameters.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from lic_codec.models.config import ModelConfig
from lic_codec.models.lic import LicModel
from .ema import averaged_state


def _map_state(sd: dict, fn) -> dict:
    state = {k: {n: (fn(v) if torch.is_tensor(v) and v.dim() > 0 else v) for n, v in s.items()}
             for k, s in sd["state"].items()}
    return {"state": state, "param_groups": sd["param_groups"]}


def save_atomic(obj, path: Path) -> None:
    """torch.save through a temporary file renamed into place: never a half-written file."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(path, model, opt, aux_opt, step, wall, seed, cfg: ModelConfig, args,
                    distiller: dict | None = None, cpu: float | None = None,
                    prior: dict | None = None, ema: dict | None = None,
                    branch: dict | None = None) -> None:
    """``distiller``: the distillation adapters' state, kept with the student. ``cpu``: CPU
    seconds consumed by training so far (all threads). ``prior``: the training the weights had
    before this run started from them (see :func:`lineage`). ``ema``: the averaged parameters
    (train/ema.py). ``branch``: where a branch of another run started (train/merge.py)."""
    path = Path(path)
    save_atomic({"optimizer": _map_state(opt.state_dict(), lambda v: v.to(torch.bfloat16)),
           "aux_optimizer": aux_opt.state_dict(), "step": step}, path.with_name("opt.pt"))
    ckpt = {"model": model.state_dict(), "step": step, "wall_seconds": wall,
            "cpu_seconds": wall if cpu is None else cpu, "seed": seed,
            "config": cfg.to_dict(), "args": args}
    if distiller is not None:
        ckpt["distiller"] = distiller
    if prior is not None:
        ckpt["prior"] = prior
    if ema is not None:
        ckpt["ema"] = ema
    if branch is not None:
        ckpt["branch"] = branch
    save_atomic(ckpt, path)


def prior_training(state: dict) -> dict:
    """Steps and CPU seconds the weights had before ``state``'s run started from them (with
    ``--init``), and the runs they passed through. Recorded in the checkpoint when the run
    starts, because the run it branched from may train on and overwrite its file; older
    checkpoints are traced back through their ``--init`` argument."""
    prior = state.get("prior")
    if prior is not None:
        return prior
    init = (state.get("args") or {}).get("init")
    if init and Path(init).exists():
        return lineage(torch.load(init, map_location="cpu", weights_only=False), init)
    return {"steps": 0, "cpu_seconds": 0.0, "runs": []}


def lineage(state: dict, path=None) -> dict:
    """All the training behind a checkpoint's weights: its run's steps and CPU seconds plus
    :func:`prior_training`; ``path`` (the checkpoint's file) is appended to the runs."""
    prior = prior_training(state)
    return {"steps": prior["steps"] + state["step"],
            "cpu_seconds": prior["cpu_seconds"] + state.get("cpu_seconds",
                                                            2 * state["wall_seconds"]),
            "runs": list(prior["runs"]) + ([str(path)] if path else [])}


def load_checkpoint(path) -> dict:
    """The checkpoint, with ``optimizer``/``aux_optimizer`` set to None when ``opt.pt`` is
    missing or belongs to another step. Checkpoints written before CPU time was counted get
    2 x wall time (they all ran on both cores)."""
    path = Path(path)
    state = torch.load(path, map_location="cpu", weights_only=False)
    state.setdefault("cpu_seconds", 2 * state["wall_seconds"])
    state["optimizer"] = state["aux_optimizer"] = None
    opt_path = path.with_name("opt.pt")
    if opt_path.exists():
        o = torch.load(opt_path, map_location="cpu", weights_only=False)
        if o.get("step") == state["step"]:
            state["optimizer"] = _map_state(
                o["optimizer"], lambda v: v.float() if v.dtype == torch.bfloat16 else v)
            state["aux_optimizer"] = o["aux_optimizer"]
    return state


def as_half(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float16 when it survives the rounding as a whole, else unchanged: a tensor
    whose largest value is below float16's smallest normal number (2^-14), like the 1e-9
    likelihood bounds of the entropy models, would flush to zero (a zero bound gave an
    infinite rate on the first training run resumed from a float16 copy), and one out of
    float16's range would become infinite."""
    if not t.is_floating_point() or t.dtype == torch.float16 or t.numel() == 0:
        return t
    h = t.half()
    if not torch.isfinite(h).all() or float(t.abs().max()) < 2.0**-14:
        return t
    return h


def half_copy(path, average_only: bool = False) -> tuple[int, int]:
    """Rewrite a checkpoint with its model weights (and their average) in float16 (see
    :func:`as_half`); -> (bytes before, after). ``average_only``: the moving average becomes
    the model and is not kept twice (half the bytes again). Why: a session whose commits
    are short of room can still commit its run without its optimiser state; the resume
    starts the average afresh from those weights, and Adam from its warm-up (``averaged_at``
    records the step)."""
    path = Path(path)
    before = path.stat().st_size
    state = torch.load(path, map_location="cpu", weights_only=False)
    if average_only and "ema" in state:
        state["model"] = averaged_state(state)
        del state["ema"]
        state["averaged_at"] = state["step"]
    for key in ("model", "ema"):
        if key in state:
            state[key] = {name: as_half(t) for name, t in state[key].items()}
    save_atomic(state, path)
    return before, path.stat().st_size


def source_model(path: Path) -> tuple[dict, LicModel]:
    """A checkpoint and the network it holds, with its moving average of the weights when it
    has one: the start of a reshaped network (widen, narrow, deepen, permute)."""
    state = load_checkpoint(path)
    src = LicModel.from_state_dict(state["config"], averaged_state(state))
    return state, src


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m training.checkpoint")
    ap.add_argument("action", choices=["half"])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--average-only", action="store_true",
                    help="keep only the moving average of the weights, as the model")
    args = ap.parse_args(argv)
    for p in args.checkpoints:
        before, after = half_copy(p, args.average_only)
        print(f"{p}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
