"""A teacher that starts where the student is: the student's function inside the teacher's
wider architecture (Net2Net-style, Chen et al., ICLR 2016).

Why: the teacher trained from scratch costs ~4x the student per step and, after 51k steps
(12 CPU-hours), still coded Kodak worse than the student at low and middle rates, so it had
nothing to teach. Started from the student it is as good as the student at step 0 and its
extra capacity (more channels and latent channels, residual blocks, the deformable module,
window attention) can only add from there.

How the function is kept: every old channel sits at the same index in the wider layer and
gets exactly zero weight from every new channel; the blocks the student does not have start
as identities (a residual branch whose last convolution is zero, attention whose post-norms
have zero gain). New channels get small random incoming weights, so they carry a signal and
learn; new latent channels round to zero at first, cost almost no rate (their entropy
parameters start at the smallest scale) and enter the synthesis through small weights.

    python -m lic_codec.train.widen runs/student_v2/ckpt.pt /tmp/teacher_init.pt
    python -m lic_codec.train rd --arch teacher --init /tmp/teacher_init.pt --run runs/teacher_v2
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch
import torch.nn as nn

from ..models.config import TEACHER, ModelConfig
from ..models.layers import GDN, DeformableResidual, ResidualBlock, WindowAttentionV2
from ..models.lic import LicModel, upgrade_state
from .checkpoint import _save, lineage, load_checkpoint

NEW_SCALE = 0.1  # incoming weights of new channels, relative to their random init


def teacher_config(student: ModelConfig) -> ModelConfig:
    """The teacher's transforms over the student's hyperprior width and rate points."""
    return dataclasses.replace(TEACHER, Nh=student.Nh, lambdas=student.lambdas,
                               anchor_dist=student.anchor_dist,
                               nonanchor_dist=student.nonanchor_dist)


def _as_out_in(w: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    """A view of a weight as [out, in, ...] (transposed convolutions store [in, out, ...])."""
    return w.transpose(0, 1) if isinstance(layer, nn.ConvTranspose2d) else w


@torch.no_grad()
def embed(dst: nn.Module, src: nn.Module, rows, cols, new_rows: str = "small") -> None:
    """Copy ``src`` (a convolution) into ``dst`` at output channels ``rows`` and input channels
    ``cols``; those outputs get zero weight from every other input. The other outputs of
    ``dst`` keep their random weights scaled by NEW_SCALE (``small``) or become zero with zero
    bias (``zero``: new entropy parameters, i.e. mean 0 and the smallest scale)."""
    rows, cols = torch.as_tensor(rows), torch.as_tensor(cols)
    w, ws = _as_out_in(dst.weight.data, dst), _as_out_in(src.weight.data, src)
    new = torch.ones(w.shape[0], dtype=torch.bool)
    new[rows] = False
    if new_rows == "zero":
        w[new] = 0
        dst.bias.data[new] = 0
    else:
        w[new] *= NEW_SCALE
    w[rows] = 0
    w[rows[:, None], cols[None, :]] = ws
    dst.bias.data[rows] = src.bias.data


@torch.no_grad()
def embed_gdn(dst: GDN, src: GDN) -> None:
    """Old channels keep beta and gamma and ignore new channels (gamma stored at its bound,
    which is exactly zero after the reparametrization); new channels ignore old ones."""
    n = src.beta.shape[0]
    dst.beta.data[:n] = src.beta.data
    dst.gamma.data[:n] = dst._gamma_bound
    dst.gamma.data[:, :n] = dst._gamma_bound
    dst.gamma.data[:n, :n] = src.gamma.data


@torch.no_grad()
def make_identity(block: nn.Module) -> None:
    """Blocks the student lacks start as identities."""
    if isinstance(block, ResidualBlock):
        last = block.conv2
    elif isinstance(block, DeformableResidual):
        last = block.conv
    elif isinstance(block, WindowAttentionV2):
        for norm in (block.norm1, block.norm2):
            norm.weight.zero_()
            norm.bias.zero_()
        return
    else:
        raise TypeError(type(block).__name__)
    last.weight.zero_()
    last.bias.zero_()


def _transform(dst: nn.Sequential, src: nn.Sequential) -> None:
    """Walk both transforms in order: the student's layers map onto the teacher's layers of
    the same kind; the teacher's extra blocks become identities."""
    layers = iter(src)
    for t in dst:
        if isinstance(t, (ResidualBlock, DeformableResidual, WindowAttentionV2)):
            make_identity(t)
            continue
        s = next(layers)
        assert type(s) is type(t), (type(s), type(t))
        if isinstance(s, GDN):
            embed_gdn(t, s)
        else:
            so, si = _as_out_in(s.weight, s).shape[:2]
            embed(t, s, range(so), range(si), "small")
    assert next(layers, None) is None, "student layers left over"


def _params_rows(M_old: int, M_new: int) -> list[int]:
    """Where the student's [mean | scale] outputs go in the teacher's wider [mean | scale]."""
    return list(range(M_old)) + list(range(M_new, M_new + M_old))


@torch.no_grad()
def widen(student: LicModel, cfg: ModelConfig) -> LicModel:
    """A teacher (``cfg``) computing the student's function; see the module docstring."""
    s, sc = student, student.cfg
    if cfg.Nh != sc.Nh or cfg.N < sc.N or cfg.M < sc.M:
        raise ValueError("the teacher must be at least as wide, with the same hyperprior width")
    t = LicModel(cfg)
    M, Mo = cfg.M, sc.M
    _transform(t.g_a, s.g_a)
    _transform(t.g_s, s.g_s)
    # latent gains: old channels copied, new ones at the mean of the old
    for name in ("log_gain", "log_inv_gain"):
        old = getattr(s, name).data
        new = getattr(t, name).data
        new[:, :Mo] = old
        new[:, Mo:] = old.mean(1, keepdim=True)
    sl, tl = s.latent, t.latent
    # hyperprior: z sees only the old latent channels; h_s adds new (unused) features
    embed(tl.h_a[0], sl.h_a[0], range(sl.h_a[0].out_channels), range(Mo))
    for i in (2, 4):
        tl.h_a[i].load_state_dict(sl.h_a[i].state_dict())
    for i in (0, 2):
        tl.h_s[i].load_state_dict(sl.h_s[i].state_dict())
    embed(tl.h_s[4], sl.h_s[4], range(2 * Mo), range(sl.h_s[4].in_channels))
    embed(tl.context, sl.context, range(2 * Mo), range(Mo))
    # parameter networks: hidden layers embed at the front, outputs into [mean | scale]
    embed(tl.params_anchor[0], sl.params_anchor[0], range(2 * Mo), range(2 * Mo))
    embed(tl.params_anchor[2], sl.params_anchor[2], range(2 * Mo), range(2 * Mo))
    embed(tl.params_anchor[4], sl.params_anchor[4], _params_rows(Mo, M), range(2 * Mo), "zero")
    ctx_cols = list(range(2 * Mo)) + list(range(2 * M, 2 * M + 2 * Mo))  # cat(hyper, ctx)
    embed(tl.params_nonanchor[0], sl.params_nonanchor[0], range(3 * Mo), ctx_cols)
    embed(tl.params_nonanchor[2], sl.params_nonanchor[2], range(2 * Mo), range(3 * Mo))
    embed(tl.params_nonanchor[4], sl.params_nonanchor[4], _params_rows(Mo, M), range(2 * Mo),
          "zero")
    tl.entropy_bottleneck.load_state_dict(sl.entropy_bottleneck.state_dict())
    tl.gaussian_conditional.load_state_dict(sl.gaussian_conditional.state_dict())
    tl.z_medians.copy_(sl.z_medians)
    return t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m lic_codec.train.widen", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("student", type=Path, help="the student's checkpoint")
    ap.add_argument("out", type=Path, help="the teacher checkpoint to write (step 0)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the new channels' weights")
    args = ap.parse_args(argv)
    state = load_checkpoint(args.student)
    student = LicModel(ModelConfig.from_dict(state["config"]))
    student.load_state_dict(upgrade_state({k: v.float() for k, v in state["model"].items()}))
    torch.manual_seed(args.seed)
    teacher = widen(student, teacher_config(student.cfg))
    _save({"model": teacher.state_dict(), "step": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0,
           "seed": state["seed"], "config": teacher.cfg.to_dict(),
           "args": {"widened_from": str(args.student)},
           "prior": lineage(state, args.student)}, args.out)
    print(f"{args.out}: teacher {teacher.param_count() / 1e6:.2f} M parameters from the student "
          f"at step {state['step']}")


if __name__ == "__main__":
    main()
