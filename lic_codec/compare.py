"""licc compare: what a licc file looks like beside JPEG, WebP, AVIF and JPEG XL files of the
same size, as one picture.

Every codec's quality is searched so that its file is the largest that fits the byte budget
(licc through its own rate control); crops are taken where the codecs' errors differ most
(or where the user says) and laid side by side, enlarged with nearest-neighbour pixels, each
column labelled with codec, bytes, bpp, PSNR and SSIMULACRA2 of the whole image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .bench import Contender, classical_contenders
from .evaluate import psnr_rgb8
from .io.files import atomic_output
from .ratecontrol import Target, TargetError, first_true
from .ssimulacra2 import MIN_SIDE, score as ssimulacra2

Box = tuple[int, int, int, int]  # x, y, width, height


@dataclass
class Coded:
    codec: str
    quality: float
    size: int  # bytes of the file
    rgb: np.ndarray  # (H, W, 3) uint8, decoded
    fits: bool  # False: even the lowest quality is over the budget
    bpp: float = 0.0
    psnr: float = 0.0
    ssimulacra2: float | None = None  # None below 8x8 pixels

    def measure(self, ref: np.ndarray) -> "Coded":
        self.bpp = 8 * self.size / (ref.shape[0] * ref.shape[1])
        self.psnr = psnr_rgb8(ref, self.rgb)
        self.ssimulacra2 = ssimulacra2(ref, self.rgb) if min(ref.shape[:2]) >= MIN_SIDE else None
        return self

    def label(self) -> list[str]:
        s2 = "n/a" if self.ssimulacra2 is None else f"{self.ssimulacra2:.1f}"
        over = "" if self.fits else " (over budget)"
        return [f"{self.codec} q{self.quality:g}",
                f"{self.size:,} B, {self.bpp:.3f} bpp{over}",
                f"PSNR {self.psnr:.2f} dB, SSIMULACRA2 {s2}"]


def fit_classical(c: Contender, im: Image.Image, budget: int) -> Coded:
    """The highest integer quality (0..99: JPEG XL refuses 100) whose file fits ``budget``
    bytes (file size grows with quality); quality 0, marked as over, when none fits."""
    cache: dict[int, bytes] = {}

    def data(q: int) -> bytes:
        if q not in cache:
            cache[q] = c.encode(im, q)
        return cache[q]

    q = first_true(lambda k: len(data(k)) > budget, 0, 99) - 1
    fits = q >= 0
    q = max(q, 0)
    return Coded(c.name, q, len(data(q)), np.asarray(c.decode(data(q))), fits)


def fit_licc(codec, rgb: np.ndarray, budget: int) -> Coded:
    """licc's own search (metadata stripped, as the other codecs here carry none)."""
    im = Image.fromarray(rgb)
    try:
        res = codec.encode_to_target(im, Target("size", budget), strip=True)
        data, q, fits = res.data, res.quality, True
    except TargetError:
        data, q, fits = codec.encode(im, quality=0, strip=True), 0.0, False
    out = np.asarray(codec.decode(data).convert("RGB"))
    return Coded(f"licc-{codec.model_name}", q, len(data), out, fits)


def choose_crops(ref: np.ndarray, coded: list[Coded], side: int, count: int) -> list[Box]:
    """``count`` non-overlapping side x side windows where the codecs' mean squared errors
    differ most (largest max - min over codecs), searched on a grid of side/4."""
    h, w = ref.shape[:2]
    side = min(side, h, w)
    ref64 = ref.astype(np.float64)
    # windowed MSE per codec through an integral image: [codecs, H+1, W+1]
    err = np.stack([((c.rgb.astype(np.float64) - ref64) ** 2).mean(2) for c in coded])
    integral = np.pad(err.cumsum(1).cumsum(2), [(0, 0), (1, 0), (1, 0)])
    step = max(side // 4, 1)
    ys = list(range(0, h - side + 1, step))
    xs = list(range(0, w - side + 1, step))
    cands = []
    for y in ys:
        for x in xs:
            s = (integral[:, y + side, x + side] - integral[:, y, x + side]
                 - integral[:, y + side, x] + integral[:, y, x])
            cands.append((float(s.max() - s.min()), x, y))
    cands.sort(reverse=True)
    chosen: list[Box] = []
    for _, x, y in cands:
        if all(abs(x - cx) >= side or abs(y - cy) >= side for cx, cy, _, _ in chosen):
            chosen.append((x, y, side, side))
        if len(chosen) == count:
            break
    return chosen


def sheet(ref: np.ndarray, coded: list[Coded], crops: list[Box], zoom: int = 2) -> Image.Image:
    """Rows: crops; columns: the original, then every codec; labels on top."""
    font = ImageFont.load_default(size=13)
    line = 17
    labels = [[f"original {ref.shape[1]}x{ref.shape[0]}",
               ", ".join(f"({x},{y})" for x, y, _, _ in crops), f"zoom {zoom}x"]]
    labels += [c.label() for c in coded]
    tile_w = max(w for _, _, w, _ in crops) * zoom
    col_w = max(tile_w, max(int(font.getlength(t)) for lab in labels for t in lab) + 8)
    head = line * 3 + 8
    gap = 6
    height = head + sum(h * zoom + gap for _, _, _, h in crops)
    out = Image.new("RGB", (col_w * len(labels) + gap * (len(labels) - 1), height), "white")
    draw = ImageDraw.Draw(out)
    for col, (lab, img) in enumerate(zip(labels, [ref] + [c.rgb for c in coded])):
        x0 = col * (col_w + gap)
        for k, text in enumerate(lab):
            draw.text((x0 + 4, 4 + k * line), text, fill="black", font=font)
        y0 = head
        for x, y, w, h in crops:
            tile = Image.fromarray(img[y: y + h, x: x + w]).resize((w * zoom, h * zoom),
                                                                  Image.Resampling.NEAREST)
            out.paste(tile, (x0, y0))
            y0 += h * zoom + gap
    return out


def run(rgb: np.ndarray, budget: int, codec, crops: list[Box] | None = None,
        crop_side: int = 128, count: int = 2, zoom: int = 2) -> tuple[list[Coded], Image.Image]:
    """Code ``rgb`` with licc and every classical codec at ``budget`` bytes; the picture."""
    im = Image.fromarray(rgb)  # no metadata: every file holds pixels only
    coded = [fit_licc(codec, rgb, budget)]
    coded += [fit_classical(c, im, budget) for c in classical_contenders()]
    coded = [c.measure(rgb) for c in coded]
    crops = crops or choose_crops(rgb, coded, crop_side, count)
    return coded, sheet(rgb, coded, crops, zoom)


def save_png(img: Image.Image | np.ndarray, out: Path) -> None:
    """Write a PNG atomically (no half-written picture on failure)."""
    img = Image.fromarray(img) if isinstance(img, np.ndarray) else img
    buf = io.BytesIO()
    img.save(buf, "PNG")
    with atomic_output(out) as tmp:
        tmp.write_bytes(buf.getvalue())
