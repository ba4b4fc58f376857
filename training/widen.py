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

    python -m training.widen runs/student_v2/ckpt.pt /tmp/teacher_init.pt
    python -m training rd --arch teacher --init /tmp/teacher_init.pt --run runs/teacher_v2

Two more uses keep the architecture: ``--latent M`` grows the latent (the entropy networks keep
their width, ModelConfig.Me) and ``--revive`` re-initialises latent channels that died. Both
write the affected channels into the checkpoint, for the trainer's ``--rate-ramp``. Why: at
high rates both networks were capped by their ~128 live latent channels
(experiments/latent_ceiling.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import torch
import torch.nn as nn

from lic_codec.models.config import TEACHER, ModelConfig
from lic_codec.models.layers import GDN, DeformableResidual, ResidualBlock, WindowAttentionV2
from lic_codec.models.lic import LicModel
from .checkpoint import save_atomic, lineage, source_model
from .data import DEFAULT_DATA, IMAGE_SUFFIXES

NEW_SCALE = 0.1  # incoming weights of new channels, relative to their random init


def teacher_config(student: ModelConfig, N: int | None = None, M: int | None = None,
                   Me: int = 0, res_blocks: int | None = None,
                   top_lambdas: tuple[float, ...] = ()) -> ModelConfig:
    """The teacher's transforms over the student's hyperprior width and rate points.
    ``N``/``M``/``res_blocks`` override the teacher's widths (default: TEACHER's, but never
    fewer latent channels than the student); ``Me`` its entropy width (0: all M channels);
    ``top_lambdas`` are rate points added above the student's top one (the high-fidelity end
    the student cannot reach)."""
    if any(lam <= student.lambdas[-1] for lam in top_lambdas):
        raise ValueError("added rate points must lie above the student's top lambda")
    return dataclasses.replace(
        TEACHER, Nh=student.Nh, N=N or TEACHER.N, M=M or max(TEACHER.M, student.M), Me=Me,
        res_blocks=TEACHER.res_blocks if res_blocks is None else res_blocks,
        lambdas=tuple(student.lambdas) + tuple(sorted(top_lambdas)),
        anchor_dist=student.anchor_dist, nonanchor_dist=student.nonanchor_dist)


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


def _extend_gains(old: torch.Tensor, old_lambdas, new_lambdas) -> torch.Tensor:
    """Gain tables [K, M] -> [K', M] for rate points added above the top one: each channel's
    log gain goes on along the line through its two top points, in log lambda (the trained
    gains are close to that line, ~0.5 log lambda: the MSE-optimal step size)."""
    K = old.shape[0]
    lo, hi = math.log(old_lambdas[-2]), math.log(old_lambdas[-1])
    slope = (old[-1] - old[-2]) / (hi - lo)  # [M]
    extra = [old[-1] + slope * (math.log(lam) - hi) for lam in new_lambdas[K:]]
    return torch.cat([old, *[e[None] for e in extra]]) if extra else old.clone()


@torch.no_grad()
def add_rate_points(src: LicModel, cfg: ModelConfig) -> LicModel:
    """The same network with ``cfg``'s rate points above its top one (any architecture: a
    teacher too, which ``widen`` cannot map onto itself). Everything is copied; the per-level
    tables [K, ...] go on along their top two points (gains) or repeat the top row."""
    if dataclasses.replace(cfg, lambdas=src.cfg.lambdas) != src.cfg:
        raise ValueError("only rate points may be added: the architecture must stay")
    model = LicModel(cfg)
    state = src.state_dict()
    for name in ("log_gain", "log_inv_gain"):
        state[name] = _extend_gains(state[name], src.cfg.lambdas, cfg.lambdas)
    if cfg.rate_modulation:  # [K, widths]: the top level's channel scales, repeated
        old = state["log_dec_scale"]
        state["log_dec_scale"] = torch.cat([old, old[-1:].expand(cfg.num_levels - len(old), -1)])
    model.load_state_dict(state)
    return model


@torch.no_grad()
def widen(student: LicModel, cfg: ModelConfig) -> LicModel:
    """A teacher (``cfg``) computing the student's function at the student's rate points; see
    the module docstring. The student may have narrow entropy networks (Me < M): their
    hidden features embed at the front of the teacher's."""
    s, sc = student, student.cfg
    if cfg.Nh != sc.Nh or cfg.N < sc.N or cfg.M < sc.M or cfg.entropy_width < sc.entropy_width:
        raise ValueError("the teacher must be at least as wide, with the same hyperprior width")
    if tuple(cfg.lambdas[: sc.num_levels]) != tuple(sc.lambdas):
        raise ValueError("the teacher's rate points must start with the student's")
    t = LicModel(cfg)
    Mo, M = sc.M, cfg.M
    Eo, E = sc.entropy_width, cfg.entropy_width
    _transform(t.g_a, s.g_a)
    _transform(t.g_s, s.g_s)
    # latent gains: old channels copied, new ones at the mean of the old; added rate points
    # extrapolated
    for name in ("log_gain", "log_inv_gain"):
        old = _extend_gains(getattr(s, name).data, sc.lambdas, cfg.lambdas)  # [K', Mo]
        new = getattr(t, name).data  # [K', M]
        new[:, :Mo] = old
        new[:, Mo:] = old.mean(1, keepdim=True)
    sl, tl = s.latent, t.latent
    # hyperprior: z sees only the old latent channels; h_s adds new (unused) features
    embed(tl.h_a[0], sl.h_a[0], range(sl.h_a[0].out_channels), range(Mo))
    for i in (2, 4):
        tl.h_a[i].load_state_dict(sl.h_a[i].state_dict())
    for i in (0, 2):
        tl.h_s[i].load_state_dict(sl.h_s[i].state_dict())
    embed(tl.h_s[4], sl.h_s[4], range(2 * Eo), range(sl.h_s[4].in_channels))
    embed(tl.context, sl.context, range(2 * Eo), range(Eo))
    # parameter networks: hidden layers embed at the front, outputs into [mean | scale]
    embed(tl.params_anchor[0], sl.params_anchor[0], range(2 * Eo), range(2 * Eo))
    embed(tl.params_anchor[2], sl.params_anchor[2], range(2 * Eo), range(2 * Eo))
    embed(tl.params_anchor[4], sl.params_anchor[4], _params_rows(Mo, M), range(2 * Eo), "zero")
    ctx_cols = list(range(2 * Eo)) + list(range(2 * E, 2 * E + 2 * Eo))  # cat(hyper, ctx)
    embed(tl.params_nonanchor[0], sl.params_nonanchor[0], range(3 * Eo), ctx_cols)
    embed(tl.params_nonanchor[2], sl.params_nonanchor[2], range(2 * Eo), range(3 * Eo))
    embed(tl.params_nonanchor[4], sl.params_nonanchor[4], _params_rows(Mo, M), range(2 * Eo),
          "zero")
    tl.entropy_bottleneck.load_state_dict(sl.entropy_bottleneck.state_dict())
    tl.gaussian_conditional.load_state_dict(sl.gaussian_conditional.state_dict())
    tl.z_medians.copy_(sl.z_medians)
    return t


@torch.no_grad()
def dead_channels(model: LicModel, images: torch.Tensor) -> list[int]:
    """Latent channels that round to zero everywhere at the highest rate on ``images``
    [B, 3, H, W]: the L1 penalty and the rate term drove them there, and a channel whose
    analysis and synthesis weights are both ~0 gets no gradient to come back."""
    model.eval()
    g, _ = model.gains(torch.full((images.shape[0],), float(model.cfg.num_levels - 1)))
    y = model.g_a(images) * g
    return torch.nonzero(torch.round(y).abs().amax(dim=(0, 2, 3)) == 0).flatten().tolist()


@torch.no_grad()
def revive(model: LicModel, channels) -> None:
    """Give latent ``channels`` (new or dead) weights that carry a signal both ways, so
    training can put them to use: analysis rows at the typical size of the live rows,
    synthesis inputs at NEW_SCALE of the live ones (the function changes a little: these
    latents are no longer zero), and a coding scale at the live channels' average instead of
    the smallest one, so a non-zero value does not cost a prohibitive rate at first.

    Why this exists: a dead (or new, zero-weighted) latent channel is a saddle point; the
    product of its analysis and synthesis weights is zero and so is each one's gradient.
    The 64 latent channels the teacher got from ``widen`` died that way under the L1
    penalty, which left it, like the student, with 128 live channels: a ceiling on
    quality at high rates (results/training.md, "the latent width is the ceiling")."""
    ch = torch.as_tensor(sorted(channels), dtype=torch.long)
    if ch.numel() == 0:
        return
    M = model.cfg.M
    live = torch.ones(M, dtype=torch.bool)
    live[ch] = False
    last = [m for m in model.g_a if isinstance(m, nn.Conv2d)][-1]  # [M, N, k, k]
    w = last.weight.data
    std = w[live].std()
    w[ch] = torch.randn_like(w[ch]) * std
    last.bias.data[ch] = 0
    first = model.g_s[0]  # ConvTranspose2d [M, N, k, k] (the teacher's attention follows)
    ws = first.weight.data
    ws[ch] = torch.randn_like(ws[ch]) * ws[live].std() * NEW_SCALE
    lat = model.latent
    for params in (lat.params_anchor[-1], lat.params_nonanchor[-1]):  # rows [mean | scale]
        b = params.bias.data
        b[M + ch] = b[M:][live].mean()
        b[ch] = 0


def write_start(model: LicModel, state: dict, src: Path, out: Path, how: str,
           new_channels=()) -> None:
    """A step-0 checkpoint; ``new_channels`` (grown or revived latent channels) is what the
    trainer's --rate-ramp eases in."""
    save_atomic({"model": model.state_dict(), "step": 0, "wall_seconds": 0.0, "cpu_seconds": 0.0,
           "seed": state["seed"], "config": model.cfg.to_dict(), "args": {how: str(src)},
           "prior": lineage(state, src), "new_channels": [int(c) for c in new_channels]}, out)


def probe_images(folder: Path, count: int = 16) -> torch.Tensor:
    """[count, 3, 256, 256]: top-left crops of training images, to see which channels are
    dead."""
    import numpy as np
    from PIL import Image

    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    arrays = [np.asarray(Image.open(p).convert("RGB").crop((0, 0, 256, 256)))
              for p in paths[::max(1, len(paths) // count)][:count]]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.widen", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="the checkpoint to start from")
    ap.add_argument("out", type=Path, help="the checkpoint to write (step 0)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the new channels' weights")
    ap.add_argument("--latent", type=int, default=None, metavar="M",
                    help="keep the architecture and grow the latent to M channels (live ones) "
                         "instead of widening into the teacher")
    ap.add_argument("--wide-entropy", action="store_true",
                    help="with --latent: grow the context and parameter networks with the latent "
                         "(by default they keep their width: ModelConfig.Me)")
    ap.add_argument("--revive", action="store_true",
                    help="keep the architecture and re-initialise the dead latent channels")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="training images on which dead channels are found (with --revive)")
    ap.add_argument("--teacher-width", type=int, default=None, metavar="N",
                    help=f"the teacher's transform width (default {TEACHER.N})")
    ap.add_argument("--teacher-latent", type=int, default=None, metavar="M",
                    help="the teacher's latent channels (default: the larger of the student's "
                         f"and {TEACHER.M}); the new ones start live (revive)")
    ap.add_argument("--teacher-entropy", type=int, default=0, metavar="Me",
                    help="the teacher's entropy width (default 0: all its latent channels)")
    ap.add_argument("--res-blocks", type=int, default=None,
                    help=f"residual blocks per place in the teacher (default {TEACHER.res_blocks})")
    ap.add_argument("--add-lambdas", type=float, nargs="*", default=[], metavar="LAMBDA",
                    help="rate points added above the source's top lambda (quality 100 moves "
                         "to the highest); with --latent M (M may be the source's) the network "
                         "keeps its architecture")
    args = ap.parse_args(argv)
    state, src = source_model(args.source)  # its moving average, where it has one
    torch.manual_seed(args.seed)
    if args.revive:
        dead = dead_channels(src, probe_images(args.data))
        revive(src, dead)
        write_start(src, state, args.source, args.out, "revived_from", dead)
        print(f"{args.out}: {len(dead)} dead latent channels of {src.cfg.M} re-initialised")
        return
    if args.latent:  # (the same M with --add-lambdas: only rate points added)
        Me = 0 if args.wide_entropy else src.cfg.entropy_width
        if any(lam <= src.cfg.lambdas[-1] for lam in args.add_lambdas):
            raise SystemExit("--add-lambdas: rate points must lie above the top one")
        cfg = dataclasses.replace(src.cfg, M=args.latent, Me=Me,
                                  lambdas=tuple(src.cfg.lambdas) + tuple(sorted(args.add_lambdas)))
        new = list(range(src.cfg.M, cfg.M))
        if new or Me != src.cfg.entropy_width:
            model = widen(src, cfg)
            revive(model, new)
        else:  # rate points only (Me=0 and Me=M are the same network)
            model = add_rate_points(src, dataclasses.replace(src.cfg, lambdas=cfg.lambdas))
        how = "grown_from"
    else:
        cfg = teacher_config(src.cfg, N=args.teacher_width, M=args.teacher_latent,
                             Me=args.teacher_entropy, res_blocks=args.res_blocks,
                             top_lambdas=tuple(args.add_lambdas))
        model = widen(src, cfg)
        # new latent channels must carry a signal from step 0, or they die (a saddle point)
        new = list(range(src.cfg.M, cfg.M))
        revive(model, new)
        how = "widened_from"
    write_start(model, state, args.source, args.out, how, new)
    print(f"{args.out}: {model.cfg.arch} with M={model.cfg.M}, "
          f"{model.param_count() / 1e6:.2f} M parameters, from step {state['step']}")


if __name__ == "__main__":
    main()
