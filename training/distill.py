"""Knowledge distillation from a frozen teacher into the student (FEDS, Fu et al. 2025;
Allemand et al. 2025), in separable pieces so each one's effect can be measured:

- ``feat``: intermediate features. The outputs of the four resampling layers of g_a and of
  g_s are taken from both networks (forward hooks); small 1x1 adapters map the student's
  width to the teacher's; MSE after per-feature normalisation by the teacher's scale.
- ``latent``: channel-level distillation of the latent: the student's latent, mapped to the
  teacher's channels by an adapter, is matched per channel, each channel weighted by the
  teacher's share of the latent's bits on this batch (the informative channels count most).
- ``recon``: the student's reconstruction against the teacher's.
- ``rate``: the teacher's rate targets: the student's bits at each latent position (summed
  over its channels) against the teacher's, so the student learns where the teacher spends
  its bits.
- ``rd``: the student's own rate-distortion loss.

Stage presets (a) feature alignment, (b) channel-level + reconstruction distillation,
(c) rate-distortion fine-tuning are weight settings of these terms (see STAGES).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from lic_codec.models.lic import LicModel
from .losses import rate_distortion

STAGES = {
    "a": {"feat": 1.0, "latent": 0.0, "recon": 0.0, "rate": 0.0, "rd": 0.1},
    "b": {"feat": 0.1, "latent": 1.0, "recon": 1.0, "rate": 0.0, "rd": 1.0},
    "c": {"feat": 0.0, "latent": 0.0, "recon": 0.0, "rate": 0.0, "rd": 1.0},
}


def _resampling_layers(seq: nn.Module) -> list[nn.Module]:
    """The stride-2 (transposed) convolutions of a transform, in order."""
    return [m for m in seq.modules()
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.stride == (2, 2)]


class _Taps:
    """Collects the outputs of the given layers during a forward pass."""

    def __init__(self, layers: list[nn.Module]):
        self.out: list[torch.Tensor] = []
        self.handles = [m.register_forward_hook(lambda _m, _i, o: self.out.append(o))
                        for m in layers]

    def take(self) -> list[torch.Tensor]:
        out, self.out = self.out, []
        return out


@torch.no_grad()
def embed_channels(adapter: nn.Conv2d) -> None:
    """Make a 1x1 adapter put student channel i at teacher channel i (the rest zero). Why: a
    teacher widened from the student (train/widen.py) keeps every student channel at its
    index, so this adapter starts at zero error instead of a random projection that the first
    hundreds of steps spend undoing."""
    adapter.weight.zero_()
    adapter.bias.zero_()
    n = min(adapter.in_channels, adapter.out_channels)
    idx = torch.arange(n)
    adapter.weight[idx, idx, 0, 0] = 1.0


class Distiller(nn.Module):
    """Holds the adapters; computes the distillation terms for one batch."""

    def __init__(self, student: LicModel, teacher: LicModel, weights: dict[str, float],
                 l1: float = 0.0, adapters: str = "random", power: float = 0.0,
                 edges: torch.Tensor | None = None):
        super().__init__()
        self.weights, self.l1 = weights, l1
        self.power, self.edges = power, edges  # the rd term as plain training has it
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        s_layers = _resampling_layers(student.g_a) + _resampling_layers(student.g_s)
        t_layers = _resampling_layers(teacher.g_a) + _resampling_layers(teacher.g_s)
        if len(s_layers) != len(t_layers):
            raise ValueError("student and teacher have different numbers of stages")
        self.s_taps, self.t_taps = _Taps(s_layers), _Taps(t_layers)
        self.adapters = nn.ModuleList(
            nn.Conv2d(s.out_channels, t.out_channels, 1) for s, t in zip(s_layers, t_layers))
        self.latent_adapter = nn.Conv2d(student.cfg.M, teacher.cfg.M, 1)
        if adapters == "embed":
            for a in [*self.adapters, self.latent_adapter]:
                embed_channels(a)

    def forward(self, student: LicModel, x: torch.Tensor, t: torch.Tensor) -> dict:
        with torch.no_grad():
            self.t_taps.take()
            t_out = self.teacher(x, t)
            t_feats = self.t_taps.take()
        self.s_taps.take()
        out = student(x, t)
        s_feats = self.s_taps.take()
        terms = rate_distortion(out, x, student.lmbda(t), self.l1, power=self.power,
                                edges=self.edges)
        zero = x.new_zeros(())
        w = self.weights

        feat = zero
        if w["feat"]:
            for a, s, tf in zip(self.adapters, s_feats, t_feats):
                scale = tf.float().pow(2).mean().clamp_min(1e-6)
                feat = feat + (a(s).float() - tf.float()).pow(2).mean() / scale
            feat = feat / len(self.adapters)

        latent = zero
        if w["latent"]:
            with torch.no_grad():  # teacher's bits per latent channel -> weights [B, Mt, 1, 1]
                bits = -torch.log2(t_out["likelihoods"]["y"].float()).sum((2, 3))
                cw = (bits / bits.sum(1, keepdim=True).clamp_min(1e-9))[:, :, None, None]
            diff = (self.latent_adapter(out["y"]).float() - t_out["y"].float()).pow(2)
            latent = (diff * cw).sum(1).mean() / t_out["y"].float().pow(2).mean().clamp_min(1e-6)

        recon = zero
        if w["recon"]:
            lam = student.lmbda(t)
            recon = (lam * 255.0**2 * (out["x_hat"].float() - t_out["x_hat"].float()).pow(2)
                     .flatten(1).mean(1)).mean()

        rate = zero
        if w.get("rate"):  # bits per latent position [B, h, w], normalised by the teacher's
            with torch.no_grad():
                t_bits = -torch.log2(t_out["likelihoods"]["y"].float().clamp_min(1e-9)).sum(1)
            s_bits = -torch.log2(out["likelihoods"]["y"].float().clamp_min(1e-9)).sum(1)
            rate = (s_bits - t_bits).pow(2).mean() / t_bits.pow(2).mean().clamp_min(1e-6)

        terms["rd_loss"] = terms["loss"]
        terms["feat"], terms["latent"], terms["recon"], terms["rate"] = feat, latent, recon, rate
        distilled = (w["feat"] * feat + w["latent"] * latent + w["recon"] * recon
                     + w.get("rate", 0.0) * rate)
        terms["loss"] = w["rd"] * terms["rd_loss"] + distilled  # what the log reports
        # what training minimises: the rd term weighed across crops as --loss-power says
        terms["objective"] = w["rd"] * terms["objective"] + distilled
        return terms
