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
near-certain symbols at low rates and stopped paying after ~25 steps (results/README.md). The
hyper-latent's own rate (about 1% of the file) is left out; its effect on the latent's
distribution is not.
"""

from __future__ import annotations

import math

import torch

from .latent.checkerboard import anchor_mask, bin_likelihood
from .models.layers import quantize_ste

# effort level -> the lengths (Adam steps) of the independent refinement runs whose latents
# are coded as candidates besides the unrefined one; the encoder keeps the cheapest real file.
# Effort 2 repeats effort 1's run, so it is never worse. On 6 Kodak images (results/README.md)
# -2.8% and -7.0% BD-rate against effort 0; 200 steps gained too little over 100 to offer.
EFFORT_RUNS = {0: (), 1: (25,), 2: (25, 100)}
LEARNING_RATE = 0.005  # latent units are quantization steps
TAU_START, TAU_END = 0.5, 0.05  # SGA temperature, lowered exponentially over a run
MAX_PIXELS = 1 << 23  # backward passes over bigger images would need several GB


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


def rd_objective(model, x: torch.Tensor, y: torch.Tensor, t: float, tau: float,
                 generator: torch.Generator) -> torch.Tensor:
    """lambda * 255^2 * MSE + bits per pixel of the gained latent y [1, M, h, w] for the
    padded image x [1, 3, 16h, 16w] in [0, 1], at rate position t, with each pass's latent
    soft-rounded around its mean as the coder rounds it."""
    lat = model.latent
    tt = torch.tensor([float(t)])
    _, inv_gain = model.gains(tt)
    med = lat.z_medians.view(1, -1, 1, 1)
    z_hat = quantize_ste(lat.h_a(y) - med) + med
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
    bpp = -torch.log(lik).sum() / (math.log(2) * x.shape[2] * x.shape[3])
    x_hat = model.g_s(y_soft * inv_gain, model.decoder_scales(tt))
    mse = (x_hat - x).pow(2).mean()
    return model.lmbda(tt)[0] * 255.0**2 * mse + bpp


def refine_latent(model, x: torch.Tensor, y: torch.Tensor, t: float, runs: tuple[int, ...],
                  seed: int = 0) -> list[torch.Tensor]:
    """Gained latent y [1, M, h, w] -> the latent after each run in ``runs`` (numbers of Adam
    steps; each run starts from y), same shape. Deterministic for a given machine (seeded);
    the network is not changed."""
    return [anneal(model, x, y, t, steps, seed=seed)[-1] for steps in runs]


def anneal(model, x: torch.Tensor, y: torch.Tensor, t: float, steps: int,
           lr: float = LEARNING_RATE, tau_start: float = TAU_START, tau_end: float = TAU_END,
           seed: int = 0, keep: tuple[int, ...] = ()) -> list[torch.Tensor]:
    """One SGA run of ``steps`` Adam steps on a copy of y, the temperature lowered
    exponentially from tau_start to tau_end over the run -> the latents after each step
    count in ``keep`` (experiments/sga_probe.py looks at mid-run latents), then the last."""
    generator = torch.Generator().manual_seed(seed)
    v = y.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([v], lr=lr)
    out: list[torch.Tensor] = []
    with torch.enable_grad():
        for step in range(steps):
            tau = tau_start * (tau_end / tau_start) ** (step / max(1, steps - 1))
            loss = rd_objective(model, x, v, t, tau, generator)
            (v.grad,) = torch.autograd.grad(loss, [v])  # no gradients for the weights
            opt.step()
            if step + 1 in keep:
                out.append(v.detach().clone())
    return out + [v.detach().clone()]
