"""Turn a training checkpoint into a shipped weights file and update weights/manifest.json.

    python -m lic_codec.train.export runs/student/ckpt.pt --name student

The weights file holds the config, the fp32 state dict and the integer entropy tables
computed here once (so decoders never recompute CDFs with their own floating point).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from ..models.config import ModelConfig
from ..models.lic import LicModel, inference_state, upgrade_state
from ..models.registry import weights_dir


def export_model(model: LicModel, path: Path) -> str:
    """Write ``model`` (tables are rebuilt from its weights) and return the file's sha256."""
    model.latent.build_tables()
    zt, yt = model.latent.z_tables, model.latent.y_tables
    assert zt is not None and yt is not None
    arrays = {**zt.to_arrays("z"), **yt.to_arrays("y"),
              "y_thresholds": model.latent.scale_thresholds}
    state = {k: v.detach().clone() for k, v in inference_state(model.state_dict()).items()}
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
    ap = argparse.ArgumentParser(prog="python -m lic_codec.train.export")
    ap.add_argument("checkpoint")
    ap.add_argument("--name", default="student")
    ap.add_argument("--out-dir", default=None, help="default: the shipped weights/ folder")
    ap.add_argument("--data-note", default="../shared/data/train (607 photos: BSDS500, "
                    "Wikipedia, Debian wallpapers, USC-SIPI, PyPI samples)")
    args = ap.parse_args(argv)

    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    cfg = ModelConfig.from_dict(state["config"])
    model = LicModel(cfg)
    model.load_state_dict(upgrade_state(state["model"]))
    model.eval()
    out_dir = Path(args.out_dir) if args.out_dir else weights_dir()
    path = out_dir / f"{args.name}.pt"
    sha = export_model(model, path)

    man_path = out_dir / "manifest.json"
    man = json.loads(man_path.read_text()) if man_path.exists() else {}
    entry = man.get(args.name, {})
    entry.update({
        "file": path.name,
        "sha256": sha,
        "config": cfg.to_dict(),
        "parameters": model.param_count(),
        "training": {
            "data": args.data_note,
            "steps": state["step"],
            "wall_hours": round(state["wall_seconds"] / 3600, 2),
            "cpu_hours": round(2 * state["wall_seconds"] / 3600, 2),
            "args": {k: v for k, v in state.get("args", {}).items()
                     if k in ("batch", "patch", "lr", "lr_decay_at", "l1", "clip", "fp32")},
        },
    })
    man[args.name] = entry
    man_path.write_text(json.dumps(man, indent=2) + "\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {sha[:16]}...)")


if __name__ == "__main__":
    main()
