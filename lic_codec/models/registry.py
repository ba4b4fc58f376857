"""The only table from model names to weights files, and the loader.

A weights file (``weights/<name>.pt``) is a torch-saved dict of plain tensors and values:
the architecture config, the state dict, and the integer entropy tables. Its identity is the
first 16 bytes of its SHA-256, which every .licc file carries, so a decoder can pick the
right network from the header alone and refuse a file made by other weights.

When a network is retrained, its old weights move to ``weights/retired/<name>-<id>.pt``
(``<id>``: the first 12 hex digits of the file id), so files made with them still decode on
that machine; the folder is not packaged, and new retirements are not committed (while the
format is 0.x only the shipped weights' files must decode: docs/format.md, Compatibility).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from ..errors import ModelMismatchError

DEFAULT_MODEL = "student"
MODEL_NAMES = ("student", "teacher")


def weights_dir() -> Path:
    """``$LICC_WEIGHTS_DIR`` if set, else the ``weights/`` folder shipped with the package."""
    env = os.environ.get("LICC_WEIGHTS_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    for cand in (here / "weights", here.parent / "weights"):
        if cand.is_dir():
            return cand
    return here.parent / "weights"


def file_id(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()[:16]


def available(directory: Path | None = None) -> dict[str, Path]:
    d = directory or weights_dir()
    return {name: d / f"{name}.pt" for name in MODEL_NAMES if (d / f"{name}.pt").is_file()}


def retired_path(name: str, model_id: bytes, directory: Path | None = None) -> Path:
    return (directory or weights_dir()) / "retired" / f"{name}-{model_id.hex()[:12]}.pt"


def manifest(directory: Path | None = None) -> dict:
    p = (directory or weights_dir()) / "manifest.json"
    return json.loads(p.read_text()) if p.is_file() else {}


@lru_cache(maxsize=4)
def _load(path_str: str, mtime: float):
    import torch

    from ..entropy.tables import TableSet
    from .lic import LicModel
    from .subpixel import subpixel_last_layer

    path = Path(path_str)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = LicModel.from_state_dict(blob["config"], blob["model"], trainable=False)
    arrays = {k: v.numpy() for k, v in blob["tables"].items()}
    model.latent.z_tables = TableSet.from_arrays(arrays, "z")
    if "ya_counts" in arrays:
        model.latent.y_tables = {"anchor": TableSet.from_arrays(arrays, "ya"),
                                 "nonanchor": TableSet.from_arrays(arrays, "yn")}
    else:  # first format: one Gaussian table set for both passes
        both = TableSet.from_arrays(arrays, "y")
        model.latent.y_tables = {"anchor": both, "nonanchor": both}
    model.latent.scale_thresholds = arrays["y_thresholds"]
    model.eval()
    for transform in (model.g_a, model.g_s):  # see lic.CHANNELS_LAST
        transform.to(memory_format=torch.channels_last)
    subpixel_last_layer(model.g_s)
    for p in model.parameters():
        p.requires_grad_(False)
    return model, file_id(path)


def load_model(name: str = DEFAULT_MODEL, directory: Path | None = None):
    """-> (LicModel ready for coding, 16-byte model id)."""
    path = available(directory).get(name)
    if path is None:
        raise ModelMismatchError(
            f"model '{name}' is not installed (looked in {directory or weights_dir()})")
    return _load(str(path), path.stat().st_mtime)


def find_model(model_id: bytes, name_hint: str, directory: Path | None = None):
    """The installed or retired model whose weights have this id, else ModelMismatchError."""
    paths = available(directory)
    for name in sorted(paths, key=lambda n: n != name_hint):
        if file_id(paths[name]) == model_id:
            return load_model(name, directory)[0]
    if name_hint in MODEL_NAMES:
        old = retired_path(name_hint, model_id, directory)
        if old.is_file() and file_id(old) == model_id:
            return _load(str(old), old.stat().st_mtime)[0]
    raise ModelMismatchError(
        f"file was made by model '{name_hint}' with weights {model_id.hex()[:12]}..., "
        "which are not installed here (different or retrained weights)")
