"""Architecture descriptions. A config is stored inside every checkpoint and weights file
so a network can be rebuilt exactly from the file alone (as nanoGPT does)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# CompressAI's eight MSE lambdas for qualities 1..8 (loss = lambda * 255^2 * MSE + bpp).
# One variable-rate network is trained over the whole range; quality interpolates between them.
DEFAULT_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network. ``arch`` selects the transforms."""

    arch: str = "student"
    N: int = 64  # width of the analysis/synthesis transforms
    M: int = 128  # latent channels
    Nh: int = 64  # width of the hyperprior transforms
    # latent channels the entropy networks are sized for (0: M): with Me < M the context
    # reads the first Me channels and the parameter networks keep their 2*Me hidden width,
    # only their output layer serving all M channels. Lets the latent grow (the quality
    # ceiling at high rates) at a fraction of the parameters (results/training.md)
    Me: int = 0
    # student only: residual blocks after the GDN at 1/4 and at 1/8 of the image in g_a.
    # Encoder-only capacity: decoding never runs g_a, so they cost no decode time
    # (Yang & Mandt, "Computationally-efficient neural image compression with shallow
    # decoders", ICCV 2023: a stronger analysis closes part of the amortization gap).
    # Measured here: ~0.2% BD-rate with 2 + 2 blocks, not adopted (results/README.md)
    analysis_blocks: int = 0
    lambdas: tuple[float, ...] = field(default=DEFAULT_LAMBDAS)
    # teacher-only knobs (ignored by the student)
    res_blocks: int = 0
    attn_heads: int = 4
    attn_window: int = 8
    deformable: bool = False
    # per-rate channel scales after every inverse GDN of the synthesis (transforms.Synthesis,
    # LicModel.decoder_scales): lets the decoder adapt to the rate; measured, not adopted yet
    rate_modulation: bool = False
    # what the synthesis's last layer reads beyond the latent's edge: "zeros" (every network
    # before 2026-12-07) or "replicate" (layers.EdgeDeconv: the edge pixels get every tap)
    edge_pad: str = "zeros"
    # probability model of each checkerboard pass ("gaussian" or "laplace")
    anchor_dist: str = "gaussian"
    nonanchor_dist: str = "gaussian"

    @property
    def entropy_width(self) -> int:
        return self.Me or self.M

    @property
    def num_levels(self) -> int:
        return len(self.lambdas)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lambdas"] = list(self.lambdas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        d = dict(d)
        d["lambdas"] = tuple(d.get("lambdas", DEFAULT_LAMBDAS))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Anchors Laplacian, non-anchors Gaussian: measured on the first student (results/pass_models.json)
STUDENT = ModelConfig(arch="student", N=64, M=128, Nh=64, anchor_dist="laplace")
TEACHER = ModelConfig(arch="teacher", N=128, M=192, Nh=128, res_blocks=1, deformable=True,
                      anchor_dist="laplace")
