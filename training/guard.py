"""Skip the optimiser step on a gradient spike.

The teacher's run diverged once (step ~12,300: training loss 4.9 -> 13.5 within 100 steps,
3,500 steps to recover most of it), with the gradient norm clipped to 1.0. Clipping bounds a
step's size but Adam still follows the bad direction; skipping the step when the gradient norm
is far above its recent level is the usual remedy, and costs nothing on ordinary steps.
"""

from __future__ import annotations

import math


class SpikeGuard:
    """Tracks an exponential average of the (pre-clip) gradient norm; ``ok(norm)`` is False for a
    norm above ``factor`` times that average. Skipped norms do not enter the average, and no step
    is skipped during the first ``warmup`` observations (also after a resume)."""

    def __init__(self, factor: float = 10.0, decay: float = 0.99, warmup: int = 100):
        self.factor, self.decay, self.warmup = factor, decay, warmup
        self.mean = 0.0
        self.seen = 0
        self.skipped = 0

    def ok(self, norm: float) -> bool:
        if not math.isfinite(norm) or (self.seen >= self.warmup
                                       and norm > self.factor * self.mean):
            self.skipped += 1
            return False
        self.seen += 1
        w = min(self.decay, 1.0 - 1.0 / self.seen)  # a plain mean until the EMA has warmed up
        self.mean = w * self.mean + (1.0 - w) * norm
        return True
