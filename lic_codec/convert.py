"""One file's work, bytes in and bytes out, as `licc encode` and `licc decode` do it: the one
definition that single-file mode, local batch mode and the Ray cluster mode share, so that a
file gives the same bytes whichever way it was converted."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .errors import ImageError, LiccError, OutputError
from .limits import SizeLimitError, check_size

if TYPE_CHECKING:
    from .codec import Codec


@dataclass(frozen=True)
class EncodeOptions:
    """The per-file options of `licc encode` (at most one of quality, preset and targets)."""
    quality: float | None = None
    preset: str | None = None
    target_size: int | None = None  # bytes
    target_bpp: float | None = None
    target_psnr: float | None = None
    strip: bool = False
    effort: int = 0
    model: str = "student"


def named(name: str, exc: LiccError) -> LiccError:
    """The same error with its message starting with the file's name (once)."""
    msg = str(exc)
    if msg.startswith(f"{name}:"):
        return exc
    return type(exc)(f"{name}: {msg}")


def encode_bytes(raw: bytes, name: str, codec: Callable[[], "Codec"],
                 opts: EncodeOptions) -> tuple[bytes, str]:
    """Image file bytes -> (.licc bytes, a note on the target reached). ``codec()`` gives the
    loaded Codec; it is called only after the image was read and checked, so a bad or
    oversized image is refused before the network loads. Errors name ``name``."""
    from .io.images import load_image
    from .ratecontrol import make_target

    try:
        src = load_image(io.BytesIO(raw), name=name)
        w, h = src.size
        try:  # --effort's limit, before the network is loaded
            check_size(w, h, opts.effort)
        except SizeLimitError as exc:
            raise ImageError(str(exc)) from None
        target = make_target(opts.target_size, opts.target_bpp, opts.target_psnr, w, h)
        if target is None:
            return codec().encode(src, quality=opts.quality, preset=opts.preset,
                                  strip=opts.strip, effort=opts.effort), ""
        res = codec().encode_to_target(src, target, strip=opts.strip)
    except LiccError as exc:
        raise named(name, exc) from None
    achieved = f", {res.psnr:.2f} dB" if res.psnr is not None else ""
    return res.data, f" at quality {res.quality:g}{achieved} (target {target.describe()})"


def decode_bytes(raw: bytes, name: str, codec: Callable[[], "Codec"], fmt: str = "PNG") -> bytes:
    """.licc bytes -> image file bytes in ``fmt`` (a Pillow format name)."""
    from .io.images import save_kwargs

    try:
        im = codec().decode(raw)
    except LiccError as exc:
        raise named(name, exc) from None
    buf = io.BytesIO()
    try:
        im.save(buf, format=fmt, **save_kwargs(im))
    except (OSError, ValueError) as exc:
        raise OutputError(f"{name}: cannot save as {fmt} ({exc})") from None
    return buf.getvalue()
