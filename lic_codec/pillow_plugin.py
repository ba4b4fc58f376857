"""Pillow plugin: ``Image.open("x.licc")`` and ``img.save("x.licc", quality=60)``.

Opening reads and validates only the header (size and mode are known at once); the network
runs on the first access to the pixels (``load()``), as Pillow's own lazy formats do.
Registered when ``lic_codec`` is imported.
"""

from __future__ import annotations

from typing import IO, Any

from PIL import Image, ImageFile

from .format import constants as C

FORMAT = "LICC"
MIME = "image/x-licc"


def _accept(prefix: bytes) -> bool:
    return prefix[:4] == C.MAGIC


class LiccImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "licc learned image codec"

    def _open(self) -> None:
        from .errors import LiccError
        from .format.container import read_header

        if self.fp is None:
            raise SyntaxError("no file to read")
        data = self.fp.read()
        try:
            header = read_header(data)
        except LiccError as exc:
            raise SyntaxError(str(exc)) from None
        self._size = (header.width, header.height)
        self._mode = header.mode
        self.info["licc_quality"] = header.quality
        self.info["licc_model"] = header.model_name
        self._licc_data: bytes | None = data
        self.tile = []

    def load(self) -> Any:
        if self._licc_data is not None:
            from .api import decode

            decoded = decode(self._licc_data)  # raises LiccError on a damaged file
            self._licc_data = None
            self.im = decoded.im
            self._mode = decoded.mode
        return Image.Image.load(self)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """``Image.save(path, quality=60, strip=True, ...)``: every keyword of
    ``lic_codec.encode`` is honoured and any other is an error (none is dropped silently)."""
    from .api import ENCODE_OPTIONS, encode

    unknown = sorted(set(im.encoderinfo) - set(ENCODE_OPTIONS))
    if unknown:  # a misspelt option must not pass for the default
        raise ValueError(f"LICC does not take {', '.join(unknown)} (it takes "
                         f"{', '.join(ENCODE_OPTIONS)})")
    fp.write(encode(im, **im.encoderinfo))


def register() -> None:
    Image.register_open(FORMAT, LiccImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".licc")
    Image.register_mime(FORMAT, MIME)
