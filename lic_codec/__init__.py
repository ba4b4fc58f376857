"""licc: a learned image codec (distilled student network, two-pass checkerboard rANS coding,
zero-channel skipping, framed and checksummed files).

Importing the package is cheap: torch is loaded only when an image is actually coded.
Importing it also registers the Pillow plugin, so ``Image.open("x.licc")`` works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import pillow_plugin as _pillow_plugin
from .api import decode, encode, get_codec, read_info
from .errors import (
    ChecksumError, CorruptStreamError, FormatError, ImageError, LiccError, ModelMismatchError,
    OutputError, TruncatedError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__", "encode", "decode", "read_info", "get_codec", "Codec",
    "LiccError", "FormatError", "TruncatedError", "ChecksumError", "CorruptStreamError",
    "ModelMismatchError", "ImageError", "OutputError",
]

if TYPE_CHECKING:
    from .codec import Codec

_pillow_plugin.register()


def __getattr__(name: str) -> Any:
    if name == "Codec":
        from .codec import Codec

        return Codec
    raise AttributeError(name)
