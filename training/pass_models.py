"""Which probability model should each checkerboard pass use? Measure it.

    python -m training.pass_models runs/student/ckpt.pt --out results/pass_models.json

For every Kodak image and a few rate positions, runs the network as the codec does, takes
the symbols of the anchor and the non-anchor pass with their predicted means and scales, and
computes their ideal code length under a discretized Gaussian (what the network is trained
with) and under a discretized Laplacian and logistic whose scale is the predicted one times
the factor that fits best (searched on a grid). The lower total wins, per pass.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic_codec.latent.checkerboard import anchor_mask
from lic_codec.models.lic import LicModel
from .data import find_images


def _bits(symbols: torch.Tensor, scale: torch.Tensor, family: str) -> float:
    """-log2 P(v) summed, P = CDF(v + 1/2) - CDF(v - 1/2) of a zero-mean distribution."""
    v, s = symbols.double(), scale.double().clamp_min(0.11)
    hi, lo = (v + 0.5) / s, (v - 0.5) / s
    if family == "gaussian":
        p = 0.5 * (torch.erfc(-hi / math.sqrt(2)) - torch.erfc(-lo / math.sqrt(2)))
    elif family == "laplace":
        cdf = lambda x: torch.where(x < 0, 0.5 * torch.exp(x), 1 - 0.5 * torch.exp(-x))  # noqa
        p = cdf(hi) - cdf(lo)
    else:  # logistic
        p = torch.sigmoid(hi) - torch.sigmoid(lo)
    return float(-torch.log2(p.clamp_min(1e-9)).sum())


@torch.no_grad()
def collect(model: LicModel, paths: list[Path], positions: list[float]) -> dict:
    """Per pass: the coded symbols round(y - mu) (coded with zero-mean tables) and scales."""
    from lic_codec.codec import pad_to_grid

    lat = model.latent
    out: dict[str, tuple[list, list]] = {"anchor": ([], []), "nonanchor": ([], [])}
    for p in paths:
        x = torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)[None]
        x = pad_to_grid(x.float() / 255)
        for t in positions:
            y = model.analyse(x, t)
            z = lat.h_a(y)
            med = lat.entropy_bottleneck.quantiles[:, 0, 1].view(1, -1, 1, 1)
            hyper = lat.h_s(torch.round(z - med) + med)
            anchors = anchor_mask(y.shape[2], y.shape[3])
            active = (torch.round(y[0]) != 0).flatten(1).any(1)[:, None, None]
            mu_a, s_a = lat.params_anchor(hyper).chunk(2, 1)
            y_hat = (torch.round(y - mu_a) + mu_a) * anchors * active
            mu_n, s_n = lat.params_nonanchor(torch.cat([hyper, lat.context_of(y_hat)], 1)).chunk(2, 1)
            for name, mu, s, where in (("anchor", mu_a, s_a, anchors), ("nonanchor", mu_n, s_n,
                                                                         ~anchors)):
                sel = active & where[0, 0]
                out[name][0].append(torch.round(y[0] - mu[0])[sel])  # the coded symbols
                out[name][1].append(s[0][sel])
    return {k: (torch.cat(a), torch.cat(b)) for k, (a, b) in out.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.pass_models")
    ap.add_argument("checkpoint")
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak")
    ap.add_argument("--positions", type=float, nargs="*", default=[0.0, 3.5, 7.0])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    model = LicModel.from_state_dict(state["config"], state["model"])
    model.eval()
    data = collect(model, find_images(args.data), args.positions)
    factors = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25]
    report = {"checkpoint": args.checkpoint, "step": state["step"], "positions": args.positions,
              "passes": {}}
    for name, (r, s) in data.items():
        res: dict[str, float | int | str] = {"symbols": int(r.numel()), "gaussian_bits": _bits(r, s, "gaussian")}
        for fam in ("laplace", "logistic"):
            best = min((_bits(r, s * f, fam), f) for f in factors)
            res[f"{fam}_bits"], res[f"{fam}_scale_factor"] = best
        res["best"] = min(("gaussian", "laplace", "logistic"), key=lambda f: res[f"{f}_bits"])
        report["passes"][name] = res
        print(name, json.dumps(res))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
