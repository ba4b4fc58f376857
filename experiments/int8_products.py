"""Would int8 matrix products speed up the exact entropy networks? Measured on the products
of a real decode.

Results: results/int8_products_kodim01_amd.json.

The exact networks (lic_codec/latent/exact.py) multiply 15-bit integer weights by integer
activations (|a| up to 2^24) in float64, which is exact. ``torch._int_mm`` multiplies int8
by int8 with int32 sums, many times faster per product, but needs the operands cut into
digits: signed 7-bit digits (in [-64, 63], so that no CPU kernel's 16-bit pair sums can
saturate) give 3 digits per weight and 2-4 per activation, so one float64 product becomes
3 x nd digit products (done as one stacked ``_int_mm``), plus the cost of cutting the
activations into digits and of adding the partial products back with their shifts in int64.

This script decodes kodim01 (quality 50) with the shipped teacher and student, captures every
float64 matrix product and 3x3 convolution of the exact networks, and times each both ways
(best of 10, 2 threads; pause training first). Every int8 result is checked equal to the
float64 one. The transposed convolutions of the hyper-synthesis are left out (a few ms, and
they would need a col2im besides).

    python experiments/int8_products.py OUT.json
"""

import argparse
import datetime
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lic_codec.allocator import keep_freed_memory
from lic_codec.codec import Codec
from lic_codec.evaluate import git_commit, machine

IMAGE = Path("../shared/data/kodak/kodim01.png")
BASE = 128  # digit base; digits in [-64, 63]


def capture(codec: Codec, data: bytes) -> list:
    """(name, bias [Cout, 1], W [Cout, K], A [K, N]) of every float64 product in one decode."""
    seen: list = []
    addmm, conv2d = torch.addmm, F.conv2d

    def rec_addmm(bias, w, a, *args, **kw):
        if w.dtype == torch.float64:
            seen.append((f"matmul {tuple(w.shape)}x{tuple(a.shape)}", bias.expand(w.shape[0], 1)
                         .clone(), w.clone(), a.clone()))
        return addmm(bias, w, a, *args, **kw)

    def rec_conv2d(x, w, b=None, stride=1, padding=0, *args, **kw):
        if x.dtype == torch.float64 and x.shape[0] == 1:
            cols = F.unfold(x, w.shape[2:], padding=padding, stride=stride)[0]  # [Cin*k*k, HW]
            seen.append((f"conv {tuple(w.shape)} on {tuple(x.shape[2:])}",
                         b.view(-1, 1).clone(), w.flatten(1).clone(), cols))
        return conv2d(x, w, b, stride, padding, *args, **kw)

    torch.addmm, F.conv2d = rec_addmm, rec_conv2d
    try:
        codec.decode(data)
    finally:
        torch.addmm, F.conv2d = addmm, conv2d
    return seen


def digits(x: torch.Tensor, n: int) -> list:
    """Integer-valued float tensor -> n signed base-128 digits (int8), least significant first."""
    out = []
    for _ in range(n - 1):
        hi = torch.floor((x + 64) * (1 / BASE))
        out.append((x - hi * BASE).to(torch.int8))
        x = hi
    out.append(x.to(torch.int8))
    return out


def n_digits(peak: float) -> int:
    n = 1
    while 63 * (BASE**n - 1) // (BASE - 1) < peak:
        n += 1
    return n


def best_ms(f, rounds: int = 10) -> float:
    f()
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1000 * min(ts)


def compare(bias, w, a) -> dict:
    m, k = w.shape
    n = a.shape[1]
    wd = torch.cat(digits(w, 3))  # [3m, k], made once when the weights load: not timed
    nd = n_digits(float(a.abs().max()))
    # float32 holds activations below 2^23 exactly, and its passes are cheaper
    a_split = a.float() if float(a.abs().max()) < 2**23 else a
    b64 = bias.long()

    def split():
        return torch.cat(digits(a_split, nd), 1)  # [k, nd * n]

    ad = split()

    def mm():
        return torch._int_mm(wd, ad)  # [3m, nd * n] int32

    p = mm()

    def combine():
        q = p.view(3, m, nd, n)
        acc = b64.expand(m, n).clone()
        for i in range(3):
            for j in range(nd):
                acc += q[i, :, j].long() << (7 * (i + j))  # int64: exact
        return acc

    ref = torch.addmm(bias, w, a)
    assert torch.equal(combine().double(), ref), "int8 digits disagree with float64"
    row = {"m": m, "k": k, "n": n, "activation_digits": nd,
           "float64_ms": best_ms(lambda: torch.addmm(bias, w, a)),
           "split_ms": best_ms(split), "int8_mm_ms": best_ms(mm), "combine_ms": best_ms(combine)}
    row["int8_total_ms"] = row["split_ms"] + row["int8_mm_ms"] + row["combine_ms"]
    return {key: round(v, 3) if isinstance(v, float) else v for key, v in row.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    keep_freed_memory()
    torch.set_num_threads(2)
    report: dict = {}
    for net in ("student", "teacher"):
        codec = Codec(net, weights=Path("weights"))
        rows = []
        for name, bias, w, a in capture(codec, codec.encode(IMAGE, quality=50)):
            rows.append({"product": name, **compare(bias, w, a)})
            print(net, rows[-1], flush=True)
        total = {key: round(sum(r[key] for r in rows), 2)
                 for key in ("float64_ms", "split_ms", "int8_mm_ms", "combine_ms",
                             "int8_total_ms")}
        print(net, "total", total, flush=True)
        report[net] = {"products": rows, "total": total}
    args.out.write_text(json.dumps({
        "date": datetime.date.today().isoformat(),
        "command": f"python experiments/int8_products.py {args.out}",
        "commit": git_commit(), "machine": machine(), "image": IMAGE.name, "quality": 50,
        "threads": 2, **report,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
