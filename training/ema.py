"""An exponential moving average of the weights, which the evaluations and exports use.

Why: at the learning rates that still make progress here (2e-4 to 5e-4 with 2 crops a step)
the weights jitter. A student's Kodak curve moved by 7% BD-rate between two evaluations
3,000 steps apart, all qualities down by 0.1-0.5 dB at once (results/training.md, 2026-11-30
seventh session). That noise hid the trend the compute plan is based on, and a checkpoint
shipped at a bad moment would keep the loss. The average of the last ~1 / (1 - decay) steps
has most of a learning-rate decay's benefit without stopping the run; training itself is
unchanged.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class WeightAverage:
    """avg <- decay * avg + (1 - decay) * weights, after every optimiser step, over the
    model's parameters (buffers are taken from the live model when the average is used)."""

    def __init__(self, model: nn.Module, decay: float, state: dict | None = None):
        self.decay = decay
        params = dict(model.named_parameters())
        self.names = list(params)
        self.live = [params[n].data for n in self.names]
        state = state or {}
        # a saved average continues; missing entries (a new run, a new parameter) start at
        # the current weights, so there is no zero-start bias to correct
        self.avg = [state[n].float().clone() if n in state else w.detach().clone()
                    for n, w in zip(self.names, self.live)]

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self.avg, self.live, 1.0 - self.decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.avg))

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged parameters into ``model`` (a copy of the trained one)."""
        params = dict(model.named_parameters())
        for n, a in zip(self.names, self.avg):
            params[n].data.copy_(a)


def averaged_state(state: dict) -> dict:
    """A checkpoint's model state with its averaged parameters in place of the trained ones
    (the checkpoint's own model state when it has no average)."""
    return {**state["model"], **state.get("ema", {})}
