"""licc bench: licc against the codecs users would pick instead, on the same images, in the
same process, from real bytes.

For every codec, image and quality setting: bpp from the encoded bytes (licc's header
included), PSNR over RGB at 8 bits, MS-SSIM, SSIMULACRA2, encode and decode wall time. Then
mean curves, BD-rates per metric against AVIF, WebP and JPEG (and, for PSNR, against CompressAI's
published Kodak curves, labelled as published), a speed comparison with CompressAI's reference architectures (random weights:
time does not depend on them), a plot, and the results files.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from .bdrate import bd_rate
from .evaluate import git_commit, machine, psnr_rgb8
from .ssimulacra2 import MIN_SIDE as SSIMULACRA2_MIN_SIDE
from .ssimulacra2 import score as ssimulacra2

QUALITIES: dict[str, list[float]] = {
    "jpeg": [10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "webp": [10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "avif": [10, 20, 30, 40, 50, 60, 70, 80, 90],
    "jxl": [10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "licc": [0, 12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100],
}
# The metrics of the BD-rate table: row key -> (label, how a value becomes the quality axis).
# MS-SSIM is compared in dB (-10 log10(1 - MS-SSIM)), as in the learned-compression papers.
METRICS: dict[str, tuple[str, Callable[[float], float]]] = {
    "psnr": ("PSNR", lambda v: v),
    "ms_ssim": ("MS-SSIM", lambda v: -10.0 * np.log10(max(1.0 - v, 1e-10))),
    "ssimulacra2": ("SSIMULACRA2", lambda v: v),
}
# CompressAI's published Kodak curves (../shared/anchors/kodak), compared as published.
PUBLISHED: dict[str, str] = {
    "bmshj2018-hyperprior (published)": "compressai-bmshj2018-hyperprior_mse_cpu.json",
    "mbt2018-mean (published)": "compressai-mbt2018-mean_mse_cpu.json",
    "mbt2018 (published)": "compressai-mbt2018_mse_cpu.json",
    "ELIC (published)": "paper-elic2022_mse.json",
    "BPG 4:4:4 (published)": "bpg_444_x265_ycbcr.json",
    "VTM (published)": "vtm.json",
}


# The classical codecs every bench should hold, and what brings each one.
CLASSICAL = {
    "JPEG": "Pillow", "WebP": "Pillow",
    "AVIF": "Pillow 11.2 or newer built with libavif (pip install -U pillow)",
    "JPEG XL": "pip install 'licc[bench]' (pillow-jxl-plugin)",
}


@dataclass
class Contender:
    name: str
    qualities: list[float]
    encode: Callable[[Image.Image, float], bytes]
    decode: Callable[[bytes], Image.Image]


def _pillow(fmt: str, **opts) -> tuple[Callable, Callable]:
    def enc(im: Image.Image, q: float) -> bytes:
        buf = io.BytesIO()
        im.save(buf, format=fmt, quality=int(q), **opts)
        return buf.getvalue()

    def dec(data: bytes) -> Image.Image:
        out = Image.open(io.BytesIO(data))
        out.load()
        return out.convert("RGB")

    return enc, dec


def _licc(codec) -> tuple[Callable, Callable]:
    def enc(im: Image.Image, q: float) -> bytes:
        return codec.encode(im, quality=q)

    def dec(data: bytes) -> Image.Image:
        return codec.decode(data).convert("RGB")

    return enc, dec


def contenders(models: list[str], weights: Path | None = None,
               threads: int | None = None) -> list[Contender]:
    """licc with each model, then the classical codecs this install has."""
    from .codec import Codec

    out = []
    for m in models:
        codec = Codec(m, weights=weights, threads=threads)
        out.append(Contender(f"licc-{m}", QUALITIES["licc"], *_licc(codec)))
    return out + classical_contenders()


def classical_contenders() -> list[Contender]:
    """JPEG, WebP, AVIF and JPEG XL through Pillow, the ones this install has (CLASSICAL
    says what brings the others)."""
    from PIL import features

    out = [Contender("JPEG", QUALITIES["jpeg"], *_pillow("JPEG")),
           Contender("WebP", QUALITIES["webp"], *_pillow("WEBP", method=4))]
    if features.check("avif"):
        out.append(Contender("AVIF", QUALITIES["avif"], *_pillow("AVIF", speed=6)))
    try:
        import pillow_jxl  # noqa: F401  (registers JXL with Pillow)

        out.append(Contender("JPEG XL", QUALITIES["jxl"], *_pillow("JXL")))
    except ImportError:
        pass
    return out


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    """MS-SSIM over RGB (pytorch-msssim, data range 255); None for images too small."""
    if min(a.shape[:2]) < 161:
        return None
    import torch
    from pytorch_msssim import ms_ssim as _ms

    ta = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float()
    tb = torch.from_numpy(b.copy()).permute(2, 0, 1)[None].float()
    return float(_ms(ta, tb, data_range=255.0))


def run_rd(images: list[Path], cands: list[Contender], progress=None) -> list[dict]:
    rows = []
    for path in images:
        ref_im = Image.open(path).convert("RGB")
        ref = np.asarray(ref_im)
        pixels = ref.shape[0] * ref.shape[1]
        for c in cands:
            for q in c.qualities:
                t0 = time.perf_counter()
                data = c.encode(ref_im, q)
                t1 = time.perf_counter()
                out = np.asarray(c.decode(data))
                t2 = time.perf_counter()
                rows.append({
                    "codec": c.name, "image": path.name, "quality": q, "bytes": len(data),
                    "bpp": 8 * len(data) / pixels, "psnr": psnr_rgb8(ref, out),
                    "ms_ssim": ms_ssim(ref, out),
                    "ssimulacra2": (ssimulacra2(ref, out)
                                    if min(ref.shape[:2]) >= SSIMULACRA2_MIN_SIDE else None),
                    "encode_s": t1 - t0, "decode_s": t2 - t1,
                })
                if progress:
                    progress.update(1)
    return rows


def _mean(values: list) -> float | None:
    """Mean of the values a metric has (None where it is undefined, e.g. tiny images)."""
    have = [v for v in values if v is not None]
    return float(np.mean(have)) if have else None


def mean_curves(rows: list[dict]) -> dict[str, dict[str, list]]:
    """Per codec and quality setting, the mean of every measured column over the images."""
    keys = ["bpp", *METRICS, "encode_s", "decode_s"]
    curves: dict[str, dict[str, list]] = {}
    for name in dict.fromkeys(r["codec"] for r in rows):
        qs = list(dict.fromkeys(r["quality"] for r in rows if r["codec"] == name))
        cur: dict[str, list] = {"quality": qs, **{k: [] for k in keys}}
        for q in qs:
            sel = [r for r in rows if r["codec"] == name and r["quality"] == q]
            for k in keys:
                cur[k].append(_mean([r.get(k) for r in sel]))
        curves[name] = cur
    return curves


def published_curves(anchor_dir: Path) -> dict[str, dict[str, list]]:
    out = {}
    for label, fname in PUBLISHED.items():
        p = anchor_dir / fname
        if p.is_file():
            res = json.loads(p.read_text())["results"]
            out[label] = {"bpp": res["bpp"], "psnr": res["psnr-rgb"]}
    return out


REFERENCES = ("AVIF", "WebP", "JPEG")  # what users would pick instead, in that order


def rescore(report: dict, command: str) -> dict:
    """A saved report with its BD-rates recomputed from its own mean curves by today's
    ``bd_table`` (no image is coded again): a new reference or metric reaches old benches.
    The coding run's date, command and commit stay; ``rescored`` says when and how."""
    out = dict(report)
    out["bd_rate"] = bd_table(report["curves"], report.get("published") or {})
    out["rescored"] = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                       "command": command, "commit": git_commit()}
    return out


def bd_table(curves: dict, published: dict) -> dict[str, dict[str, float | None]]:
    """BD-rate of every codec against AVIF, WebP and JPEG, per metric ("PSNR vs AVIF", ...).
    Published curves have PSNR only; a metric a curve lacks gives None."""

    def axis(cur: dict, key: str):
        vals = cur.get(key)
        if not vals or any(v is None for v in vals):
            return None
        return [METRICS[key][1](v) for v in vals]

    refs = [r for r in REFERENCES if r in curves]
    table = {}
    for name, c in {**curves, **published}.items():
        row = {}
        for key, (label, _) in METRICS.items():
            for ref in refs:
                a, t = axis(curves[ref], key), axis(c, key)
                row[f"{label} vs {ref}"] = (None if a is None or t is None else
                                            bd_rate(curves[ref]["bpp"], a, c["bpp"], t))
        table[name] = row
    return table


def speed_comparison(image: Path, models: list[str], weights: Path | None,
                     repeats: int = 2) -> dict:
    """Wall time to code one image: licc models vs CompressAI's reference architectures
    (MeanScaleHyperprior N=128/M=192, serial-context mbt2018 N=192/M=192; random weights)."""
    import torch

    from .codec import Codec, pad_to_grid

    im = Image.open(image).convert("RGB")
    x = pad_to_grid(torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255)

    def best(fn) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    res: dict[str, dict[str, float]] = {}
    for m in models:
        c = Codec(m, weights=weights)
        data = c.encode(im)
        res[f"licc-{m}"] = {"encode_s": best(lambda: c.encode(im)),
                            "decode_s": best(lambda: c.decode(data))}
    try:  # the reference architectures need the [bench] extra
        from compressai.models import JointAutoregressiveHierarchicalPriors, MeanScaleHyperprior
    except ImportError:
        MeanScaleHyperprior = None
    torch.manual_seed(0)
    refs = {} if MeanScaleHyperprior is None else {
        "CompressAI MeanScaleHyperprior N=128 M=192": MeanScaleHyperprior(128, 192),
        "CompressAI mbt2018 serial context N=192 M=192":
            JointAutoregressiveHierarchicalPriors(192, 192),
    }
    for name, net in refs.items():
        net.eval()
        net.update(force=True)
        with torch.inference_mode():
            enc = net.compress(x)
            res[name] = {
                "encode_s": best(lambda: net.compress(x)),
                "decode_s": best(lambda: net.decompress(enc["strings"], enc["shape"]), ),
            }
    base = res.get("licc-student") or next(iter(res.values()))
    for v in res.values():
        v["encode_x_student"] = v["encode_s"] / base["encode_s"]
        v["decode_x_student"] = v["decode_s"] / base["decode_s"]
    return {"image": image.name, "threads": torch.get_num_threads(), "times": res}


def plot(curves: dict, published: dict, out: Path, title: str = "Kodak") -> None:
    """Rate against PSNR (with the published curves) and against SSIMULACRA2, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), dpi=110)
    for ax, key, label in ((axes[0], "psnr", "PSNR RGB (dB)"),
                           (axes[1], "ssimulacra2", "SSIMULACRA2")):
        for name, c in curves.items():
            if all(v is not None for v in c.get(key, [None])):
                ax.plot(c["bpp"], c[key], marker="o", ms=3, lw=1.8 if "licc" in name else 1.2,
                        label=name + " (measured)")
        if key == "psnr":
            for name, c in published.items():
                ax.plot(c["bpp"], c["psnr"], ls="--", lw=1, label=name)
            ax.set_ylim(22, 44)
        ax.set_xlim(0, 2.0)
        ax.set_xlabel("bits per pixel (real files)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"{title}: {label.split(' ')[0]}")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def markdown(report: dict) -> str:
    refs = list(dict.fromkeys(k for v in report["bd_rate"].values() for k in v))
    folder = Path(report.get("directory", "kodak")).name
    lines = [
        f"Bench on {folder} ({report['images']} images), {report['date']}, commit {report['commit']}, "
        f"{report['machine']}, {report['threads']} threads. Command: `{report['command']}`."
        + (f" BD-rates recomputed from its curves {report['rescored']['date']}, commit "
           f"{report['rescored']['commit']}: `{report['rescored']['command']}`."
           if report.get("rescored") else ""),
        "",
        "| codec | " + " | ".join(f"BD-rate {r}" for r in refs)
        + " | mean encode s | mean decode s |",
        "|---|" + "---|" * len(refs) + "---|---|",
    ]
    for name, bd in report["bd_rate"].items():
        cur = report["curves"].get(name)
        cells = [("n/a" if bd[r] is None else f"{bd[r]:+.1f}%") for r in refs]
        t = (f"{np.mean(cur['encode_s']):.3f} | {np.mean(cur['decode_s']):.3f}" if cur
             else "published | published")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {t} |")
    if report.get("speed"):
        sp = report["speed"]
        lines += ["", f"Speed on {sp['image']} ({sp['threads']} threads, best of repeats):", "",
                  "| network | encode s | decode s | encode / student | decode / student |",
                  "|---|---|---|---|---|"]
        for name, v in sp["times"].items():
            lines.append(f"| {name} | {v['encode_s']:.3f} | {v['decode_s']:.3f} | "
                         f"{v['encode_x_student']:.2f}x | {v['decode_x_student']:.2f}x |")
    return "\n".join(lines) + "\n"


def write_results_readme(path: Path, table: str, folder: str = "kodak") -> None:
    """Put the table between this folder's markers in results/README.md (added if absent)."""
    start, end = f"<!-- bench:{folder}:start -->", f"<!-- bench:{folder}:end -->"
    text = path.read_text() if path.exists() else "# Results\n\n"
    block = f"{start}\n{table}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + f"\n\n## Bench on {folder}\n\n" + block + "\n"
    path.write_text(text)
