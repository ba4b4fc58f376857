"""Fuzz the container parser and the decoder with damaged and forged files.

    python -m lic_codec.fuzz --cases 20000 --seed 1

Starts from valid files (several sizes, modes and qualities) and applies one mutation per
case: truncation, bit flips, random bytes, or a forged field (section length, image size,
version, quality, channel mask, zero-length section) with every CRC recomputed so the
mutation reaches the decoder itself. Every case must end with a LiccError or a correct-size
image, within a time limit. Anything else is a finding and is printed (and saved with
--save).
"""

from __future__ import annotations

import argparse
import struct
import time
import zlib
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import LiccError
from .format.container import read_header

from .limits import MAX_PIXELS, MAX_SIDE


def _reseal(parts: dict, header_fields: Callable[[bytearray], None] | None = None) -> bytes:
    """Rebuild a file from header bytes + sections with every CRC and length recomputed."""
    head = bytearray(parts["head"])
    if header_fields:
        header_fields(head)
    sections = parts["sections"]
    # rewrite the section table (it sits just before the header CRC)
    n = len(sections)
    table_at = len(head) - 4 - 12 * n
    head[table_at - 1] = n
    for k, (tag, payload) in enumerate(sections):
        struct.pack_into("<4sII", head, table_at + 12 * k, tag, len(payload),
                         zlib.crc32(payload))
    total = len(head) + sum(len(p) for _, p in sections)
    struct.pack_into("<Q", head, 8, total)
    struct.pack_into("<I", head, len(head) - 4, zlib.crc32(bytes(head[:-4])))
    return bytes(head) + b"".join(p for _, p in sections)


def split(data: bytes) -> dict:
    h = read_header(data)
    pos, sections = h.header_size, []
    for tag, length, _ in h.sections:
        sections.append((tag, data[pos : pos + length]))
        pos += length
    return {"head": data[: h.header_size], "sections": sections, "header": h}


def mutate(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    parts = split(data)
    h = parts["header"]
    name_len = data[32]
    img_at = 33 + name_len  # width, height, mode, quality, channels
    kind = rng.integers(10)
    if kind == 0:
        cut = int(rng.integers(0, len(data)))
        return f"truncate at {cut}", data[:cut]
    if kind == 1:
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        return "bit flips", bytes(b)
    if kind == 2:
        b = bytearray(data)
        at = int(rng.integers(len(b)))
        b[at : at + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        return f"random bytes at {at}", bytes(b)
    if kind == 3:  # corrupt a coded section's content, CRCs recomputed
        k = int(rng.integers(len(parts["sections"])))
        tag, p = parts["sections"][k]
        b = bytearray(p)
        if b:
            for _ in range(int(rng.integers(1, 5))):
                b[int(rng.integers(len(b)))] = int(rng.integers(256))
        parts["sections"][k] = (tag, bytes(b))
        return f"resealed garbage in {tag!r}", _reseal(parts)
    if kind == 4:  # zero-length or shortened section
        k = int(rng.integers(len(parts["sections"])))
        tag, p = parts["sections"][k]
        parts["sections"][k] = (tag, p[: int(rng.integers(0, max(1, len(p))))])
        return f"resealed short {tag!r}", _reseal(parts)
    if kind == 5:  # forged dimensions, up to the largest image a header may declare: the
        # hyper-latent's checksum refuses them before the latent is allocated (format 2)
        w = int(np.exp(rng.uniform(0, np.log(MAX_SIDE))))
        hh = int(np.exp(rng.uniform(0, np.log(min(MAX_SIDE, MAX_PIXELS // w)))))
        return f"resealed size {w}x{hh}", _reseal(
            parts, lambda b: struct.pack_into("<II", b, img_at, w, hh))
    if kind == 6:
        v = int(rng.integers(0, 256))
        return f"resealed version {v}", _reseal(parts, lambda b: b.__setitem__(4, v))
    if kind == 7:
        q = int(rng.integers(0, 65536))
        return f"resealed quality {q}", _reseal(
            parts, lambda b: struct.pack_into("<H", b, img_at + 9, q))
    if kind == 8:  # flip channel mask bits
        mask_at = img_at + 13
        def flip(b: bytearray) -> None:
            for _ in range(int(rng.integers(1, 6))):
                b[mask_at + int(rng.integers((h.channels + 7) // 8))] ^= 1 << int(rng.integers(8))
        return "resealed channel mask", _reseal(parts, flip)
    mode = int(rng.integers(0, 256))
    return f"resealed mode {mode}", _reseal(parts, lambda b: b.__setitem__(img_at + 8, mode))


def check(decode: Callable[[bytes], object], data: bytes, time_limit: float
          ) -> tuple[str, str | None]:
    """("refused" | "decoded", None) for a clean end, ("finding", description) otherwise."""
    t0 = time.perf_counter()
    try:
        im = decode(data)
    except LiccError:
        im = None
    except Exception as exc:  # noqa: BLE001  (any other exception is a finding)
        return "finding", f"{type(exc).__name__}: {exc}"
    if time.perf_counter() - t0 > time_limit:
        return "finding", f"slow: {time.perf_counter() - t0:.1f} s"
    if im is None:
        return "refused", None
    h = read_header(data)
    if getattr(im, "size", None) != (h.width, h.height):
        return "finding", "decoded image has the wrong size"
    return "decoded", None


def seeds(codec) -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(0)
    out = []
    for (w, h), mode, q in (((48, 40), "RGB", 50), ((17, 65), "L", 0), ((64, 64), "RGBA", 100),
                            ((1, 1), "RGB", 30)):
        arr = (rng.random((h, w, 3)) * 80 + np.linspace(0, 150, w)[None, :, None])
        im = Image.fromarray(arr.astype(np.uint8)).convert(mode)
        out.append(codec.encode(im, quality=q))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m lic_codec.fuzz")
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--save", type=Path, default=None, help="folder for findings")
    args = ap.parse_args(argv)

    from .codec import Codec

    codec = Codec()
    base = seeds(codec)
    rng = np.random.default_rng(args.seed)
    counts = {"refused": 0, "decoded": 0, "finding": 0}
    t0 = time.time()
    for i in range(args.cases):
        kind, data = mutate(base[i % len(base)], rng)
        status, problem = check(codec.decode, data, args.time_limit)
        counts[status] += 1
        if problem:
            print(f"case {i} ({kind}): {problem}")
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"case{i}.licc").write_bytes(data)
    print(f"{args.cases} cases in {time.time() - t0:.0f} s: {counts['refused']} refused with "
          f"a clean error, {counts['decoded']} decoded, {counts['finding']} findings")
    raise SystemExit(1 if counts["finding"] else 0)


if __name__ == "__main__":
    main()
