"""Building blocks shared by the student and the teacher transforms.

GDN, the checkerboard-masked convolution and the conv helpers compute exactly what
CompressAI's versions compute (and load the same parameters), but are defined here so that
coding an image never imports CompressAI, whose package import costs seconds (it pulls in
datasets, torch_geometric and pandas). CompressAI is used for training only.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "GDN", "ResidualBlock", "CheckerboardMaskedConv2d", "conv", "deconv", "EdgeDeconv",
    "upsampling_radius", "quantize_ste",
    "WindowAttentionV2", "DeformableResidual",
]


def conv(cin: int, cout: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(cin: int, cout: int, kernel_size: int = 5, stride: int = 2,
           edge_pad: str = "zeros") -> nn.ConvTranspose2d:
    if edge_pad not in ("zeros", "replicate"):
        raise ValueError(f"unknown edge padding {edge_pad!r}")
    cls = EdgeDeconv if edge_pad == "replicate" else nn.ConvTranspose2d
    return cls(cin, cout, kernel_size, stride=stride, output_padding=stride - 1,
               padding=kernel_size // 2)


def upsampling_radius(kernel_size: int, stride: int, padding: int) -> int:
    """How many input positions either side an output pixel of a transposed convolution
    (kernel k, stride s, padding p; output = s x input) reads: tap t of output pixel s*i + a
    comes from input i + (a + p - t) / s where that is an integer."""
    return max(abs((a + padding - t) // stride) for a in range(stride)
               for t in range(kernel_size) if (a + padding - t) % stride == 0)


def replicate_pad(x: torch.Tensor, r: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, H + 2r, W + 2r], the border repeated r times: F.pad's replicate
    mode by concatenation, because torch.compile's backward of replication_pad2d fails on
    channels-last tensors (torch 2.14)."""
    x = torch.cat([x[..., :1, :]] * r + [x] + [x[..., -1:, :]] * r, dim=-2)
    return torch.cat([x[..., :1]] * r + [x] + [x[..., -1:]] * r, dim=-1)


class EdgeDeconv(nn.ConvTranspose2d):
    """A transposed convolution that reads its input extended by replicating its border
    instead of zeros beyond it (the same parameters as nn.ConvTranspose2d).

    Why: with zeros, the pixels at the image's edges, and most at its corners, miss kernel
    taps, and a network must spend its edge latents compensating; a flat colour then comes
    back off in the corners (issue 42, item 7; results/robustness.md). [B, C, H, W] -> pad R each side
    -> [B, C_out, s(H + 2R), s(W + 2R)] -> crop s*R each side -> [B, C_out, sH, sW]."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        (k, _), (s, _), (p, _) = self.kernel_size, self.stride, self.padding
        r = upsampling_radius(k, s, p)
        y = super().forward(replicate_pad(x, r))
        c = s * r
        return y[..., c : y.shape[-2] - c, c : y.shape[-1] - c]


def quantize_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return (torch.round(x) - x).detach() + x


class _LowerBound(torch.autograd.Function):
    """max(x, bound), letting gradients through where they push x up (Balle's trick)."""

    @staticmethod
    def forward(ctx, x, bound: float):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        passes = (x >= ctx.bound) | (grad < 0)
        return passes.to(grad.dtype) * grad, None


class GDN(nn.Module):
    """Generalized divisive normalization (Balle et al. 2016):
    y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2), or x_i * sqrt(...) when inverse.

    beta and gamma are stored reparametrized (sqrt with a pedestal), as in CompressAI."""

    _OFFSET = 2.0**-18

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6,
                 gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        ped = self._OFFSET**2
        self._pedestal = ped
        self._beta_bound = (beta_min + ped) ** 0.5
        self._gamma_bound = ped**0.5
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + ped))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + ped))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        C = x.shape[1]
        beta = _LowerBound.apply(self.beta, self._beta_bound) ** 2 - self._pedestal
        gamma = _LowerBound.apply(self.gamma, self._gamma_bound) ** 2 - self._pedestal
        if not torch.is_grad_enabled() and x.is_contiguous(memory_format=torch.channels_last):
            # Coding: in channels-last memory x is a [pixels, C] matrix, so the norm is one
            # BLAS product and the rest happens in place (3-4x faster than the conv2d path).
            B, _, H, W = x.shape
            flat = x.permute(0, 2, 3, 1).reshape(-1, C)  # a view: [B*H*W, C]
            norm = torch.addmm(beta.to(x.dtype), flat.square(), gamma.t().to(x.dtype))
            norm = norm.sqrt_() if self.inverse else norm.rsqrt_()
            return norm.mul_(flat).view(B, H, W, C).permute(0, 3, 1, 2)  # channels-last
        norm = F.conv2d(x * x, gamma.reshape(C, C, 1, 1).to(x.dtype), beta.to(x.dtype))
        return x * (torch.sqrt(norm) if self.inverse else torch.rsqrt(norm))


class CheckerboardMaskedConv2d(nn.Conv2d):
    """Convolution that sees only the positions of the other checkerboard colour: with
    anchors at (row + col) even, a non-anchor output reads only anchor inputs
    (He et al., CVPR 2021)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mask = torch.ones_like(self.weight.data)
        mask[:, :, 0::2, 0::2] = 0
        mask[:, :, 1::2, 1::2] = 0
        self.register_buffer("mask", mask, persistent=False)  # rebuilt, not stored

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


class ResidualBlock(nn.Module):
    """3x3 conv, LeakyReLU, 3x3 conv, LeakyReLU, plus the input."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        self.act = nn.LeakyReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.conv2(self.act(self.conv1(x))))


class WindowAttentionV2(nn.Module):
    """Swin-Transformer-V2 style block on non-overlapping windows (Liu et al., CVPR 2022).

    Cosine attention with a learned per-head temperature, and a continuous relative position
    bias produced by a small MLP from log-spaced relative coordinates, so the block works for
    any window size. Residual post-norm as in V2. Input and output: [B, C, H, W].
    """

    def __init__(self, dim: int, heads: int = 4, window: int = 8, mlp_ratio: float = 2.0):
        super().__init__()
        self.dim, self.heads, self.window = dim, heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)))
        self.cpb = nn.Sequential(nn.Linear(2, 256), nn.ReLU(inplace=True), nn.Linear(256, heads))
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        coords = torch.stack(
            torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        ).flatten(1)  # [2, w*w]
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).float()  # [w*w, w*w, 2]
        rel = rel / max(window - 1, 1) * 8
        rel = torch.sign(rel) * torch.log2(rel.abs() + 1.0) / math.log2(8)
        self.register_buffer("rel_coords", rel, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        w = self.window
        ph, pw = (-H) % w, (-W) % w
        t = F.pad(x, (0, pw, 0, ph)) if ph or pw else x
        Hp, Wp = t.shape[2], t.shape[3]
        # [B, C, Hp, Wp] -> [B * nWin, w*w, C]
        t = t.view(B, C, Hp // w, w, Wp // w, w).permute(0, 2, 4, 3, 5, 1).reshape(-1, w * w, C)
        qkv = self.qkv(t).reshape(t.shape[0], w * w, 3, self.heads, C // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B*nWin, heads, w*w, C/heads]
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        bias = 16 * torch.sigmoid(self.cpb(self.rel_coords)).permute(2, 0, 1)  # [heads, n, n]
        attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(t.shape[0], w * w, C)
        t = t + self.norm1(self.proj(out))
        t = t + self.norm2(self.mlp(t))
        # [B * nWin, w*w, C] -> [B, C, Hp, Wp]
        t = t.view(B, Hp // w, Wp // w, w, w, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, Hp, Wp)
        return t[:, :, :H, :W].contiguous()


def deform_conv3x3(x: torch.Tensor, offsets: torch.Tensor, weight: torch.Tensor,
                   bias: torch.Tensor | None) -> torch.Tensor:
    """3x3 deformable convolution (Dai et al. 2017) by bilinear gathering: each of the 9 taps
    of every output position samples the input at its grid position plus a learned offset.

    x [B, C, H, W]; offsets [B, 18, H, W] as (dy, dx) per tap, taps in row-major kernel
    order; weight [C_out, C, 3, 3]. Written with ``gather`` because torchvision's CPU kernel
    is ~10x slower for training on this machine.
    """
    B, C, H, W = x.shape
    off = offsets.view(B, 9, 2, H, W)
    k = torch.arange(9, device=x.device)
    ky = (k // 3 - 1).view(1, 9, 1, 1).to(off.dtype)
    kx = (k % 3 - 1).view(1, 9, 1, 1).to(off.dtype)
    py = torch.arange(H, device=x.device, dtype=off.dtype).view(1, 1, H, 1) + ky + off[:, :, 0]
    px = torch.arange(W, device=x.device, dtype=off.dtype).view(1, 1, 1, W) + kx + off[:, :, 1]
    y0, x0 = torch.floor(py), torch.floor(px)
    wy, wx = py - y0, px - x0  # [B, 9, H, W]
    flat = x.reshape(B, C, H * W)
    taps = x.new_zeros(B, C, 9 * H * W)
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        yy, xx = y0 + dy, x0 + dx
        w = (wy if dy else 1 - wy) * (wx if dx else 1 - wx)
        w = w * ((yy >= 0) & (yy < H) & (xx >= 0) & (xx < W))  # zero outside the map
        idx = (yy.clamp(0, H - 1) * W + xx.clamp(0, W - 1)).long().view(B, 1, -1)
        taps = taps + torch.gather(flat, 2, idx.expand(B, C, -1)) * w.view(B, 1, -1).to(x.dtype)
    # [B, C, 9*H*W] -> [B, C*9, H, W]: channel-major, tap-minor, as weight.view(Cout, C*9)
    taps = taps.view(B, C * 9, H, W)
    return F.conv2d(taps, weight.reshape(weight.shape[0], -1, 1, 1), bias)


class DeformableResidual(nn.Module):
    """Deformable residual module (Fu et al., TIP 2024): a 3x3 deformable convolution whose
    sampling offsets are predicted from the input, then a 3x3 convolution, plus the skip.
    Offsets start at zero so the block begins as an ordinary residual block."""

    def __init__(self, ch: int):
        super().__init__()
        self.offset = nn.Conv2d(ch, 2 * 9, 3, padding=1)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)
        self.dconv = nn.Conv2d(ch, ch, 3, padding=1)  # weights used by deform_conv3x3
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)
        self.act = nn.LeakyReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        offsets = self.offset(x).float()
        with torch.autocast(x.device.type, enabled=False):
            out = deform_conv3x3(x.float(), offsets, self.dconv.weight.float(),
                                 self.dconv.bias.float())
        return x + self.conv(self.act(out.to(x.dtype)))
