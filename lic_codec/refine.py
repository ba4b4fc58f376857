"""Encoder-side latent refinement, behind ``--effort``: before coding, the latent of the one
image at hand is optimised for the network's own rate-distortion objective at the chosen
quality (Campos et al. 2019, "Content adaptive optimization for neural image compression";
Yang et al. 2020, "Improving inference for neural image compression").

Why: the analysis transform is one amortised guess for every image; a few gradient steps on
this image's latent close part of that gap. Only the encoder works harder: the decoder and
the file format are unchanged, so a refined file decodes like any other. The objective is a
proxy, so the codec codes the unrefined latent and each snapshot and keeps the file with the
lowest real cost (codec.Codec._code): more effort never makes a file worse by that measure.

The objective mirrors training: rate from the bin probabilities of the noisy latent, distortion
from the rounded latent with straight-through gradients. The hyper-latent's own rate (about
1% of the file) is left out; its effect on the latent's distribution is not.
"""

from __future__ import annotations

import math

import torch

from .latent.checkerboard import anchor_mask, bin_likelihood
from .models.layers import quantize_ste

# effort level -> the numbers of Adam steps whose latents are coded as candidates (besides the
# unrefined one; the encoder keeps the cheapest real file). Measured on 6 Kodak images
# (results/effort/): 10 steps -2.0% BD-rate, 25 steps -3.0%, 50 steps only -1.6%: past ~25
# steps the noisy rate proxy, which overcharges near-certain symbols, pulls low-rate latents
# too far.
EFFORT_SNAPSHOTS = {0: (), 1: (10,), 2: (10, 25)}
LEARNING_RATE = 0.003  # latent units are quantization steps: larger steps overshoot
MAX_PIXELS = 1 << 23  # backward passes over bigger images would need several GB


def rd_objective(model, x: torch.Tensor, y: torch.Tensor, t: float,
                 generator: torch.Generator) -> torch.Tensor:
    """lambda * 255^2 * MSE + bits per pixel of the gained latent y [1, M, h, w] for the
    padded image x [1, 3, 16h, 16w] in [0, 1], at rate position t."""
    lat = model.latent
    tt = torch.tensor([float(t)])
    _, inv_gain = model.gains(tt)
    med = lat.z_medians.view(1, -1, 1, 1)
    z_hat = quantize_ste(lat.h_a(y) - med) + med
    hyper = lat.h_s(z_hat)
    mu_a, s_a = lat.params_anchor(hyper).chunk(2, 1)
    anchors = anchor_mask(y.shape[2], y.shape[3])
    y_anchor = (quantize_ste(y - mu_a) + mu_a) * anchors
    mu_n, s_n = lat.params_nonanchor(torch.cat([hyper, lat.context_of(y_anchor)], 1)).chunk(2, 1)
    mu = torch.where(anchors, mu_a, mu_n)
    scales = torch.where(anchors, s_a, s_n)
    noisy = y + torch.rand(y.shape, generator=generator) - 0.5
    lik = torch.where(anchors, bin_likelihood(noisy, mu, scales, lat.dists["anchor"]),
                      bin_likelihood(noisy, mu, scales, lat.dists["nonanchor"]))
    bpp = -torch.log(lik).sum() / (math.log(2) * x.shape[2] * x.shape[3])
    x_hat = model.g_s((quantize_ste(y - mu) + mu) * inv_gain, model.decoder_scales(tt))
    mse = (x_hat - x).pow(2).mean()
    return model.lmbda(tt)[0] * 255.0**2 * mse + bpp


def refine_latent(model, x: torch.Tensor, y: torch.Tensor, t: float, snapshots: tuple[int, ...],
                  seed: int = 0) -> list[torch.Tensor]:
    """Gained latent y [1, M, h, w] -> the latents after each number of Adam steps in
    ``snapshots`` (ascending), same shape. Deterministic for a given machine (seeded noise);
    the network is not changed."""
    out: list[torch.Tensor] = []
    if not snapshots:
        return out
    generator = torch.Generator().manual_seed(seed)
    y = y.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([y], lr=LEARNING_RATE)
    with torch.enable_grad():
        for step in range(1, max(snapshots) + 1):
            loss = rd_objective(model, x, y, t, generator)
            (y.grad,) = torch.autograd.grad(loss, [y])  # no gradients for the weights
            opt.step()
            if step in snapshots:
                out.append(y.detach().clone())
    return out
