"""Does a file decode the same under other arithmetic? Encode here, decode in subprocesses
that change how PyTorch computes, and compare.

    python -m lic_codec.portability --data ../shared/data/kodak --out results/portability.json

Configurations: default; OMP_NUM_THREADS=1; ATEN_CPU_CAPABILITY=default (no SIMD kernels);
DNNL_MAX_CPU_ISA=SSE41 (oneDNN limited to SSE4.1); oneDNN disabled. A decode succeeds only
if the decoded symbols match the CRC the encoder stored, so "ok" means the latent is
identical; the pixel checksum is reported too (the float synthesis may differ by rounding).

Also measures how fragile the plain float path would be: the fraction of scale-table
indexes that a one-ulp change of the predicted scale would flip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGS = {
    "default": ({}, ""),
    "OMP_NUM_THREADS=1": ({"OMP_NUM_THREADS": "1"}, ""),
    "ATEN_CPU_CAPABILITY=default": ({"ATEN_CPU_CAPABILITY": "default"}, ""),
    "DNNL_MAX_CPU_ISA=SSE41": ({"DNNL_MAX_CPU_ISA": "SSE41"}, ""),
    "oneDNN disabled": ({}, "torch.backends.mkldnn.enabled = False\n"),
}

_DECODER = """
import hashlib, json, sys
from pathlib import Path
import torch
{setup}
from lic_codec.codec import Codec
from lic_codec.errors import LiccError
weights = Path(sys.argv[1]) if sys.argv[1] else None
codec = Codec(weights=weights)
out = {{}}
for f in sys.argv[2:]:
    try:
        im = codec.decode(Path(f).read_bytes())
        out[f] = {{"ok": True, "pixels": hashlib.sha256(im.tobytes()).hexdigest()[:16]}}
    except LiccError as exc:
        out[f] = {{"ok": False, "error": str(exc)}}
print(json.dumps(out))
"""


def cross_decode(files: list[Path], weights: Path | None) -> dict[str, dict]:
    results = {}
    for name, (env_extra, setup) in CONFIGS.items():
        env = {**os.environ, **env_extra}
        code = _DECODER.format(setup=setup)
        r = subprocess.run([sys.executable, "-c", code, str(weights or ""), *map(str, files)],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            results[name] = {"process_failed": r.stderr.strip().splitlines()[-1:]}
            continue
        results[name] = json.loads(r.stdout.strip().splitlines()[-1])
    return results


def float_fragility(images: list[Path], weights: Path | None, qualities=(0.0, 50.0, 100.0)
                    ) -> dict:
    """Run the float networks (as a float decoder would) and count the scales whose table
    index changes when the scale moves by one ulp up or down."""
    import numpy as np
    import torch
    from PIL import Image

    from .codec import Codec, pad_to_grid
    from .latent.checkerboard import SCALE_TABLE, anchor_mask
    from .quality import rate_position

    codec = Codec(weights=weights)
    m = codec.model
    lat = m.latent
    table = SCALE_TABLE.numpy().astype(np.float32)

    def index(s: np.ndarray) -> np.ndarray:
        return np.asarray(np.searchsorted(table[:-1], np.maximum(s, table[0]), side="left"))

    total = flips = 0
    with torch.inference_mode():
        for p in images:
            x = pad_to_grid(torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)
                     [None].float() / 255)
            feats = m.g_a(x)
            for q in qualities:
                y = feats * m.gains(torch.tensor([rate_position(q, m.cfg.num_levels)]))[0]
                med = lat.z_medians.view(1, -1, 1, 1)
                hyper = lat.h_s(torch.round(lat.h_a(y) - med) + med)
                mu_a, s_a = lat.params_anchor(hyper).chunk(2, 1)
                anchors = anchor_mask(y.shape[2], y.shape[3])
                y_hat = (torch.round(y - mu_a) + mu_a) * anchors
                _, s_n = lat.params_nonanchor(torch.cat([hyper, lat.context_of(y_hat)], 1)).chunk(2, 1)
                s = torch.where(anchors, s_a, s_n).numpy().ravel().astype(np.float32)
                base = index(s)
                up = index(np.nextafter(s, np.float32(np.inf)))
                down = index(np.nextafter(s, np.float32(-np.inf)))
                flips += int(((up != base) | (down != base)).sum())
                total += s.size
    return {"scales": total, "flipped_by_one_ulp": flips,
            "one_in": (total // flips) if flips else None}


def main(argv=None) -> None:
    from .codec import Codec
    from .evaluate import git_commit, machine
    from .io.files import find_images

    ap = argparse.ArgumentParser(prog="python -m lic_codec.portability")
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kodak")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--quality", type=float, default=None, help="default: the default quality")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    images = find_images(args.data)[: args.limit] if args.limit else find_images(args.data)
    codec = Codec(weights=args.weights)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for p in images:
            f = Path(tmp) / (p.stem + ".licc")
            f.write_bytes(codec.encode(p, quality=args.quality))
            files.append(f)
        here = {str(f): hashlib.sha256(codec.decode(f.read_bytes()).tobytes()).hexdigest()[:16]
                for f in files}
        results = cross_decode(files, args.weights)
    summary = {}
    for name, res in results.items():
        if "process_failed" in res:
            summary[name] = {"decoded": 0, "images": len(files), "error": res["process_failed"]}
            continue
        ok = sum(r["ok"] for r in res.values())
        same = sum(r.get("pixels") == here[f] for f, r in res.items())
        summary[name] = {"decoded_with_identical_symbols": ok, "identical_pixels": same,
                         "images": len(files)}
    fragility = float_fragility(images, args.weights)
    report = {"commit": git_commit(), "machine": machine(), "images": len(files),
              "command": "python -m lic_codec.portability " + " ".join(sys.argv[1:]),
              "configurations": summary, "float_path_fragility": fragility}
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    if any(v.get("decoded_with_identical_symbols") != len(files) for v in summary.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
