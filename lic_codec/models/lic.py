"""The whole network: transforms + variable-rate gains + checkerboard hyperprior latent.

Variable rate (Cui et al., "Asymmetric gained deep image compression", CVPR 2021): each of
the K rate points has a learned per-channel gain applied to the latent before quantization
and an inverse gain applied after. A continuous rate position ``t`` in [0, K-1] interpolates
the gains in log space, so one network serves every quality.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..latent.checkerboard import CheckerboardHyperprior
from .config import ModelConfig
from .transforms import TRANSFORMS

# The transforms run on channels-last tensors (their weights too: registry._load): oneDNN's
# convolutions are 1.5-2x faster so on CPU. The float64 latent path keeps the default layout.
CHANNELS_LAST = torch.channels_last


class LicModel(nn.Module):
    def __init__(self, cfg: ModelConfig, trainable: bool = True):
        super().__init__()
        self.cfg = cfg
        self.g_a, self.g_s = TRANSFORMS[cfg.arch](cfg)
        self.latent = CheckerboardHyperprior(cfg.M, cfg.Nh, trainable, cfg.anchor_dist,
                                             cfg.nonanchor_dist, cfg.entropy_width)
        lam = torch.tensor(cfg.lambdas, dtype=torch.float64)
        # MSE-optimal step size scales like lambda^-1/2: start the gains there.
        init = 0.5 * torch.log(lam / lam.log().mean().exp()).float()
        self.log_gain = nn.Parameter(init[:, None].repeat(1, cfg.M))
        self.log_inv_gain = nn.Parameter(-init[:, None].repeat(1, cfg.M))
        self.register_buffer("log_lambdas", lam.log().float(), persistent=False)
        if cfg.rate_modulation:  # starts at scale 1: the same function as without
            self._mod_widths = [self.g_s[i].beta.numel() for i in self.g_s.modulated()]
            self.log_dec_scale = nn.Parameter(torch.zeros(cfg.num_levels, sum(self._mod_widths)))

    # ---- rate position ----------------------------------------------------------------
    def _interp(self, table: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Linear interpolation of table rows [K, ...] at positions t [B] -> [B, ...]."""
        t = t.clamp(0, self.cfg.num_levels - 1)
        lo = t.floor().long().clamp(max=self.cfg.num_levels - 2)
        frac = (t - lo).view(-1, *([1] * (table.dim() - 1)))
        return table[lo] * (1 - frac) + table[lo + 1] * frac

    def gains(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """t: [B] -> gain, inverse gain, each [B, M, 1, 1]."""
        g = self._interp(self.log_gain, t).exp()[:, :, None, None]
        ig = self._interp(self.log_inv_gain, t).exp()[:, :, None, None]
        return g, ig

    def decoder_scales(self, t: torch.Tensor) -> list[torch.Tensor] | None:
        """t: [B] -> the synthesis' per-rate channel scales, one [B, C, 1, 1] per inverse GDN
        (None for networks without rate modulation)."""
        if not self.cfg.rate_modulation:
            return None
        s = self._interp(self.log_dec_scale, t).exp()  # [B, sum C]
        return [c[:, :, None, None] for c in s.split(self._mod_widths, dim=1)]

    def lmbda(self, t: torch.Tensor) -> torch.Tensor:
        return self._interp(self.log_lambdas, t).exp()

    # ---- training ---------------------------------------------------------------------
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> dict:
        """x: [B, 3, H, W] in [0, 1], H and W multiples of 64; t: [B] rate positions.
        Returns the reconstruction, the fp32 likelihoods and the gained latent y."""
        g, ig = self.gains(t)
        y = self.g_a(x) * g.to(x.dtype)
        y_hat, likelihoods = self.latent(y)
        scales = self.decoder_scales(t)
        if scales is not None:
            scales = [c.to(y.dtype) for c in scales]
        x_hat = self.g_s((y_hat * ig).to(y.dtype), scales)
        return {"x_hat": x_hat, "likelihoods": likelihoods, "y": y}

    # ---- inference --------------------------------------------------------------------
    def analyse(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Image [1, 3, H, W] -> gained latent [1, M, H/16, W/16], ready to quantize."""
        g, _ = self.gains(torch.tensor([float(t)]))
        return self.g_a(x.contiguous(memory_format=CHANNELS_LAST)) * g

    def synthesize(self, y_hat: torch.Tensor, t: float, active: torch.Tensor | None = None):
        """Gained latent -> image. Channels not in ``active`` are zero and are skipped by
        slicing the first transposed convolution's weights ([M, N, k, k] -> [A, N, k, k])."""
        tt = torch.tensor([float(t)])
        _, ig = self.gains(tt)
        scales = self.decoder_scales(tt)
        y = (y_hat * ig).contiguous(memory_format=CHANNELS_LAST)
        first, rest = self.g_s[0], self.g_s[1:]  # rest: a Synthesis with every inverse GDN
        if active is None:
            return rest(first(y), scales)
        idx = torch.nonzero(active).flatten()
        out = F.conv_transpose2d(
            y[:, idx], first.weight[idx], first.bias, first.stride, first.padding,
            first.output_padding,
        )
        return rest(out, scales)

    @classmethod
    def from_state_dict(cls, config: dict, state: dict, trainable: bool = True) -> "LicModel":
        """The one constructor from a saved network (checkpoint, weights file, export): its
        config dict and state dict, float16 copies upcast and older layouts accepted
        (upgrade_state)."""
        model = cls(ModelConfig.from_dict(config), trainable)
        model.load_state_dict(upgrade_state(
            {k: v.float() if v.is_floating_point() else v for k, v in state.items()}))
        return model

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def inference_state(state: dict) -> dict:
    """The part of a state dict that coding needs (no CompressAI entropy-model internals)."""
    return {k: v for k, v in state.items()
            if not k.startswith(("latent.entropy_bottleneck.", "latent.gaussian_conditional."))}


def upgrade_state(state: dict) -> dict:
    """Accept checkpoints written with CompressAI's GDN (extra reparametrization buffers)."""
    state = {k: v for k, v in state.items()
             if "_reparam." not in k and not k.endswith("context.mask")}
    if "latent.z_medians" not in state and "latent.entropy_bottleneck.quantiles" in state:
        state["latent.z_medians"] = state["latent.entropy_bottleneck.quantiles"][:, 0, 1].clone()
    return state


def bits_per_pixel(likelihoods: dict, num_pixels: int) -> torch.Tensor:
    """Per-image estimated bpp [B] from the likelihood tensors."""
    total = 0
    for lik in likelihoods.values():
        total = total + torch.log(lik).flatten(1).sum(1)
    return total / (-math.log(2) * num_pixels)
