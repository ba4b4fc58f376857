"""Where a decode's time goes, teacher against student, and what the decode-speed ratio would
be if the exact integer entropy networks cost nothing: the ceiling of any speed-up confined
to them. Also times one matrix product as float64 (what the exact networks use) and as int8
with int32 sums (``torch._int_mm``), an exact alternative on CPUs with fast int8 products.
Pause any training first (kill -STOP).

Results: results/decode_split_kodak24_amd_*.json.

    python experiments/decode_split.py OUT.json [--quality 50 100]

Per Kodak image, the best of 2 decodes at 2 threads; means over the 24 images. "nets" is
the time in the exact hyper-synthesis, anchor and non-anchor parameter networks (the
context included), "latent" all of latent decoding (nets, rANS and bookkeeping); the rest
of a decode is the synthesis transform and the image's output.
"""

import argparse
import datetime
import json
import time
from pathlib import Path

import torch
from PIL import Image

from lic_codec.allocator import keep_freed_memory
from lic_codec.codec import Codec
from lic_codec.evaluate import git_commit, machine
from lic_codec.latent import checkerboard, exact

KODAK = Path("../shared/data/kodak")
NETS = ("hyper", "anchor_params", "nonanchor_params")


def timed(owner, name: str, key: str, spent: dict) -> None:
    """Wrap owner.name so that its wall time adds up in spent[key]."""
    f = getattr(owner, name)

    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - t0

    setattr(owner, name, wrapper)


def split(codec: Codec, data: bytes, spent: dict, rounds: int = 2) -> dict:
    """-> ms of the fastest of ``rounds`` decodes: total, nets, latent."""
    best: dict = {}
    for _ in range(rounds):
        spent.clear()
        t0 = time.perf_counter()
        codec.decode(data)
        total = time.perf_counter() - t0
        if not best or total < best["total"]:
            best = {"total": total, "nets": spent["nets"], "latent": spent["latent"]}
    return {k: 1000 * v for k, v in best.items()}


def gemm_rates(m: int = 384, k: int = 512, n: int = 768) -> dict:
    """GMAC/s of one [m, k] @ [k, n] product in float64 and in int8 (exact: integers)."""
    a = torch.randint(-64, 64, (m, k), dtype=torch.int8)
    b = torch.randint(-64, 64, (k, n), dtype=torch.int8)
    a64, b64 = a.double(), b.double()
    out = {}
    for name, f in (("float64", lambda: a64 @ b64), ("int8", lambda: torch._int_mm(a, b))):
        f()
        t = min(_once(f) for _ in range(20))
        out[name] = round(m * k * n / t / 1e9, 1)
    assert torch.equal(torch._int_mm(a, b).double(), a64 @ b64)
    return out


def _once(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--quality", type=float, nargs="*", default=[50, 100])
    args = ap.parse_args()
    keep_freed_memory()
    torch.set_num_threads(2)
    spent: dict = {}
    for name in NETS:
        timed(exact.ExactEntropyParameters, name, "nets", spent)
    timed(checkerboard.CheckerboardHyperprior, "decompress", "latent", spent)
    images = [Image.open(p).convert("RGB") for p in sorted(KODAK.glob("*.png"))]
    codecs = {n: Codec(n, weights=Path("weights")) for n in ("teacher", "student")}
    rows = {}
    for q in args.quality:
        for net, codec in codecs.items():
            sums = {"total": 0.0, "nets": 0.0, "latent": 0.0}
            for im in images:
                for key, v in split(codec, codec.encode(im, quality=q), spent).items():
                    sums[key] += v
            mean = {key: round(v / len(images), 1) for key, v in sums.items()}
            mean["rans_and_bookkeeping"] = round(mean["latent"] - mean["nets"], 1)
            mean["synthesis_and_output"] = round(mean["total"] - mean["latent"], 1)
            rows[f"{net} q{q:g}"] = mean
            print(net, f"q{q:g}", mean, flush=True)
        t, s = rows[f"teacher q{q:g}"], rows[f"student q{q:g}"]
        rows[f"ratio q{q:g}"] = {
            "now": round(t["total"] / s["total"], 2),
            "exact_networks_free": round((t["total"] - t["nets"]) / (s["total"] - s["nets"]), 2),
        }
        print(f"q{q:g} teacher / student:", rows[f"ratio q{q:g}"], flush=True)
    rates = gemm_rates()
    print("GMAC/s on 2 threads, [384, 512] @ [512, 768]:", rates)
    args.out.write_text(json.dumps({
        "date": datetime.date.today().isoformat(),
        "command": "python experiments/decode_split.py " + str(args.out) + " --quality "
                   + " ".join(f"{q:g}" for q in args.quality),
        "commit": git_commit(), "machine": machine(), "images": len(images),
        "milliseconds": rows, "gemm_gmac_per_s": rates,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
