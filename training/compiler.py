"""torch.compile for the training step, with inductor's vector width capped at 256 bits.

Why the cap: on a host with AVX-512 but without AMX (this workplace's machines vary), inductor
2.14's 512-bit kernels under bf16 autocast return NaN gradients for the teacher's
window-attention block followed by its MLP; a fresh random block reproduces it (results/
training.md, 2026-11-30, third session). Every teacher step then had its update skipped by the
spike guard. With 256-bit (AVX2) kernels the gradients are finite; against eager bf16 they
differ as before for the student, and for the teacher by about as much as bf16 differs from
fp32 (experiments/compile_numerics.py). Convolutions and matrix products go to oneDNN either way.
"""

from __future__ import annotations

import torch


def compile_for_training(model: torch.nn.Module):
    """``torch.compile(model)`` with the vector width that gives correct gradients here."""
    import torch._inductor.config as inductor

    inductor.cpp.simdlen = 256
    return torch.compile(model)
