"""A transposed convolution rewritten as a convolution plus a pixel shuffle, for inference.

Why: on the CPU, PyTorch's transposed convolution is slow when it has few output channels at a
high resolution (the synthesis transform's last layer, [N, 3] at full image size): the
equivalent stride-1 convolution with s*s*C_out outputs followed by ``pixel_shuffle`` computes
the same sums about twice as fast there. The weights files keep the transposed form; the
rewrite is made when a network is loaded for coding and changes results by float rounding
only (the coding distributions do not depend on it: see ``latent/exact.py``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .layers import EdgeDeconv, replicate_pad, upsampling_radius


class SubpixelConv(nn.Module):
    """``ConvTranspose2d(k, stride=s, padding=p, output_padding=op)`` with k + op - 2p == s
    (output = s x input) as ``pixel_shuffle(conv2d(x, W', padding=R), s)``.

    Output pixel s*i + a gets input j = i + (a + p - t) / s through kernel tap t (where that
    is an integer), so every phase a reads inputs i - R .. i + R."""

    def __init__(self, deconv: nn.ConvTranspose2d):
        super().__init__()
        (k, _), (s, _), (p, _) = deconv.kernel_size, deconv.stride, deconv.padding
        op = deconv.output_padding[0]
        if (deconv.kernel_size[0] != deconv.kernel_size[1] or deconv.stride[0] != deconv.stride[1]
                or deconv.padding[0] != deconv.padding[1] or deconv.groups != 1
                or deconv.dilation != (1, 1) or k + op - 2 * p != s):
            raise ValueError("not a square, ungrouped, s-times upsampling transposed conv")
        taps = {a: [(t, (a + p - t) // s) for t in range(k) if (a + p - t) % s == 0]
                for a in range(s)}  # phase -> [(kernel tap, input offset)]
        R = upsampling_radius(k, s, p)
        w = deconv.weight.detach()  # [C_in, C_out, k, k]
        c_in, c_out = w.shape[:2]
        sub = w.new_zeros(c_out, s, s, c_in, 2 * R + 1, 2 * R + 1)
        for a, rows in taps.items():
            for b, cols in taps.items():
                for ty, dy in rows:
                    for tx, dx in cols:
                        sub[:, a, b, :, dy + R, dx + R] = w[:, :, ty, tx].t()
        # output channel c * s * s + a * s + b is what pixel_shuffle puts at (c, a, b)
        self.weight = nn.Parameter(sub.reshape(c_out * s * s, c_in, 2 * R + 1, 2 * R + 1),
                                   requires_grad=False)
        bias = deconv.bias.detach() if deconv.bias is not None else w.new_zeros(c_out)
        self.bias = nn.Parameter(bias.repeat_interleave(s * s), requires_grad=False)
        self.stride, self.radius = s, R
        self.replicate = isinstance(deconv, EdgeDeconv)  # its border, not zeros, beyond the edge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, H, W] -> [B, C_out, sH, sW]."""
        R = self.radius
        if self.replicate:
            x, R = replicate_pad(x, R), 0
        return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias, padding=R), self.stride)


def subpixel_last_layer(g_s: nn.Sequential) -> None:
    """Replace the synthesis transform's final transposed convolution (few output channels at
    full resolution) in place. Only that one: for the wide inner layers PyTorch's transposed
    convolution is the faster (measured on this machine, channels-last, 2 threads: 64 -> 3
    channels at 256x384 inputs 19 ms against 40 ms; 64 -> 64 at 128x192, 66 ms against 48)."""
    last = g_s[-1]
    if isinstance(last, nn.ConvTranspose2d) and last.out_channels <= 4:
        g_s[-1] = SubpixelConv(last).to(memory_format=torch.channels_last)
