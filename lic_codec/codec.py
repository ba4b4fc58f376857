"""The pipeline, one way each:

    encode: image -> pad -> g_a (x gain) -> checkerboard latent coding -> container -> bytes
    decode: bytes -> container (validated) -> latent decoding -> g_s (skipping zero channels)
            -> crop -> image
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import FormatError, ImageError, ModelMismatchError
from .format import constants as C
from .format.container import Header, pack_mask, read_container, write_container
from .io.images import SourceImage, from_pil, load_image, to_pil
from .limits import SizeLimitError, check_size
from .quality import rate_position, resolve_quality
from .ratecontrol import SearchResult, Target, search
from .tiling import MARGIN, TILE, analyse_tiled, synthesize_tiled

PAD = 64  # g_a downsamples by 16 and h_a by 4 more


class Codec:
    """Keeps a network loaded across many images."""

    def __init__(self, model: str = "student", weights: Path | None = None,
                 threads: int | None = None):
        import torch

        from .models.registry import load_model

        if threads:
            torch.set_num_threads(threads)
        self.weights = weights
        self.model_name = model
        self.tile, self.margin = TILE, MARGIN  # transforms run in tiles (bounded memory)
        self.model, self.model_id = load_model(model, weights)

    # ---- encode -----------------------------------------------------------------------
    def encode(self, image: SourceImage | Image.Image | str | Path,
               quality: float | None = None, preset: str | None = None,
               strip: bool = False, effort: int = 0) -> bytes:
        """``strip`` drops the ICC profile and EXIF instead of keeping them. ``effort`` above 0
        refines the latent for this image first (refine.py): smaller files at the same
        quality, for more encode time; decoding is unaffected."""
        from .refine import EFFORT_RUNS

        if effort not in EFFORT_RUNS:
            raise ValueError(f"effort must be one of {sorted(EFFORT_RUNS)}, got {effort}")
        src = self.source(image, strip, effort)
        return self._code(src, self._features(src), resolve_quality(quality, preset),
                          EFFORT_RUNS[effort])

    def encode_to_target(self, image: SourceImage | Image.Image | str | Path,
                         target: Target, strip: bool = False) -> SearchResult:
        """Search the quality for a size or PSNR target. The analysis transform runs once;
        each probe only re-applies the rate gains and the latent coding (and, for a PSNR
        target, the synthesis)."""
        src = self.source(image, strip)
        feats = self._features(src)

        def probe(q: float) -> tuple[bytes, float | None]:
            data = self._code(src, feats, q)
            if target.kind != "psnr":
                return data, None
            out = np.asarray(self.decode(data).convert("RGB"), dtype=np.float64)
            mse = np.mean((out - src.rgb.astype(np.float64)) ** 2)
            return data, (float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse))

        return search(probe, target)

    @staticmethod
    def source(image, strip: bool = False, effort: int = 0) -> SourceImage:
        """Normalise a Pillow image, a path or a SourceImage for coding; sizes beyond
        lic_codec.limits are refused (a path before its pixels are decoded)."""
        if isinstance(image, Image.Image):
            _check_size(image.size, effort)
        src = image if isinstance(image, SourceImage) else (
            from_pil(image) if isinstance(image, Image.Image) else load_image(image))
        if strip:
            src = replace(src, icc=None, exif=None)
        _check_size(src.size, effort)
        return src

    def _features(self, src: SourceImage):
        """Ungained analysis output g_a(x): [1, M, H'/16, W'/16]."""
        import torch

        with torch.inference_mode():
            return analyse_tiled(self.model.g_a, _pixels(src), self.tile, self.margin)

    def _code(self, src: SourceImage, feats, q: float, runs: tuple = ()) -> bytes:
        """Code the gained latent; with ``runs`` (refine.py) also the refined latents, and
        keep the file of lowest real cost, lambda * MSE + bpp, decoded as the decoder will."""
        import torch

        from .refine import refine_latent

        model = self.model
        t = rate_position(q, model.cfg.num_levels)
        with torch.inference_mode():
            gain, _ = model.gains(torch.tensor([t]))
            y = feats * gain
        latents = [(y, None), *refine_latent(model, _pixels(src), y, t, runs)]
        files = [self._container(src, y, q, z) for y, z in latents]
        if len(files) == 1:
            return files[0]
        lam = float(model.lmbda(torch.tensor([t]))[0])
        ref = src.rgb.astype(np.float64)
        W, H = src.size

        def cost(data: bytes) -> float:
            out = np.asarray(self.decode(data).convert("RGB"), dtype=np.float64)
            return lam * float(np.mean((out - ref) ** 2)) + 8 * len(data) / (W * H)

        return min(files, key=cost)

    def _container(self, src: SourceImage, y, q: float, z=None) -> bytes:
        """Gained latent [1, M, h, w] (and a refined hyper-latent, else h_a(y)) -> the whole
        .licc file."""
        import torch

        model = self.model
        with torch.inference_mode():
            coded = model.latent.compress(y, z)
        sections = {
            C.TAG_HYPER: coded.z_bytes,
            C.TAG_ANCHOR: coded.anchor_bytes,
            C.TAG_NONANCHOR: coded.nonanchor_bytes,
        }
        if src.alpha is not None:
            sections[C.TAG_ALPHA] = zlib.compress(src.alpha.tobytes(), 9)
        if src.icc:
            sections[C.TAG_ICC] = src.icc
        if src.exif:
            sections[C.TAG_EXIF] = src.exif
        W, H = src.size
        header = Header(
            model_id=self.model_id, model_name=self.model_name, width=W, height=H,
            mode=src.mode, quality=q, channels=model.cfg.M,
            channel_mask=pack_mask([bool(a) for a in coded.active]),
            symbols_crc=coded.symbols_crc, prefix_crcs=coded.prefix_crcs,
        )
        return write_container(header, sections)

    # ---- decode -----------------------------------------------------------------------
    def _open(self, data: bytes):
        """Validated container -> (header, sections, the network that made it, the coded
        latent)."""
        from .latent.checkerboard import CodedLatent
        from .models.registry import find_model

        header, sections = read_container(data)
        model = (self.model if header.model_id == self.model_id
                 else find_model(header.model_id, header.model_name, self.weights))
        if header.channels != model.cfg.M:
            raise ModelMismatchError("file's latent channel count does not match its model")
        Hp, Wp = _padded(header.height), _padded(header.width)
        coded = CodedLatent(
            z_shape=(Hp // 64, Wp // 64),
            active=np.array(header.active_channels, dtype=bool),
            z_bytes=sections[C.TAG_HYPER],
            anchor_bytes=sections[C.TAG_ANCHOR],
            nonanchor_bytes=sections[C.TAG_NONANCHOR],
            symbols_crc=header.symbols_crc, prefix_crcs=header.prefix_crcs,
        )
        return header, sections, model, coded

    def verify(self, data: bytes) -> None:
        """Check a file as far as decoding its latent (every checksum, the streams against the
        header), without the synthesis transform; raises LiccError."""
        import torch

        header, sections, model, coded = self._open(data)
        if header.mode.endswith("A"):
            _decode_alpha(sections.get(C.TAG_ALPHA), header)
        Hp, Wp = _padded(header.height), _padded(header.width)
        with torch.inference_mode():
            model.latent.decompress(coded, (Hp // 16, Wp // 16))

    def decode(self, data: bytes) -> Image.Image:
        import torch

        header, sections, model, coded = self._open(data)
        Hp, Wp = _padded(header.height), _padded(header.width)
        alpha = None
        if header.mode.endswith("A"):
            alpha = _decode_alpha(sections.get(C.TAG_ALPHA), header)
        t = rate_position(header.quality, model.cfg.num_levels)
        with torch.inference_mode():
            y_hat = model.latent.decompress(coded, (Hp // 16, Wp // 16))
            active = torch.from_numpy(coded.active)
            keep = active if active.any() else None
            x_hat = synthesize_tiled(lambda y: model.synthesize(y, t, keep), y_hat, self.tile,
                                     self.margin)
            x_hat = crop_from_grid(x_hat[0], header.height, header.width,
                                   header.version)  # [3, H, W]
            x_hat = x_hat.clamp_(0, 1).mul_(255).round_().to(torch.uint8)  # in place: big images
            rgb = x_hat.permute(1, 2, 0).contiguous().numpy()  # [H, W, 3]
        return to_pil(rgb, alpha, header.mode, sections.get(C.TAG_ICC), sections.get(C.TAG_EXIF))


def _check_size(size: tuple[int, int], effort: int) -> None:
    try:
        check_size(*size, effort=effort)
    except SizeLimitError as exc:
        raise ImageError(str(exc)) from None


def _padded(n: int) -> int:
    return (n + PAD - 1) // PAD * PAD


def _pixels(src: SourceImage):
    """The image as the networks see it: [1, 3, H', W'] in [0, 1], padded to multiples of 64."""
    import torch

    x = torch.from_numpy(src.rgb.copy()).permute(2, 0, 1)[None].float().div_(255.0)
    return pad_to_grid(x)  # (drops the unpadded copy)


def grid_offsets(height: int, width: int, version: int = C.FORMAT_VERSION) -> tuple[int, int]:
    """Where the image sits in its padded canvas: (top, left). From format 2 on it is centred,
    the padding split between the two sides. Why: the synthesis is worst at the canvas's
    edges and corners (zero padding inside the transforms; a flat 256x256 colour came back
    right in the middle and up to 31 levels off in the corners), so an image smaller than its
    canvas keeps its own edges away from them; a 1x1 image is no longer a corner pixel. Format
    1 put the image at the top left."""
    if version < 2:
        return 0, 0
    return (_padded(height) - height) // 2, (_padded(width) - width) // 2


def pad_to_grid(x):
    """Replicate-pad [B, 3, H, W] to multiples of 64 around the image (grid_offsets): edges
    cost fewer bits than zeros."""
    import torch.nn.functional as F

    H, W = x.shape[2:]
    top, left = grid_offsets(H, W)
    ph, pw = _padded(H) - H, _padded(W) - W
    if ph or pw:
        x = F.pad(x, (left, pw - left, top, ph - top), mode="replicate")
    return x


def crop_from_grid(x, height: int, width: int, version: int = C.FORMAT_VERSION):
    """[..., H', W'] padded canvas -> [..., height, width] image (grid_offsets)."""
    top, left = grid_offsets(height, width, version)
    return x[..., top:top + height, left:left + width]


def _decode_alpha(payload: bytes | None, header: Header) -> np.ndarray:
    if payload is None:
        raise FormatError("file declares an alpha channel but has no alpha section")
    n = header.width * header.height
    d = zlib.decompressobj()
    try:
        raw = d.decompress(payload, n + 1)
    except zlib.error:
        raise FormatError("alpha section is corrupted") from None
    if len(raw) != n or d.unconsumed_tail:
        raise FormatError("alpha section has the wrong size")
    return np.frombuffer(raw, dtype=np.uint8).reshape(header.height, header.width)
