"""Compare Kodak evaluation reports (``python -m lic_codec.evaluate --out``) of several
training variants against one anchor variant: BD-rate, mean bpp / PSNR, skipped channels and
median times, as a Markdown table.

    python -m training.sweep_report results/l1_sweep/*.json --anchor results/l1_sweep/l1_0.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lic_codec.bdrate import bd_rate


def summarize(report: dict, anchor: dict) -> dict:
    s, a = report["summary"], anchor["summary"]
    bd = bd_rate([x["bpp"] for x in a], [x["psnr"] for x in a],
                 [x["bpp"] for x in s], [x["psnr"] for x in s])
    n = len(s)
    return {
        "bd_rate_pct": bd,
        "bpp": [round(x["bpp"], 4) for x in s],
        "psnr": [round(x["psnr"], 3) for x in s],
        "skipped": [round(x["skipped_channels"], 1) for x in s],
        "encode_s": sum(x["encode_s"] for x in s) / n,
        "decode_s": sum(x["decode_s"] for x in s) / n,
    }


def table(rows: dict[str, dict], qualities: list[float]) -> str:
    qs = " / ".join(f"q{q:g}" for q in qualities)
    out = [f"| variant | BD-rate vs anchor | bpp ({qs}) | PSNR dB | skipped channels | "
           "encode s | decode s |", "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        bd = "n/a" if r["bd_rate_pct"] is None else f"{r['bd_rate_pct']:+.2f}%"
        out.append(f"| {name} | {bd} | {' / '.join(map(str, r['bpp']))} | "
                   f"{' / '.join(map(str, r['psnr']))} | {' / '.join(map(str, r['skipped']))} | "
                   f"{r['encode_s']:.3f} | {r['decode_s']:.3f} |")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.sweep_report")
    ap.add_argument("reports", nargs="+", type=Path)
    ap.add_argument("--anchor", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args(argv)
    anchor = json.loads(args.anchor.read_text())
    paths = sorted(set(args.reports), key=lambda p: (p.resolve() != args.anchor.resolve(), p.name))
    rows = {p.stem: summarize(json.loads(p.read_text()), anchor) for p in paths}  # anchor first
    print(table(rows, [x["quality"] for x in anchor["summary"]]))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
