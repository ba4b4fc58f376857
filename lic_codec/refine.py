"""Encoder-side latent refinement, behind ``--effort``: before coding, the latent of the one
image at hand is optimised for the network's own rate-distortion objective at the chosen
quality (Campos et al. 2019, "Content adaptive optimization for neural image compression";
Yang et al. 2020, "Improving inference for neural image compression").

Why: the analysis transform is one amortised guess for every image; gradient steps on this
image's latent close part of that gap. Only the encoder works harder: the decoder and the file
format are unchanged, so a refined file decodes like any other. The objective is a proxy, so
the codec codes the unrefined latent and each refined one and keeps the file with the lowest
real cost (codec.Codec._code): more effort never makes a file worse by that measure.

Rounding is relaxed by stochastic Gumbel annealing (SGA, Yang et al. 2020): each value is a
random soft mix of its floor and ceiling that favours the nearer one and hardens as the
temperature falls, and rate and distortion are both taken at that value. An earlier version
took the rate at the noisy latent (uniform noise, as in training); that proxy overcharges
near-certain symbols at low rates and stopped paying after ~25 steps (results/README.md).
A run may refine the hyper-latent z with y (``Run.hyper``): z is then a free variable,
soft-rounded the same way, and its bits (1-3% of a file) are read from the integer
tables the coder uses; otherwise z is h_a(y), rounded, and only its effect on y's
distribution counts.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .entropy.tables import PRECISION
from .latent.checkerboard import anchor_mask, bin_likelihood
from .models.layers import quantize_ste

class Run(NamedTuple):
    """One refinement run: Adam steps from the unrefined latent; with ``hyper`` the
    hyper-latent is refined with it."""
    steps: int
    hyper: bool = False


# effort level -> the independent refinement runs whose latents are coded as candidates
# besides the unrefined one; the encoder keeps the cheapest real file. Effort 2 repeats effort
# 1's run, so it is never worse. On 6 Kodak images (results/README.md) -2.8% and -7.0% BD-rate
# against effort 0 with y alone; 200 steps gained too little over 100 to offer. Refining the
# hyper-latent too lowered the real cost after 100 steps (8 of 9 probes, level in the ninth)
# but not after 25 at low rates, hence only in effort 2's long run: -7.8% with it.
EFFORT_RUNS = {0: (), 1: (Run(25),), 2: (Run(25), Run(100, hyper=True))}
LEARNING_RATE = 0.005  # latent units are quantization steps
TAU_START, TAU_END = 0.5, 0.05  # SGA temperature, lowered exponentially over a run


def soft_round(v: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """SGA's relaxed rounding (Yang et al. 2020, eq. 6): floor(v) + w, where w in (0, 1) is the
    ceiling's weight in a Gumbel-softmax at temperature tau over the logits -atanh(distance) /
    tau, so the nearer integer is favoured and the choice turns hard as tau -> 0."""
    fl = torch.floor(v)
    r = v - fl  # distance to the floor, [0, 1)
    eps = 1e-5
    logits = torch.stack([-torch.atanh(r.clamp(eps, 1 - eps)),
                          -torch.atanh((1 - r).clamp(eps, 1 - eps))]) / tau  # [2, *v.shape]
    u = torch.rand(logits.shape, generator=generator).clamp_min(1e-20)
    gumbel = -torch.log(-torch.log(u))
    return fl + torch.softmax((logits + gumbel) / tau, 0)[1]


def z_bit_costs(lat) -> tuple[torch.Tensor, torch.Tensor]:
    """The hyper-latent's cost in bits from the integer tables the coder uses -> (costs
    [Nh, L + 2], lowest symbol [Nh]): column k + 1 holds symbol lowest + k; the first and
    the last column, like every bin past a channel's range, cost the escape bin plus the 32
    bits of the escaped value."""
    tables = lat.z_tables
    counts = torch.from_numpy(tables.counts).double()  # [Nh, L]
    sizes = torch.from_numpy(tables.sizes).long()
    escape = -torch.log2(counts.gather(1, sizes[:, None]) / (1 << PRECISION)) + 32  # [Nh, 1]
    regular = torch.arange(counts.shape[1])[None, :] < sizes[:, None]
    bits = torch.where(regular, -torch.log2(counts.clamp_min(1) / (1 << PRECISION)), escape)
    costs = torch.cat([escape, bits, escape], 1).float()
    return costs, torch.from_numpy(tables.offsets).long()


def z_rate(costs: torch.Tensor, lowest: torch.Tensor, z_sym: torch.Tensor) -> torch.Tensor:
    """Bits of a soft-rounded hyper-latent z_sym [1, Nh, h, w] (symbols: z minus the medians):
    floor(v) + w costs (1 - w) times the floor's bits plus w times the ceiling's, the
    expected cost of SGA's random choice between the two."""
    nh = z_sym.shape[1]
    fl = torch.floor(z_sym.detach())
    w = z_sym - fl
    col = (fl.long() - lowest.view(1, -1, 1, 1) + 1).clamp(0, costs.shape[1] - 1)
    col = col.view(nh, -1)  # [Nh, h*w]
    lo = costs.gather(1, col)
    hi = costs.gather(1, (col + 1).clamp_max(costs.shape[1] - 1))
    return ((1 - w.view(nh, -1)) * lo + w.view(nh, -1) * hi).sum()


def rd_objective(model, x: torch.Tensor, y: torch.Tensor, t: float, tau: float,
                 generator: torch.Generator, z: torch.Tensor | None = None,
                 z_costs: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """lambda * 255^2 * MSE + bits per pixel of the gained latent y [1, M, h, w] for the
    padded image x [1, 3, 16h, 16w] in [0, 1], at rate position t, with each pass's latent
    soft-rounded around its mean as the coder rounds it. Without z the hyper-latent is
    h_a(y), rounded, and its own rate is left out; with z [1, Nh, h/4, w/4] (and z_costs
    from z_bit_costs) it is soft-rounded too and its bits are counted."""
    lat = model.latent
    tt = torch.tensor([float(t)])
    _, inv_gain = model.gains(tt)
    med = lat.z_medians.view(1, -1, 1, 1)
    z_bits = 0.0
    if z is None:
        z_hat = quantize_ste(lat.h_a(y) - med) + med
    else:
        z_sym = soft_round(z - med, tau, generator)
        z_hat = z_sym + med
        if z_costs is None:
            raise ValueError("refining z needs z_costs")
        z_bits = z_rate(z_costs[0], z_costs[1], z_sym)
    hyper = lat.h_s(z_hat)
    mu_a, s_a = lat.params_anchor(hyper).chunk(2, 1)
    anchors = anchor_mask(y.shape[2], y.shape[3])
    y_anchor = soft_round(y - mu_a, tau, generator) + mu_a
    mu_n, s_n = lat.params_nonanchor(torch.cat([hyper, lat.context_of(y_anchor * anchors)], 1)
                                     ).chunk(2, 1)
    y_soft = torch.where(anchors, y_anchor, soft_round(y - mu_n, tau, generator) + mu_n)
    mu = torch.where(anchors, mu_a, mu_n)
    scales = torch.where(anchors, s_a, s_n)
    lik = torch.where(anchors, bin_likelihood(y_soft, mu, scales, lat.dists["anchor"]),
                      bin_likelihood(y_soft, mu, scales, lat.dists["nonanchor"]))
    bits = -torch.log(lik).sum() / math.log(2) + z_bits
    bpp = bits / (x.shape[2] * x.shape[3])
    x_hat = model.g_s(y_soft * inv_gain, model.decoder_scales(tt))
    mse = (x_hat - x).pow(2).mean()
    return model.lmbda(tt)[0] * 255.0**2 * mse + bpp


def refine_latent(model, x: torch.Tensor, y: torch.Tensor, t: float, runs: tuple[Run, ...],
                  seed: int = 0) -> list[tuple]:
    """Gained latent y [1, M, h, w] -> (y, z) after each of ``runs`` (each starts from y): y
    the same shape, z the refined hyper-latent [1, Nh, h/4, w/4] or None (h_a(y)) where the
    run leaves it. Deterministic for a given machine (seeded); the network is not changed."""
    found = []
    for run in runs:
        last = anneal(model, x, y, t, run.steps, seed=seed, joint=run.hyper)[-1]
        found.append(last if run.hyper else (last, None))
    return found


def anneal(model, x: torch.Tensor, y: torch.Tensor, t: float, steps: int,
           lr: float = LEARNING_RATE, tau_start: float = TAU_START, tau_end: float = TAU_END,
           seed: int = 0, keep: tuple[int, ...] = (), joint: bool = False,
           lr_end: float | None = None) -> list:
    """One SGA run of ``steps`` Adam steps on a copy of y, the temperature (and, with
    ``lr_end``, the learning rate) lowered exponentially over the run -> the latents after
    each step count in ``keep`` (experiments/sga_probe.py looks at mid-run latents), then the last.
    With ``joint`` the hyper-latent is refined too, from h_a(y), and each entry is a pair
    (y, z) to code with compress(y, z)."""
    generator = torch.Generator().manual_seed(seed)
    v = y.detach().clone().requires_grad_(True)
    free = [v]
    z = z_costs = None
    if joint:
        with torch.no_grad():
            z = model.latent.h_a(v.detach()).requires_grad_(True)
        free.append(z)
        z_costs = z_bit_costs(model.latent)
    opt = torch.optim.Adam(free, lr=lr)

    def snapshot():
        return (v.detach().clone(), z.detach().clone()) if joint else v.detach().clone()

    out: list = []
    with torch.enable_grad():
        for step in range(steps):
            frac = step / max(1, steps - 1)
            tau = tau_start * (tau_end / tau_start) ** frac
            if lr_end is not None:
                opt.param_groups[0]["lr"] = lr * (lr_end / lr) ** frac
            loss = rd_objective(model, x, v, t, tau, generator, z, z_costs)
            grads = torch.autograd.grad(loss, free)  # no gradients for the weights
            for p, g in zip(free, grads):
                p.grad = g
            opt.step()
            if step + 1 in keep:
                out.append(snapshot())
    return out + [snapshot()]
