"""Analysis (g_a) and synthesis (g_s) transforms of the student and the teacher.

Both map an image [B, 3, H, W] to a latent [B, M, H/16, W/16] and back. The first layer of
every g_s is a transposed convolution over the M latent channels, so the decoder can drop the
channels the encoder found all-zero by slicing that layer's weights.
"""

from __future__ import annotations

import torch.nn as nn

from .config import ModelConfig
from .layers import GDN, DeformableResidual, ResidualBlock, WindowAttentionV2, conv, deconv


class Synthesis(nn.Sequential):
    """g_s as a Sequential (parameter names as before) whose forward can scale the channels
    after each inverse GDN: ``scales`` holds one [B, C, 1, 1] tensor per inverse GDN, in
    order (LicModel's per-rate modulation), or is None."""

    def modulated(self) -> list[int]:
        """Indexes of the layers whose output is scaled."""
        return [i for i, m in enumerate(self) if isinstance(m, GDN) and m.inverse]

    def forward(self, x, scales=None):
        if scales is None:
            return super().forward(x)
        k = 0
        for m in self:
            x = m(x)
            if isinstance(m, GDN) and m.inverse:
                x = x * scales[k]
                k += 1
        return x


def student_transforms(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Four stride-2 convolutions with GDN (Balle et al. 2018) at small width: fast on a CPU.
    ``cfg.analysis_blocks`` residual blocks at 1/4 and at 1/8 deepen g_a only (the encoder);
    with none the layer indexes are those of every student before them."""
    N, M = cfg.N, cfg.M
    blocks = [ResidualBlock(N) for _ in range(2 * cfg.analysis_blocks)]
    at4, at8 = blocks[: cfg.analysis_blocks], blocks[cfg.analysis_blocks :]
    g_a = nn.Sequential(
        conv(3, N), GDN(N), conv(N, N), GDN(N), *at4, conv(N, N), GDN(N), *at8, conv(N, M)
    )
    g_s = Synthesis(
        deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
        deconv(N, N), GDN(N, inverse=True), deconv(N, 3, edge_pad=cfg.edge_pad),
    )
    return g_a, g_s


def teacher_transforms(cfg: ModelConfig) -> tuple[nn.Module, nn.Module]:
    """Wider transforms with the seed papers' additions: residual blocks, the deformable
    residual module, and Swin-V2 window attention. Everything extra sits where the maps are
    small (residual blocks at 1/4, the deformable module at 1/8, attention at 1/8 and 1/16 of
    the image): on a CPU a deformable convolution or a residual block at 1/2 resolution costs
    more than the whole student step."""
    N, M, R = cfg.N, cfg.M, cfg.res_blocks

    def res(ch: int) -> list[nn.Module]:
        return [ResidualBlock(ch) for _ in range(R)]

    def attn(ch: int) -> WindowAttentionV2:
        return WindowAttentionV2(ch, heads=cfg.attn_heads, window=cfg.attn_window)

    deform = [DeformableResidual(N)] if cfg.deformable else []
    g_a = nn.Sequential(
        conv(3, N), GDN(N),
        conv(N, N), GDN(N), *res(N),
        conv(N, N), GDN(N), *deform, attn(N),
        conv(N, M), attn(M),
    )
    g_s = Synthesis(
        deconv(M, N), attn(N), GDN(N, inverse=True),
        deconv(N, N), *res(N), GDN(N, inverse=True),
        deconv(N, N), GDN(N, inverse=True),
        deconv(N, 3, edge_pad=cfg.edge_pad),
    )
    return g_a, g_s


TRANSFORMS = {"student": student_transforms, "teacher": teacher_transforms}
