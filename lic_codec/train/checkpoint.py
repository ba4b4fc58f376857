"""Resumable training checkpoints: one file per run, overwritten atomically.

Model weights stay fp32; Adam's moment estimates are stored in bfloat16 (same exponent range
as fp32, half the bytes) so a checkpoint is small enough to commit every session.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..models.config import ModelConfig


def _shrink_optimizer(sd: dict) -> dict:
    state = {
        k: {n: (v.to(torch.bfloat16) if torch.is_tensor(v) and v.dim() > 0 else v)
            for n, v in s.items()}
        for k, s in sd["state"].items()
    }
    return {"state": state, "param_groups": sd["param_groups"]}


def _grow_optimizer(sd: dict) -> dict:
    state = {
        k: {n: (v.float() if torch.is_tensor(v) and v.dtype == torch.bfloat16 else v)
            for n, v in s.items()}
        for k, s in sd["state"].items()
    }
    return {"state": state, "param_groups": sd["param_groups"]}


def save_checkpoint(path, model, opt, aux_opt, step, wall, seed, cfg: ModelConfig, args) -> None:
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": _shrink_optimizer(opt.state_dict()),
            "aux_optimizer": aux_opt.state_dict(),
            "step": step,
            "wall_seconds": wall,
            "seed": seed,
            "config": cfg.to_dict(),
            "args": args,
        },
        tmp,
    )
    os.replace(tmp, path)


def load_checkpoint(path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    state["optimizer"] = _grow_optimizer(state["optimizer"])
    return state
