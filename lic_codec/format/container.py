"""Symmetric writer/reader of the .licc container. Pure Python: no torch, no numpy, so
``licc info`` can read a header cheaply. Byte layout: docs/format.md.

Every field is validated before anything is allocated from it: magic, version, header CRC,
declared total length against the actual length, image size caps, and a CRC-32 per section.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from ..errors import ChecksumError, FormatError, TruncatedError
from . import constants as C

_FIXED = struct.Struct("<4sBBHQ16s")  # magic, version, flags, header length, total length, model id
_IMAGE = struct.Struct("<IIBHH")  # width, height, mode, quality x100, latent channels
_SECTION = struct.Struct("<4sII")  # tag, length, crc32
_U32 = struct.Struct("<I")


@dataclass
class Header:
    model_id: bytes  # 16 bytes: prefix of the weights file's SHA-256
    model_name: str
    width: int
    height: int
    mode: str  # "RGB", "L", "RGBA" or "LA"
    quality: float  # 0..100, two decimals
    channels: int  # latent channels M
    channel_mask: bytes  # ceil(M / 8) bytes, bit i (LSB first) set = channel i coded
    symbols_crc: int  # CRC-32 of every decoded symbol (z, then anchors, then non-anchors)
    sections: list[tuple[bytes, int, int]] = field(default_factory=list)  # (tag, length, crc)
    # version 2 on: the same running CRC after the z symbols and after the anchors, so the
    # decoder refuses a file whose header does not match its streams (a forged image size)
    # after the small hyper-latent, before the latent is allocated. None in version 1 files
    prefix_crcs: tuple[int, int] | None = None
    version: int = C.FORMAT_VERSION
    header_size: int = 0
    total_size: int = 0

    @property
    def active_channels(self) -> list[bool]:
        return [bool(self.channel_mask[i // 8] >> (i % 8) & 1) for i in range(self.channels)]

    @property
    def skipped_channels(self) -> int:
        return self.channels - sum(self.active_channels)

    def section_sizes(self) -> dict[str, int]:
        return {tag.decode("ascii"): length for tag, length, _ in self.sections}


def pack_mask(active: list[bool]) -> bytes:
    out = bytearray((len(active) + 7) // 8)
    for i, a in enumerate(active):
        if a:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def write_container(header: Header, sections: dict[bytes, bytes]) -> bytes:
    """Serialize header + sections. Section order follows ``KNOWN_TAGS``."""
    tags = [t for t in C.KNOWN_TAGS if t in sections]
    name = header.model_name.encode("ascii")
    if len(name) > C.MAX_MODEL_NAME or len(header.model_id) != C.MODEL_ID_BYTES:
        raise ValueError("bad model name or id")
    q100 = int(round(header.quality * 100))
    body = bytearray()
    body += bytes([len(name)]) + name
    body += _IMAGE.pack(header.width, header.height, C.MODE_CODES[header.mode], q100,
                        header.channels)
    body += header.channel_mask
    if header.prefix_crcs is None:
        raise ValueError("version 2 headers need the z and anchor CRCs")
    body += _U32.pack(header.prefix_crcs[0]) + _U32.pack(header.prefix_crcs[1])
    body += _U32.pack(header.symbols_crc)
    body += bytes([len(tags)])
    for t in tags:
        body += _SECTION.pack(t, len(sections[t]), zlib.crc32(sections[t]))
    header_size = _FIXED.size + len(body) + 4
    total = header_size + sum(len(sections[t]) for t in tags)
    fixed = _FIXED.pack(C.MAGIC, C.FORMAT_VERSION, 0, header_size, total, header.model_id)
    head = fixed + bytes(body)
    return head + _U32.pack(zlib.crc32(head)) + b"".join(sections[t] for t in tags)


class _Reader:
    def __init__(self, buf: bytes, start: int, end: int):
        self.buf, self.pos, self.end = buf, start, end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise FormatError("header is shorter than its fields")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, st: struct.Struct) -> tuple:
        return st.unpack(self.take(st.size))


def read_header(data: bytes) -> Header:
    """Parse and validate the header only (cheap; does not check section CRCs).

    Works on a prefix of a file too, as long as the whole header is present."""
    if len(data) < 4 or data[:4] != C.MAGIC:
        raise FormatError("not a licc file (bad magic bytes)")
    if len(data) < _FIXED.size:
        raise TruncatedError("file is truncated inside the header")
    magic, version, flags, header_size, total, model_id = _FIXED.unpack_from(data, 0)
    if version not in C.SUPPORTED_VERSIONS:
        raise FormatError(f"unsupported format version {version} (this licc reads "
                          f"{', '.join(map(str, C.SUPPORTED_VERSIONS))})")
    if header_size < _FIXED.size + 4 or header_size > total:
        raise FormatError("invalid header length")
    if len(data) < header_size:
        raise TruncatedError("file is truncated inside the header")
    (crc,) = _U32.unpack_from(data, header_size - 4)
    if zlib.crc32(data[: header_size - 4]) != crc:
        raise ChecksumError("header checksum mismatch: the file is corrupted")

    r = _Reader(data, _FIXED.size, header_size - 4)
    name_len = r.take(1)[0]
    if name_len > C.MAX_MODEL_NAME:
        raise FormatError("invalid model name length")
    try:
        name = r.take(name_len).decode("ascii")
    except UnicodeDecodeError:
        raise FormatError("invalid model name") from None
    width, height, mode_code, q100, channels = r.unpack(_IMAGE)
    if not (1 <= width <= C.MAX_SIDE and 1 <= height <= C.MAX_SIDE):
        raise FormatError(f"image size {width}x{height} is outside the supported range")
    if width * height > C.MAX_PIXELS:
        raise FormatError(f"image of {width}x{height} pixels exceeds the decoder's limit")
    if mode_code not in C.MODES:
        raise FormatError(f"unknown colour mode {mode_code}")
    if q100 > 10000:
        raise FormatError("invalid quality field")
    if not 1 <= channels <= C.MAX_LATENT_CHANNELS:
        raise FormatError("invalid latent channel count")
    mask = r.take((channels + 7) // 8)
    prefix_crcs = None
    if version >= 2:
        prefix_crcs = (r.unpack(_U32)[0], r.unpack(_U32)[0])
    (symbols_crc,) = r.unpack(_U32)
    n_sections = r.take(1)[0]
    if n_sections > C.MAX_SECTIONS:
        raise FormatError("too many sections")
    sections = [r.unpack(_SECTION) for _ in range(n_sections)]
    if r.pos != r.end:
        raise FormatError("header has trailing bytes")
    seen = set()
    for tag, _, _ in sections:
        if tag not in C.KNOWN_TAGS or tag in seen:
            raise FormatError(f"unknown or repeated section {tag!r}")
        seen.add(tag)
    for tag in C.REQUIRED_TAGS:
        if tag not in seen:
            raise FormatError(f"missing section {tag.decode()}")
    if header_size + sum(length for _, length, _ in sections) != total:
        raise FormatError("section lengths do not add up to the file length")
    return Header(
        model_id=model_id, model_name=name, width=width, height=height,
        mode=C.MODES[mode_code], quality=q100 / 100.0, channels=channels, channel_mask=mask,
        symbols_crc=symbols_crc, prefix_crcs=prefix_crcs, sections=sections, version=version,
        header_size=header_size, total_size=total,
    )


def read_container(data: bytes) -> tuple[Header, dict[bytes, bytes]]:
    """Validate the whole file (lengths and every CRC) and return header + sections."""
    header = read_header(data)
    if len(data) < header.total_size:
        raise TruncatedError(
            f"file is truncated: {len(data)} of {header.total_size} bytes present")
    if len(data) > header.total_size:
        raise FormatError(f"file has {len(data) - header.total_size} unexpected trailing bytes")
    sections: dict[bytes, bytes] = {}
    pos = header.header_size
    for tag, length, crc in header.sections:
        payload = data[pos : pos + length]
        if zlib.crc32(payload) != crc:
            raise ChecksumError(f"section {tag.decode()} checksum mismatch: the file is corrupted")
        sections[tag] = payload
        pos += length
    return header, sections
