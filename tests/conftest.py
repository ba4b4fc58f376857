"""Shared fixtures: a tiny seeded network exported like the shipped weights, so codec tests
run in seconds and are bit-exact; the shipped weights are used read-only where quality
matters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


TINY = dict(arch="student", N=16, M=24, Nh=16)


def tiny_model(seed: int):
    """A small trainable network with seeded random weights, in eval mode."""
    from lic_codec.models.config import ModelConfig
    from lic_codec.models.lic import LicModel

    torch.manual_seed(seed)
    return LicModel(ModelConfig(**TINY)).eval()


def make_tiny_weights(directory: Path, seed: int, name: str = "student") -> Path:
    from training.export import export_model

    path = directory / f"{name}.pt"
    export_model(tiny_model(seed), path)
    return path


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("weights_tiny")
    make_tiny_weights(d, seed=0)
    return d


@pytest.fixture(scope="session")
def other_weights(tmp_path_factory) -> Path:
    """Same architecture, different random weights: files must not cross over."""
    d = tmp_path_factory.mktemp("weights_other")
    make_tiny_weights(d, seed=1)
    return d


@pytest.fixture()
def use_tiny(tiny_weights, monkeypatch) -> Path:
    monkeypatch.setenv("LICC_WEIGHTS_DIR", str(tiny_weights))
    return tiny_weights


@pytest.fixture(scope="session")
def photo() -> Image.Image:
    """A 320x240 crop of a real photo (Kodak 23)."""
    return Image.open(DATA / "parrots.png").convert("RGB")


def crop(im: Image.Image, w: int, h: int) -> Image.Image:
    return im.crop((0, 0, w, h))


def psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = ((x - y) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
