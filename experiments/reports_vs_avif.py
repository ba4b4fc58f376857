"""BD-rate against Pillow's AVIF (speed 6, the bench's qualities) of ``python -m lic_codec.evaluate``
reports, with AVIF coded on the same first Kodak images (cached, train/curve.py).

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
        first = [p.name for p in sorted(DEFAULT_KODAK.glob("*.png"))[:len(images)]]
        if images != first:
            raise SystemExit(f"{arg}: images {images} are not the first {len(images)} of Kodak")
        quals = sorted({r["quality"] for r in rows})
        bpp = [sum(r["bpp"] for r in rows if r["quality"] == q) / len(images) for q in quals]
        psnr = [sum(r["psnr"] for r in rows if r["quality"] == q) / len(images) for q in quals]
        avif_bpp, avif_psnr = avif_curve(DEFAULT_KODAK, len(images))
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
