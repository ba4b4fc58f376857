"""A run's training curve in the target's terms: the BD-rate against AVIF of every evaluation in
its ``eval.tsv``, with AVIF coded on the same images in the same process.

Why: per-quality bpp and PSNR pairs hide whether a run is closing the gap to AVIF; one number
per evaluation shows it, and its trend is what the next session's compute plan rests on.
Evaluations with fewer than four qualities (the runs' evaluations before 2026-11-24 had three)
are listed without a BD-rate. Evaluations of N images code N spread over the folder
(data.spread); those written before 2026-12-07 coded the first N, so their BD-rates here are
against AVIF on other images and read only as a trend.

    python -m training.curve runs/student_v2 runs/sweep/student_cosine [--since 50000]

``--against REPORT`` (a ``python -m lic_codec.evaluate`` report on the same first images)
gives the BD-rate against that network instead: no AVIF coding, so it takes a second, and arms
are compared with the shipped network directly.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

from lic_codec.bdrate import bd_rate

DEFAULT_VAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "val"


def read_evals(path: Path) -> dict[int, tuple[list[float], list[float], int]]:
    """eval.tsv -> {step: (bpp per quality, PSNR per quality, images)}."""
    out: dict[int, tuple[list[float], list[float], int]] = {}
    lines = path.read_text().splitlines()
    cols = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(cols, line.split("\t")))
        bpp, psnr, _ = out.setdefault(int(row["step"]), ([], [], int(row["images"])))
        bpp.append(float(row["bpp"]))
        psnr.append(float(row["psnr"]))
    return out


CACHE = Path.home() / ".cache" / "licc" / "avif_curves.json"


def avif_curve(data: Path, images: int) -> tuple[list[float], list[float]]:
    """Mean bpp and PSNR of Pillow's AVIF (speed 6, as in the bench) over the images that an
    evaluation of ``images`` images codes (data.spread).
    Cached per image set (paths, sizes, mtimes) and Pillow version: coding 12 images takes
    ~3 CPU-minutes, taken from a training run every time a curve is looked at."""
    import hashlib

    import PIL

    from lic_codec.bench import QUALITIES, Contender, _pillow, mean_curves, run_rd
    from .data import find_images, spread

    paths = spread(find_images(data), images)
    ident = [PIL.__version__, QUALITIES["avif"]] + [
        (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()
    try:
        cache = json.loads(CACHE.read_text())
    except (OSError, ValueError):  # none yet, or unreadable: code AVIF afresh
        cache = {}
    if key not in cache:
        avif = Contender("AVIF", QUALITIES["avif"], *_pillow("AVIF", speed=6))
        curve = mean_curves(run_rd(paths, [avif]))["AVIF"]
        cache[key] = [curve["bpp"], curve["psnr"]]
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        tmp = CACHE.with_suffix(f".{os.getpid()}.tmp")  # another process may read it now
        tmp.write_text(json.dumps(cache))
        tmp.replace(CACHE)
    return cache[key][0], cache[key][1]


def psnr_gaps(anchor_bpp: list[float], anchor_psnr: list[float], bpp: list[float],
              psnr: list[float]) -> str:
    """Each quality's PSNR minus the anchor's at the same rate (interpolated in log rate), or
    "." outside the anchor's range. Why: a BD-rate is one number; where along the curve a run
    is behind (a wide latent lagged by 1 dB at low rates and led at the top) decides what to
    change."""
    import numpy as np

    order = np.argsort(anchor_bpp)
    ab, ap = np.log(np.asarray(anchor_bpp)[order]), np.asarray(anchor_psnr)[order]
    gaps = [f"{p - np.interp(np.log(b), ab, ap):+.2f}" if ab[0] <= np.log(b) <= ab[-1] else "."
            for b, p in zip(bpp, psnr)]
    return " ".join(gaps)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.curve", description=__doc__)
    ap.add_argument("runs", nargs="+", type=Path, help="run directories holding eval.tsv")
    ap.add_argument("--data", type=Path, default=DEFAULT_VAL,
                    help="the images the runs evaluated on (N of them spread over the folder, N "
                         "from eval.tsv)")
    ap.add_argument("--since", type=int, default=0, help="only evaluations from this step on")
    ap.add_argument("--against", type=Path, default=None, metavar="REPORT",
                    help="BD-rate against this evaluate report (same images) instead of AVIF")
    args = ap.parse_args(argv)

    anchors: dict[int, tuple[list[float], list[float]]] = {}
    anchor_name = "AVIF"
    if args.against:
        report = json.loads(args.against.read_text())
        anchors[report["images"]] = ([r["bpp"] for r in report["summary"]],
                                     [r["psnr"] for r in report["summary"]])
        anchor_name = f"{report['model']} {report['model_id'][:8]}"
    table = defaultdict(list)
    for run in args.runs:
        for step, (bpp, psnr, n) in sorted(read_evals(run / "eval.tsv").items()):
            if step < args.since:
                continue
            if n not in anchors:
                if args.against:
                    raise SystemExit(f"{run}: evaluated on {n} images, {args.against} on "
                                     f"{report['images']}")
                anchors[n] = avif_curve(args.data, n)
            table[run].append((step, n, len(bpp), bd_rate(*anchors[n], bpp, psnr),
                               psnr_gaps(*anchors[n], bpp, psnr)))
    print(f"run\tstep\timages\tqualities\tBD-rate vs {anchor_name} (%)\t"
          "dB at equal rate, per quality")
    for run, rows in table.items():
        for step, n, qualities, bd, gaps in rows:
            print(f"{run}\t{step}\t{n}\t{qualities}\t" + ("-" if bd is None else f"{bd:+.1f}")
                  + f"\t{gaps}")


if __name__ == "__main__":
    main()
