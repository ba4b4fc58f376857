"""BD-rate against Pillow's AVIF (speed 6, the bench's qualities) of ``python -m lic_codec.evaluate``
reports, with AVIF coded on the same images: N spread over the report's folder (the images
an evaluation of N codes, train/data.spread; cached, train/curve.py). Reports made before
2026-12-07 coded the first N, and are refused here unless N is the whole folder.

Results: the BD-rates against AVIF in results/training.md (e.g. results/val8_student_205aa4f5.json).

    python experiments/reports_vs_avif.py results/effort_sga/effort_*.json [--out FILE]

``--window-of REPORT`` fits every BD-rate over that report's PSNR range only (its mean
curve's lowest to highest point), e.g. a candidate against AVIF over the shipped student's
range when the candidate reaches further:

    python experiments/reports_vs_avif.py results/branch_merge/student_v4_s10_186000.json \
        --window-of results/student_36c5cf85_kodak12.json

``--against REPORT`` takes that report's curve (the same images) as the anchor instead of
AVIF, e.g. a merge against the shipped student. Each line also gives, at each of the report's
own qualities, its PSNR minus the anchor's at the same rate (train/curve.py's ``psnr_gaps``).

An argument ``A.json+B.json`` pools the per-image rows of reports on disjoint images (e.g. the
first 6 Kodak images and the next 6, evaluated separately); the pooled images must be the
N that AVIF is coded on.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # training/, beside lic_codec


import argparse
import json
from pathlib import Path

from lic_codec.bdrate import bd_rate
from training.curve import avif_curve, psnr_gaps
from lic_codec.io.files import find_images, spread

DEFAULT_KODAK = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak"


def mean_curve(rows: list[dict], n_images: int) -> tuple[list[float], list[float]]:
    """Per-image rows of an evaluation -> (mean bpp, mean PSNR) per quality, low to high."""
    quals = sorted({r["quality"] for r in rows})
    bpp = [sum(r["bpp"] for r in rows if r["quality"] == q) / n_images for q in quals]
    psnr = [sum(r["psnr"] for r in rows if r["quality"] == q) / n_images for q in quals]
    return bpp, psnr


def pooled(arg: str) -> tuple[list[dict], list[dict], list[str]]:
    """"A.json+B.json" -> (the reports, their per-image rows, the sorted image names)."""
    reports = [json.loads(Path(p).read_text()) for p in arg.split("+")]
    if len({(rep["model_id"], rep.get("effort")) for rep in reports}) > 1:
        raise SystemExit(f"{arg}: pooled reports differ in network or effort")
    rows = [r for rep in reports for r in rep["rows"]]
    return reports, rows, sorted({r["image"] for r in rows})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("reports", nargs="+", help="REPORT.json or A.json+B.json (pooled)")
    ap.add_argument("--window-of", metavar="REPORT",
                    help="fit over this report's PSNR range (the same images; A.json+B.json "
                         "pools) instead of the overlap")
    ap.add_argument("--against", metavar="REPORT",
                    help="BD-rate against this report's curve (the same images; A.json+B.json "
                         "pools) instead of AVIF")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    # reference curves, each with its image names: the anchor and the window's owner
    refs = {name: pooled(arg) for name, arg in (("--against", a.against),
                                                ("--window-of", a.window_of)) if arg}
    window = None
    if a.window_of:
        _, rows, names = refs["--window-of"]
        _, ref_psnr = mean_curve(rows, len(names))
        window = (min(ref_psnr), max(ref_psnr))
    out = []
    for arg in a.reports:
        reports, rows, images = pooled(arg)
        data = Path(reports[0]["data"]) if len(reports) == 1 else DEFAULT_KODAK
        if not data.is_dir():  # a report made in another checkout: its images are checked below
            data = DEFAULT_KODAK
        first = [p.name for p in spread(find_images(data), len(images))]
        if images != first:
            raise SystemExit(f"{arg}: images {images} are not the {len(images)} spread over "
                             f"{data} that AVIF is coded on (train/data.spread)")
        for name, (_, _, ref_images) in refs.items():
            if ref_images != images:
                raise SystemExit(f"{arg} and {name} are not on the same images")
        bpp, psnr = mean_curve(rows, len(images))
        if a.against:
            _, ref_rows, _ = refs["--against"]
            anchor_bpp, anchor_psnr = mean_curve(ref_rows, len(images))
        else:
            anchor_bpp, anchor_psnr = avif_curve(data, len(images))
        bd = bd_rate(anchor_bpp, anchor_psnr, bpp, psnr, within=window)
        gaps = psnr_gaps(anchor_bpp, anchor_psnr, bpp, psnr)
        effort = reports[0].get("effort")
        out.append({"reports": arg, "images": len(images), "model_id": reports[0]["model_id"],
                    "effort": effort, "bpp": bpp, "psnr": psnr, "psnr_window": window,
                    "anchor": a.against or "AVIF", "bd_rate": bd, "db_at_equal_rate": gaps})
        where = "" if window is None else f" over {window[0]:.2f}-{window[1]:.2f} dB"
        print(f"{arg}: {len(images)} images, effort {effort}: "
              f"{'n/a' if bd is None else f'{bd:+.2f}%'} against "
              f"{a.against or 'AVIF'}{where}; dB at equal rate {gaps}")
    if a.out:
        a.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
