"""Reorder a student's latent channels by rate, so the checkerboard context reads the busiest.

Why: with ModelConfig.Me < M the context reads the first Me latent channels, and which
channels those are is an accident of how the latent grew. In student_v4 the first 128 of
192 carry ~66% of the rate on training crops, the 128 with the most rate 80-96% (q100-q0);
a context cut to 80 channels reads 43-49% against 58-86% for the top 80. A channel with no
rate tells the context nothing.

How: the latent channels are permuted everywhere they appear (g_a's last layer, the gains,
g_s's first layer, h_a's first layer, the mean and scale rows of both parameter networks),
which leaves the network's function unchanged, except the context: its first Me inputs are
now the Me channels with the most rate on the probe crops. Channels it read before keep
their weights; the ones it newly reads start at zero (so the start is the old network minus
what the context took from the channels it no longer reads), and training does the rest.

    python -m training.permute runs/student_v4/ckpt.pt /tmp/permuted.pt
    python -m training.narrow /tmp/permuted.pt /tmp/p80.pt --entropy-width 80
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from lic_codec.models.lic import LicModel
from .checkpoint import source_model
from .widen import probe_images, write_start

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "train"


@torch.no_grad()
def channel_rates(model: LicModel, images: torch.Tensor, levels=(0.0, 0.5, 1.0)) -> torch.Tensor:
    """[M] each latent channel's share of the rate on ``images`` ([B, 3, H, W]), averaged over
    rate positions (fractions of the top one)."""
    model.eval()
    top = model.cfg.num_levels - 1
    share = torch.zeros(model.cfg.M)
    for f in levels:
        lik = model(images, torch.full((len(images),), f * top))["likelihoods"]["y"]
        bits = -torch.log2(lik).sum((0, 2, 3))  # [M]
        share += bits / bits.sum()
    return share / len(levels)


@torch.no_grad()
def permute(model: LicModel, order: torch.Tensor) -> LicModel:
    """A copy of ``model`` whose latent channel i is ``model``'s channel order[i]; the context
    keeps its weights for the channels it still reads and starts at zero for the others."""
    M, Me = model.cfg.M, model.cfg.entropy_width
    order = torch.as_tensor(order)
    if model.cfg.arch != "student":
        raise ValueError("only a student's latent can be permuted (its g_a ends in a conv)")
    if sorted(order.tolist()) != list(range(M)):
        raise ValueError("order must be a permutation of the latent channels")
    out = LicModel(model.cfg)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    last = f"g_a.{len(model.g_a) - 1}"  # conv(N, M), after any analysis blocks
    rows = {f"{last}.weight": 0, f"{last}.bias": 0, "g_s.0.weight": 0,  # dim holding M
            "latent.h_a.0.weight": 1, "log_gain": 1, "log_inv_gain": 1}
    for k, dim in rows.items():
        state[k] = state[k].index_select(dim, order)
    mean_scale = torch.cat([order, M + order])  # output rows: mean | scale
    for net in ("params_anchor", "params_nonanchor"):
        for p in ("weight", "bias"):
            k = f"latent.{net}.4.{p}"
            state[k] = state[k][mean_scale]
    # context input j reads new channel j = old channel order[j]
    w = state["latent.context.weight"]  # [2Me, Me, k, k]
    new = torch.zeros_like(w)
    for j, c in enumerate(order[:Me].tolist()):
        if c < Me:
            new[:, j] = w[:, c]
    state["latent.context.weight"] = new
    out.load_state_dict(state)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.permute", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="the checkpoint to start from (its moving "
                    "average of the weights when it has one)")
    ap.add_argument("out", type=Path, help="the checkpoint to write (step 0)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="training images whose crops rank the channels (never Kodak)")
    ap.add_argument("--images", type=int, default=32)
    args = ap.parse_args(argv)
    state, src = source_model(args.source)
    share = channel_rates(src, probe_images(args.data, args.images))
    order = share.argsort(descending=True)
    Me = src.cfg.entropy_width
    write_start(permute(src, order), state, args.source, args.out, "permuted_from")
    print(f"{args.out}: the context's {Me} channels carried {float(share[:Me].sum()):.1%} of "
          f"the rate, now {float(share[order[:Me]].sum()):.1%}")


if __name__ == "__main__":
    main()
