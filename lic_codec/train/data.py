"""Training images held in memory as uint8 arrays, served as random crops.

The crop of every step is a pure function of (seed, step), so a resumed run sees exactly the
batches it would have seen without the interruption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


def find_images(root: str | Path) -> list[Path]:
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


class CropDataset:
    def __init__(self, root: str | Path, patch: int, max_side: int = 1024):
        """Loads every image under ``root``. Images larger than ``max_side`` are halved
        (repeatedly) so their statistics resemble Kodak-sized photos."""
        self.patch = patch
        self.images: list[np.ndarray] = []
        for path in find_images(root):
            with Image.open(path) as im:
                im = im.convert("RGB")
                while max(im.size) > max_side:
                    im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
                if min(im.size) < patch:
                    continue
                self.images.append(np.asarray(im, dtype=np.uint8))
        if not self.images:
            raise SystemExit(f"no usable training images (>= {patch} px) under {root}")

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, batch_size: int, seed: int, step: int) -> torch.Tensor:
        """[B, 3, patch, patch] float in [0, 1]."""
        rng = np.random.default_rng([seed, step])
        p = self.patch
        out = np.empty((batch_size, p, p, 3), dtype=np.uint8)
        for i in range(batch_size):
            img = self.images[rng.integers(len(self.images))]
            y = rng.integers(img.shape[0] - p + 1)
            x = rng.integers(img.shape[1] - p + 1)
            crop = img[y : y + p, x : x + p]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            out[i] = crop
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)
