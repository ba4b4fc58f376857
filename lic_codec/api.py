"""The small public API. The CLI and the Pillow plugin use it too.

    >>> import lic_codec
    >>> data = lic_codec.encode(image, quality=60)        # PIL image or path -> bytes
    >>> image = lic_codec.decode(data)                     # bytes -> PIL image
    >>> lic_codec.read_info(data).width                    # header only, no network
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

from PIL import Image

from .format.container import Header, read_header

if TYPE_CHECKING:
    from .codec import Codec

ImageInput = Union[Image.Image, str, Path]

_codecs: dict[tuple[str, str], "Codec"] = {}


def get_codec(model: str = "student") -> "Codec":
    """A shared, loaded codec per model name and weights folder (loading takes a moment)."""
    from .models.registry import weights_dir

    key = (model, str(weights_dir()))
    if key not in _codecs:
        from .codec import Codec

        _codecs[key] = Codec(model)
    return _codecs[key]


# the keywords of encode(); the Pillow plugin forwards exactly these from Image.save
ENCODE_OPTIONS = ("quality", "preset", "target_size", "target_bpp", "target_psnr", "model",
                  "strip", "effort")


def encode(image: ImageInput, *, quality: float | None = None, preset: str | None = None,
           target_size: int | str | None = None, target_bpp: float | None = None,
           target_psnr: float | None = None, model: str = "student",
           strip: bool = False, effort: int = 0) -> bytes:
    """Encode a Pillow image or an image file to .licc bytes.

    Give at most one of ``quality`` (0..100), ``preset``, ``target_size`` (bytes, or a string
    such as "40KB"), ``target_bpp`` or ``target_psnr`` (dB). The ICC profile and EXIF are
    kept unless ``strip``. ``effort`` 1 or 2 (with a quality or preset only) refines the latent
    for this image first: smaller files for slower encoding. Raises LiccError subclasses for
    bad input and ValueError for bad arguments."""
    from .ratecontrol import make_target

    given = [x is not None for x in (quality, preset, target_size, target_bpp, target_psnr)]
    if sum(given) > 1:
        raise ValueError("give at most one of quality, preset, target_size, target_bpp, "
                         "target_psnr")
    if effort and sum(given[2:]):
        raise ValueError("effort works with quality or preset, not with a target")
    codec = get_codec(model)
    if not any(given[2:]):
        return codec.encode(image, quality=quality, preset=preset, strip=strip, effort=effort)
    src = codec.source(image, strip)
    target = make_target(target_size, target_bpp, target_psnr, *src.size)
    if target is None:  # unreachable: one of the three was given
        raise ValueError("no target")
    return codec.encode_to_target(src, target).data


def decode(data: bytes) -> Image.Image:
    """Decode .licc bytes; the network is chosen from the file's header."""
    return get_codec().decode(data)


def read_info(data: bytes) -> Header:
    """Parse and validate the header (no network, no torch)."""
    return read_header(data)
