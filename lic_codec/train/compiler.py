"""torch.compile for the training step, with inductor's vector width capped at 256 bits.

Why the cap: on a host with AVX-512 but without AMX (this workplace's machines vary), inductor
2.14's 512-bit bf16 kernels return NaN gradients for the teacher's window-attention block
followed by its MLP (a fresh random block reproduces it: experiments/compile_numerics.py, and
results/training.md, 2026-11-30 third session). Every teacher step then had its update skipped by the
spike guard. With 256-bit (AVX2) kernels the gradients are finite and agree with eager bf16 as
closely as before. Convolutions and matrix products go to oneDNN either way.
"""

from __future__ import annotations

import torch


def compile_for_training(model: torch.nn.Module):
    """``torch.compile(model)`` with the vector width that gives correct gradients here."""
    import torch._inductor.config as inductor

    inductor.cpp.simdlen = 256
    return torch.compile(model)
