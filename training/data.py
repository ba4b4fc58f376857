"""Training images held in memory as uint8 arrays, served as random crops.

The crop of every step is a pure function of (seed, step), so a resumed run sees exactly the
batches it would have seen without the interruption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lic_codec.io.files import IMAGE_SUFFIXES, find_images, spread  # noqa: F401  (used by the lab)

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "train"

SAMPLING = ("image", "area")


class CropDataset:
    def __init__(self, root: str | Path, patch: int, max_side: int = 1024,
                 sampling: str = "image"):
        """Loads every image under ``root``. Images larger than ``max_side`` are halved
        (repeatedly) so their statistics resemble Kodak-sized photos.

        ``sampling`` picks the image of each crop: "image" uniformly per image (the 500 small
        BSDS photos then give 82% of the crops of ../shared/data/train), "area" in proportion
        to the crop positions it holds, so every crop position is equally likely."""
        if sampling not in SAMPLING:
            raise ValueError(f"sampling must be one of {SAMPLING}, got {sampling!r}")
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
            raise ValueError(f"no usable training images (>= {patch} px) under {root}")
        self.weights = None  # uniform over images
        if sampling == "area":
            n = np.array([(a.shape[0] - patch + 1) * (a.shape[1] - patch + 1)
                          for a in self.images], dtype=np.float64)
            self.weights = n / n.sum()

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, batch_size: int, seed: int, step: int, keep: slice | None = None
              ) -> torch.Tensor:
        """[B, 3, patch, patch] float in [0, 1]; with ``keep``, only those items of the
        step's batch (a data-parallel worker's share, train/parallel.py): the same crops."""
        rng = np.random.default_rng([seed, step])
        p = self.patch
        wanted = range(batch_size)[keep or slice(None)]
        out = np.empty((len(wanted), p, p, 3), dtype=np.uint8)
        for i in range(batch_size):
            pick = (rng.integers(len(self.images)) if self.weights is None
                    else rng.choice(len(self.images), p=self.weights))
            img = self.images[pick]
            y = rng.integers(img.shape[0] - p + 1)
            x = rng.integers(img.shape[1] - p + 1)
            flip = rng.random() < 0.5
            if i not in wanted:
                continue
            crop = img[y : y + p, x : x + p]
            out[i - wanted.start] = crop[:, ::-1] if flip else crop
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)
