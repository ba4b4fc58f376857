"""Turn a training checkpoint into a shipped weights file and update weights/manifest.json.

    python -m training.export runs/student/ckpt.pt --name student

The weights file holds the config, the fp32 state dict and the integer entropy tables
computed here once (so decoders never recompute CDFs with their own floating point).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from lic_codec.models.config import ModelConfig
from lic_codec.models.lic import LicModel, inference_state, upgrade_state
from lic_codec.models.registry import file_id, retired_path, weights_dir
from .checkpoint import as_half, lineage
from .ema import averaged_state


def export_model(model: LicModel, path: Path, half: bool = False) -> str:
    """Write ``model`` (tables are rebuilt from its weights) and return the file's sha256.
    ``half``: store the weights in float16 (half the bytes; coding upcasts them, so encoder
    and decoder still compute with the same numbers, the ones in the file)."""
    if half:
        with torch.no_grad():
            for t in model.state_dict().values():
                t.copy_(as_half(t))  # code with exactly what the file holds
    model.latent.build_tables()
    zt, yt = model.latent.z_tables, model.latent.y_tables
    assert zt is not None and yt
    arrays = {**zt.to_arrays("z"), **yt["anchor"].to_arrays("ya"),
              **yt["nonanchor"].to_arrays("yn"),
              "y_thresholds": model.latent.scale_thresholds}
    state = {k: v.detach().clone() for k, v in inference_state(model.state_dict()).items()}
    if half:
        state = {k: as_half(v) for k, v in state.items()}
    blob = {
        "config": model.cfg.to_dict(),
        "model": state,
        "tables": {k: torch.from_numpy(v.copy()) for k, v in arrays.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.export")
    ap.add_argument("checkpoint", nargs="?", help="training checkpoint to export")
    ap.add_argument("--name", default="student")
    ap.add_argument("--out-dir", default=None, help="default: the shipped weights/ folder")
    ap.add_argument("--data-note", default="../shared/data/train (607 photos: BSDS500, "
                    "Wikipedia, Debian wallpapers, USC-SIPI, PyPI samples)")
    ap.add_argument("--half", action="store_true",
                    help="store the weights in float16 (half the size; measure the R-D cost)")
    ap.add_argument("--raw", action="store_true",
                    help="export the trained weights even when the checkpoint has their "
                         "moving average (which is exported by default; train --ema)")
    ap.add_argument("--kodak", default=None,
                    help="only record this evaluation report (python -m lic_codec.evaluate "
                         "--out) in the manifest, without re-exporting")
    args = ap.parse_args(argv)
    out_dir = Path(args.out_dir) if args.out_dir else weights_dir()
    if args.kodak:
        record_kodak(out_dir, args.name, Path(args.kodak))
        return

    if not args.checkpoint:
        ap.error("a checkpoint is required (or --kodak REPORT)")
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    cfg = ModelConfig.from_dict(state["config"])
    model = LicModel(cfg)
    averaged = "ema" in state and not args.raw
    model.load_state_dict(upgrade_state(averaged_state(state) if averaged else state["model"]))
    model.eval()
    path = out_dir / f"{args.name}.pt"
    man_path = out_dir / "manifest.json"
    man = json.loads(man_path.read_text()) if man_path.exists() else {}
    staged = out_dir / f"{args.name}.new.pt"
    sha = export_model(model, staged, args.half)
    entry = man.get(args.name, {})
    if path.is_file() and file_id(path).hex() == sha[:32]:
        staged.unlink()  # the same weights again: nothing to retire
    else:
        retire(out_dir, args.name, man)
        staged.replace(path)
        entry.pop("kodak", None)  # measured with the old weights
    behind = lineage(state, args.checkpoint)
    entry.update({
        "file": path.name,
        "sha256": sha,
        "config": cfg.to_dict(),
        "parameters": model.param_count(),
        "weights_dtype": "float16" if args.half else "float32",
        "training": {
            "data": args.data_note,
            "steps": behind["steps"],
            "cpu_hours": round(behind["cpu_seconds"] / 3600, 2),
            "runs": behind["runs"],  # oldest first; the last one made these weights
            "last_run": {"steps": state["step"],
                         "wall_hours": round(state["wall_seconds"] / 3600, 2)},
            "args": {k: v for k, v in state.get("args", {}).items()
                     if k in ("batch", "patch", "lr", "lr_decay_at", "l1", "clip", "skip_factor", "fp32",
                              "precision", "gain_lr_scale", "sampling", "ema",
                              "loss_power", "rate_skew")},
            "weights": "moving average" if averaged else "trained",
        },
    })
    man[args.name] = entry
    man_path.write_text(json.dumps(man, indent=2) + "\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {sha[:16]}...)"
          + (", the moving average of the weights" if averaged else ""))


def retire(out_dir: Path, name: str, man: dict) -> None:
    """Move the weights about to be replaced to ``retired/`` (the decoder looks there for
    files made with them) and keep their manifest entry, minus its history, under
    ``retired``."""
    path = out_dir / f"{name}.pt"
    if not path.is_file():
        return
    old = retired_path(name, file_id(path), out_dir)
    old.parent.mkdir(exist_ok=True)
    path.replace(old)
    entry = man.get(name)
    if entry:
        record = {k: v for k, v in entry.items() if k != "retired"}
        record["file"] = f"retired/{old.name}"
        entry["retired"] = entry.get("retired", []) + [record]
    print(f"retired the previous {name} weights to {old}")


def record_kodak(out_dir: Path, name: str, report_path: Path) -> None:
    """Copy the per-quality Kodak means of an evaluation report into the manifest entry,
    after checking the report was made with these very weights."""
    rep = json.loads(report_path.read_text())
    man_path = out_dir / "manifest.json"
    man = json.loads(man_path.read_text())
    entry = man[name]
    if not entry["sha256"].startswith(rep["model_id"]):
        raise SystemExit(f"{report_path} was made with other weights than {name}")
    entry["kodak"] = {
        "report": str(report_path), "date": rep["date"], "commit": rep["commit"],
        "images": rep["images"],
        "per_quality": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()
                         if k in ("quality", "preset", "bpp", "psnr", "skipped_channels")}
                        for s in rep["summary"]],
    }
    man_path.write_text(json.dumps(man, indent=2) + "\n")
    print(f"recorded {report_path} in {man_path}")


if __name__ == "__main__":
    main()
