"""BD-rate against Pillow's AVIF (speed 6, the bench's qualities) of ``python -m lic_codec.evaluate``
reports, with AVIF coded on the same images: the first N of the report's folder (``--data``,
Kodak by default; cached, train/curve.py).

    python experiments/reports_vs_avif.py results/effort_sga/effort_*.json [--out FILE]

An argument ``A.json+B.json`` pools the per-image rows of reports on disjoint images (e.g. the
first 6 Kodak images and the next 6, evaluated separately); the pooled images must be the
first N of Kodak, as AVIF is coded on those.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lic_codec.bdrate import bd_rate
from lic_codec.train.curve import DEFAULT_KODAK, avif_curve
from lic_codec.train.data import find_images


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("reports", nargs="+", help="REPORT.json or A.json+B.json (pooled)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = []
    for arg in a.reports:
        reports = [json.loads(Path(p).read_text()) for p in arg.split("+")]
        if len({(rep["model_id"], rep.get("effort")) for rep in reports}) > 1:
            raise SystemExit(f"{arg}: pooled reports differ in network or effort")
        rows = [r for rep in reports for r in rep["rows"]]
        images = sorted({r["image"] for r in rows})
        data = Path(reports[0]["data"]) if len(reports) == 1 else DEFAULT_KODAK
        if not data.is_dir():  # a report made in another checkout: its images are checked below
            data = DEFAULT_KODAK
        first = [p.name for p in find_images(data)[:len(images)]]
        if images != first:
            raise SystemExit(f"{arg}: images {images} are not the first {len(images)} of {data}")
        quals = sorted({r["quality"] for r in rows})
        bpp = [sum(r["bpp"] for r in rows if r["quality"] == q) / len(images) for q in quals]
        psnr = [sum(r["psnr"] for r in rows if r["quality"] == q) / len(images) for q in quals]
        avif_bpp, avif_psnr = avif_curve(data, len(images))
        bd = bd_rate(avif_bpp, avif_psnr, bpp, psnr)
        effort = reports[0].get("effort")
        out.append({"reports": arg, "images": len(images), "model_id": reports[0]["model_id"],
                    "effort": effort, "bpp": bpp, "psnr": psnr, "bd_rate_vs_avif": bd})
        print(f"{arg}: {len(images)} images, effort {effort}: "
              f"{'n/a' if bd is None else f'{bd:+.2f}%'} against AVIF")
    if a.out:
        a.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
