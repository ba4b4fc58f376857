"""licc: a learned image codec (distilled student network, two-pass checkerboard rANS coding,
zero-channel skipping, framed and checksummed files).

Importing the package is cheap: torch is loaded only when an image is actually coded.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "encode", "decode", "read_info", "Codec"]


def encode(image, quality=None, preset=None, model="student") -> bytes:
    """Encode a Pillow image or an image path to .licc bytes."""
    from .codec import encode as _encode

    return _encode(image, quality=quality, preset=preset, model=model)


def decode(data: bytes):
    """Decode .licc bytes to a Pillow image."""
    from .codec import decode as _decode

    return _decode(data)


def read_info(data: bytes):
    """Parse and validate a .licc header (no decoding, no torch)."""
    from .format.container import read_header

    return read_header(data)


def __getattr__(name):
    if name == "Codec":
        from .codec import Codec

        return Codec
    raise AttributeError(name)
