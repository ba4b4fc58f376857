"""What skipping a file's all-zero latent channels saves in the entropy parameter networks
(issue 40, item 5): the anchor and non-anchor networks' last layers compute the mean and scale
of the coded channels only. Both ways in one process, alternating, the best of 3 decodes each;
the symbols are identical (the decoder checks their CRC). Pause any training first.

Results: results/skip_params.json (student), results/skip_params_teacher.json.

    python experiments/skip_params.py [--model student] [--quality 0 50 100] [--out FILE]
"""

import argparse
import datetime
import json
import time
from pathlib import Path

import torch
from PIL import Image

from lic_codec.codec import Codec
from lic_codec.evaluate import git_commit, machine
from lic_codec.format.container import read_header
from lic_codec.io.files import find_images
from lic_codec.latent import exact

NETS = ("anchor_params", "nonanchor_params")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/kodak"))
    ap.add_argument("--quality", type=float, nargs="+", default=[0, 50, 100])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="student", help="student or teacher (the shipped ones)")
    ap.add_argument("--out", type=Path, default=Path("results/skip_params.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    codec = Codec(args.model)
    spent = {"nets": 0.0}
    skipping = {"on": True}
    cls = exact.ExactEntropyParameters
    for name in NETS:
        f = getattr(cls, name)

        def timed(self, *a, _f=f):
            *inputs, active = a
            t0 = time.perf_counter()
            try:
                if skipping["on"]:
                    return _f(self, *inputs, active)
                # before: every channel's mean and scale, of which the coder reads the active
                mu, scale = _f(self, *inputs, None)
                return mu[:, active], scale[:, active]
            finally:
                spent["nets"] += time.perf_counter() - t0

        setattr(cls, name, timed)
    images = find_images(args.data)
    rows = []
    for q in args.quality:
        acc = {"on": [0.0, 0.0], "off": [0.0, 0.0]}
        skipped = 0
        for path in images:
            data = codec.encode(Image.open(path).convert("RGB"), quality=q)
            skipped += read_header(data).skipped_channels
            best = {"on": [9e9, 9e9], "off": [9e9, 9e9]}
            for _ in range(3):
                for mode in ("off", "on"):
                    skipping["on"] = mode == "on"
                    spent["nets"] = 0.0
                    t0 = time.perf_counter()
                    codec.decode(data)
                    total = time.perf_counter() - t0
                    if total < best[mode][0]:
                        best[mode] = [total, spent["nets"]]
            for mode in acc:
                acc[mode][0] += best[mode][0] / len(images)
                acc[mode][1] += best[mode][1] / len(images)
        row = {"quality": q, "skipped_channels": skipped / len(images),
               "decode_ms": {m: round(1000 * v[0], 2) for m, v in acc.items()},
               "param_nets_ms": {m: round(1000 * v[1], 2) for m, v in acc.items()}}
        row["param_nets_saved"] = round(1 - acc["on"][1] / acc["off"][1], 3)
        row["decode_saved"] = round(1 - acc["on"][0] / acc["off"][0], 3)
        print(json.dumps(row))
        rows.append(row)
    rep = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "command": f"python experiments/skip_params.py --model {args.model} --quality "
                      + " ".join(f"{q:g}" for q in args.quality) + f" --out {args.out}",
           "commit": git_commit(), "machine": machine(), "threads": args.threads,
           "images": len(images), "model": f"{args.model} (shipped)", "rows": rows}
    args.out.write_text(json.dumps(rep, indent=1) + "\n")


if __name__ == "__main__":
    main()
