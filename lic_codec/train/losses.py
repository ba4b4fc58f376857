"""Training objectives. Rates are computed in fp32 from fp32 likelihoods."""

from __future__ import annotations

import torch

from ..models.lic import bits_per_pixel


def rate_distortion(out: dict, x: torch.Tensor, lmbda: torch.Tensor, l1: float = 0.0) -> dict:
    """loss = mean_b(lambda_b * 255^2 * MSE_b + bpp_b + l1 * sum|y_b| / pixels).

    The L1 term on the (gained) latent pushes whole channels to zero, which the coder then
    skips (Fu et al. 2024)."""
    num_pixels = x.shape[2] * x.shape[3]
    mse = (out["x_hat"].float() - x).pow(2).flatten(1).mean(1)
    bpp = bits_per_pixel(out["likelihoods"], num_pixels)
    loss = lmbda * 255.0**2 * mse + bpp
    sparsity = out["y"].float().abs().flatten(1).sum(1) / num_pixels
    if l1:
        loss = loss + l1 * sparsity
    psnr = -10 * torch.log10(mse.clamp_min(1e-10))
    return {"loss": loss.mean(), "bpp": bpp.mean(), "mse": mse.mean(), "psnr": psnr.mean(),
            "l1": sparsity.mean()}
