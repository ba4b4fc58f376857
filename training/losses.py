"""Training objectives. Rates are computed in fp32 from fp32 likelihoods."""

from __future__ import annotations

import torch

from lic_codec.models.lic import bits_per_pixel


def edge_weights(height: int, width: int, band: int, weight: float) -> torch.Tensor:
    """[1, 1, H, W]: ``weight`` in a band of ``band`` pixels along the four edges, 1 inside,
    scaled to a mean of 1 (so lambda keeps its meaning). Why: a crop's edges are an image's
    edges, where the synthesis meets its zero padding, and they are a few percent of its
    pixels: decoded images came back worse along their borders and far worse at their
    corners (issue 42, item 7; results/robustness.md)."""
    w = torch.ones(1, 1, height, width)
    if band > 0 and weight != 1.0:
        w[..., :band, :] = w[..., -band:, :] = weight
        w[..., :, :band] = w[..., :, -band:] = weight
    return w / w.mean()


def rate_distortion(out: dict, x: torch.Tensor, lmbda: torch.Tensor, l1: float = 0.0,
                    channel_rate: torch.Tensor | None = None, power: float = 0.0,
                    edges: torch.Tensor | None = None) -> dict:
    """loss = mean_b(lambda_b * 255^2 * MSE_b + bpp_b + l1 * sum|y_b| / pixels).

    ``objective`` is what training minimises: the loss, or with ``power`` P > 0 the crops'
    losses weighed by loss_b^-P (held constant, normalised to sum to one). Why: a high rate
    position's loss is several times a low one's, so in a batch of mixed positions the high
    rates steer the shared weights; with P = 1 every position counts by its relative change
    (the gradient of mean_b log loss_b), as BD-rate counts rate. The normalisation keeps the
    gradient norm, which the spike guard watches, independent of how small the losses are;
    the step is clipped anyway. Each crop's own balance of distortion and rate (its lambda)
    is unchanged.

    The L1 term on the (gained) latent pushes whole channels to zero, which the coder then
    skips (Fu et al. 2024). ``channel_rate`` [M] weighs each latent channel's rate in the loss
    (see ``new_channel_rate_weight``); the reported bpp is always the full one. ``edges``
    ([1, 1, H, W], see ``edge_weights``) weighs each pixel's squared error in the loss; the
    reported MSE and PSNR stay the plain ones."""
    num_pixels = x.shape[2] * x.shape[3]
    err = (out["x_hat"].float() - x).pow(2)
    mse = err.flatten(1).mean(1)
    distortion = mse if edges is None else (err * edges).flatten(1).mean(1)
    bpp = bits_per_pixel(out["likelihoods"], num_pixels)
    charged = bpp
    if channel_rate is not None:
        y_bits = torch.log2(out["likelihoods"]["y"]).sum(dim=(2, 3))  # [B, M], negative
        charged = bpp + (y_bits * (1 - channel_rate)).sum(1) / num_pixels
    loss = lmbda * 255.0**2 * distortion + charged
    sparsity = out["y"].float().abs().flatten(1).sum(1) / num_pixels
    if l1:
        loss = loss + l1 * sparsity
    psnr = -10 * torch.log10(mse.clamp_min(1e-10))
    if power:
        weight = loss.detach().clamp_min(1e-6).pow(-power)
        objective = (weight / weight.sum() * loss).sum()
    else:
        objective = loss.mean()
    return {"objective": objective, "loss": loss.mean(), "bpp": bpp.mean(), "mse": mse.mean(),
            "psnr": psnr.mean(), "l1": sparsity.mean()}


def new_channel_rate_weight(M: int, new: list[int], ramp_steps: int, step: int) -> torch.Tensor:
    """[M]: 1 for the old latent channels, step / ramp_steps (at most 1) for the ``new`` ones.

    Why: channels added to a trained network or revived (train.widen) cost rate at once but
    the synthesis cannot use them yet, so the rate term switches them off again; free at
    first, they get the chance to be learned before the rate decides where they pay. Measured
    with a 6,000-step ramp on the grown student: not long enough, they died once charged in
    full (results/training.md, 2026-11-30, fifth session)."""
    w = torch.ones(M)
    w[torch.as_tensor(new, dtype=torch.long)] = min(1.0, step / max(1, ramp_steps))
    return w
