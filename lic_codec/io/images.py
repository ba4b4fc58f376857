"""Pillow in, Pillow out: normalise any input image to 8-bit RGB (+ optional alpha) for the
network, and rebuild the user's mode on the way back.

Mode handling: RGB as is; L/1/P/CMYK/YCbCr... converted (grey stays grey on decode); 16-bit
and 32-bit greys reduced to 8 bits with a warning; alpha (RGBA, LA, PA, P with transparency)
kept losslessly in its own section.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError
from ..limits import SizeLimitError, check_size


@dataclass
class SourceImage:
    rgb: np.ndarray  # [H, W, 3] uint8
    alpha: np.ndarray | None  # [H, W] uint8, or None
    mode: str  # "RGB", "L", "RGBA" or "LA": what decode gives back
    icc: bytes | None = None  # ICC colour profile, kept verbatim
    exif: bytes | None = None  # EXIF block (orientation already applied to the pixels)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def _reduce_high_bit_depth(im: Image.Image) -> Image.Image:
    warnings.warn(f"input has {im.mode} samples; reducing to 8 bits per sample", stacklevel=3)
    arr = np.asarray(im)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N") and arr.max(initial=0) <= 65535:
        arr8 = (arr.astype(np.uint32) >> 8).astype(np.uint8) if arr.max(initial=0) > 255 \
            else arr.astype(np.uint8)
    else:  # "F" or I beyond 16 bits: scale to the full 8-bit range
        a = arr.astype(np.float64)
        lo, hi = float(a.min(initial=0)), float(a.max(initial=0))
        arr8 = np.zeros(a.shape, np.uint8) if hi <= lo else \
            np.round((a - lo) / (hi - lo) * 255).astype(np.uint8)
    return Image.fromarray(arr8, "L")


def _icc_space(icc: bytes) -> bytes:
    """The colour space signature of an ICC profile (header bytes 16-19: b"RGB ", b"GRAY",
    b"CMYK"...), or b"" for a profile too short to have one."""
    return icc[16:20] if len(icc) >= 20 else b""


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """CMYK pixels -> sRGB through their own profile (littleCMS, in Pillow's wheels); the
    result needs no profile. Without a usable profile, Pillow's naive conversion, and the CMYK
    profile is dropped: it would not describe RGB pixels."""
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                            outputMode="RGB")
            if out is not None:
                return out, None
        except (ImportError, OSError, ValueError, ImageCms.PyCMSError):
            pass
        warnings.warn("the CMYK colour profile could not be applied; converted without it "
                      "and dropped", stacklevel=3)
    return im.convert("RGB"), None


def from_pil(im: Image.Image) -> SourceImage:
    """Normalise a Pillow image (any mode) for coding. The ICC profile is kept only when it
    describes the pixels licc gives back (RGB, or grey for grey images)."""
    icc = im.info.get("icc_profile") or None
    exif = im.getexif()  # of the source: conversions below may not carry it
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        im = _reduce_high_bit_depth(im)
    if im.mode == "CMYK":
        im, icc = _cmyk_to_rgb(im, icc)
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode == "P" and "transparency" in im.info)
    grey = im.mode in ("L", "1", "LA", "La") or (
        im.mode == "P" and _palette_is_grey(im))
    alpha = None
    if has_alpha:
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba)[:, :, 3].copy()
        rgb = np.asarray(rgba.convert("RGB"))
    else:
        rgb = np.asarray(im.convert("RGB"))
    mode = ("L" if grey else "RGB") + ("A" if has_alpha else "")
    if icc and _icc_space(icc) != (b"GRAY" if grey else b"RGB "):
        warnings.warn(f"the colour profile ({_icc_space(icc).decode('latin-1').strip()!r}) "
                      f"does not describe {mode[:-1] if has_alpha else mode} pixels; dropped",
                      stacklevel=2)
        icc = None
    return SourceImage(np.ascontiguousarray(rgb, dtype=np.uint8), alpha, mode, icc=icc,
                       exif=exif.tobytes() if len(exif) else None)


def _palette_is_grey(im: Image.Image) -> bool:
    pal = im.getpalette() or []
    return all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3))


def load_image(source, name: str | None = None) -> SourceImage:
    """Read an image from a path or a binary file object; raises ImageError with a message
    naming the problem (``name`` is used in messages for file objects)."""
    name = name or str(source)
    try:
        with Image.open(source) as im:  # reads the header only
            try:  # a decompression bomb is refused before its pixels are decoded
                check_size(*im.size)
            except SizeLimitError as exc:
                raise ImageError(f"{name}: {exc}") from None
            if any(";16" in str(getattr(t, "args", "")) for t in im.tile):
                # Pillow keeps the high byte of 16-bit RGB without a word
                warnings.warn(f"{name}: 16-bit samples reduced to 8 bits", stacklevel=2)
            _warn_dropped_metadata(im, name)
            im.load()
            if getattr(im, "n_frames", 1) > 1:
                warnings.warn("input has several frames; coding the first", stacklevel=2)
            im = ImageOps.exif_transpose(im) or im
            return from_pil(im)
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a directory") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not a recognised image file") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{name}: cannot read image ({exc})") from None


def _warn_dropped_metadata(im: Image.Image, name: str) -> None:
    """What licc does not keep, said once (ICC and EXIF are kept; see docs/format.md)."""
    dropped = []
    if im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"):
        dropped.append("XMP metadata")
    dpi = im.info.get("dpi")
    if dpi and tuple(round(float(d)) for d in dpi) != (72, 72):
        dropped.append(f"the resolution ({round(float(dpi[0]))} dpi)")
    if dropped:
        warnings.warn(f"{name}: {' and '.join(dropped)} not kept", stacklevel=3)


def to_pil(rgb: np.ndarray, alpha: np.ndarray | None, mode: str, icc: bytes | None = None,
           exif: bytes | None = None) -> Image.Image:
    """Rebuild the user's image from decoded RGB (+ alpha, ICC profile and EXIF, which
    ``save_kwargs`` hands to Pillow when writing)."""
    im = Image.fromarray(rgb, "RGB")
    if mode.startswith("L"):
        im = im.convert("L")
    if alpha is not None and mode.endswith("A"):
        im.putalpha(Image.fromarray(alpha, "L"))
    if icc:
        im.info["icc_profile"] = icc
    if exif:
        im.info["exif"] = exif
    return im


def save_kwargs(im: Image.Image) -> dict:
    """Metadata to pass to ``Image.save`` so it reaches the output file."""
    return {k: im.info[k] for k in ("icc_profile", "exif") if im.info.get(k)}
