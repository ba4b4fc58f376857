"""The container: header round trip, and every way a file can be broken."""

from __future__ import annotations

import struct
import zlib

import pytest

from lic_codec.errors import ChecksumError, FormatError, TruncatedError
from lic_codec.format import constants as C
from lic_codec.format.container import Header, pack_mask, read_container, read_header, \
    write_container

SECTIONS = {C.TAG_HYPER: b"zz" * 10, C.TAG_ANCHOR: b"a" * 33, C.TAG_NONANCHOR: b"n" * 7}


def make(**kw) -> bytes:
    h = Header(model_id=bytes(range(16)), model_name="student", width=641, height=3,
               mode="RGB", quality=37.25, channels=20,
               channel_mask=pack_mask([i % 3 != 0 for i in range(20)]), symbols_crc=0xDEADBEEF,
               prefix_crcs=(0x1234, 0xABCD))
    for k, v in kw.items():
        setattr(h, k, v)
    return write_container(h, SECTIONS)


def test_header_round_trip():
    data = make()
    h, sections = read_container(data)
    assert (h.width, h.height, h.mode, h.quality, h.channels) == (641, 3, "RGB", 37.25, 20)
    assert h.model_name == "student" and h.model_id == bytes(range(16))
    assert h.active_channels == [i % 3 != 0 for i in range(20)]
    assert h.skipped_channels == 7
    assert h.symbols_crc == 0xDEADBEEF and h.prefix_crcs == (0x1234, 0xABCD)
    assert h.version == 2
    assert sections == SECTIONS
    assert h.total_size == len(data)
    assert h.section_sizes() == {"ZHYP": 20, "YANC": 33, "YNON": 7}


def test_alpha_section_and_modes():
    h = Header(model_id=b"\0" * 16, model_name="m", width=1, height=1, mode="LA", quality=0,
               channels=8, channel_mask=b"\xff", symbols_crc=0, prefix_crcs=(0, 0))
    data = write_container(h, {**SECTIONS, C.TAG_ALPHA: b"alpha"})
    h2, s = read_container(data)
    assert h2.mode == "LA" and s[C.TAG_ALPHA] == b"alpha"


def test_version_1_headers_are_read_without_prefix_checksums():
    """Files of format 1 (one symbols CRC) stay readable; the golden files decode them."""
    data = bytearray(make())
    h = read_header(bytes(data))
    mask_end = h.header_size - 4 - 1 - 12 * len(h.sections) - 4 - 8
    v1 = data[:mask_end] + data[mask_end + 8:]  # drop the two prefix CRCs
    v1[4] = 1
    struct.pack_into("<H", v1, 6, h.header_size - 8)
    struct.pack_into("<Q", v1, 8, h.total_size - 8)
    hs = h.header_size - 8
    v1[hs - 4:hs] = struct.pack("<I", zlib.crc32(bytes(v1[: hs - 4])))
    h1, sections = read_container(bytes(v1))
    assert h1.version == 1 and h1.prefix_crcs is None and h1.symbols_crc == 0xDEADBEEF
    assert sections == SECTIONS


@pytest.mark.parametrize("cut", [0, 3, 10, 40, -1, -8])
def test_truncation(cut):
    data = make()
    with pytest.raises(FormatError):
        read_container(data[:cut] if cut else b"")


def test_truncated_body_is_reported_as_truncation():
    data = make()
    with pytest.raises(TruncatedError, match="truncated"):
        read_container(data[:-5])


def test_every_bit_flip_is_detected():
    data = make()
    for pos in range(len(data)):
        for bit in (0, 5):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            with pytest.raises(FormatError):
                read_container(bytes(bad))


def test_wrong_magic():
    with pytest.raises(FormatError, match="not a licc file"):
        read_container(b"\x89PNG" + make()[4:])


def _reseal(data: bytes, offset: int, fmt: str, value) -> bytes:
    """Forge a field and recompute the header CRC, as an attacker would."""
    hs = struct.unpack_from("<H", data, 6)[0]
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, hs - 4, zlib.crc32(bytes(b[: hs - 4])))
    return bytes(b)


def test_unsupported_version():
    with pytest.raises(FormatError, match="unsupported format version 9"):
        read_header(_reseal(make(), 4, "<B", 9))


def test_forged_dimensions_are_refused():
    data = make()
    name_len = data[32]
    off = 33 + name_len
    with pytest.raises(FormatError, match="outside the supported range"):
        read_header(_reseal(data, off, "<I", 10**9))
    with pytest.raises(FormatError, match="limit"):
        read_header(_reseal(_reseal(data, off, "<I", 30000), off + 4, "<I", 30000))


def test_forged_section_length():
    data = make()
    hs = struct.unpack_from("<H", data, 6)[0]
    # first section entry sits right before the header CRC minus 3 entries
    entry = hs - 4 - 3 * 12
    with pytest.raises(FormatError):
        read_container(_reseal(data, entry + 4, "<I", 2**31))


def test_trailing_bytes():
    with pytest.raises(FormatError, match="trailing"):
        read_container(make() + b"x")
