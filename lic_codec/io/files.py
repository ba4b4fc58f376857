"""Safe output: never a half-written file, never a surprise overwrite, never the input."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import LiccError, OutputError


def read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LiccError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LiccError(f"{path}: is a directory") from None
    except OSError as exc:
        raise LiccError(f"{path}: cannot read ({exc.strerror})") from None


def check_output(inp: Path | None, out: Path, force: bool) -> None:
    """Refuse to write onto the input, onto a directory, into a missing directory, or onto
    an existing file without ``force``."""
    if inp is not None and out.exists() and inp.exists() and os.path.samefile(inp, out):
        raise OutputError(f"{out}: output would overwrite the input")
    if out.is_dir():
        raise OutputError(f"{out}: is a directory")
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists (use --force to overwrite)")
    if not out.parent.exists():
        raise OutputError(f"{out.parent}: directory does not exist")


@contextmanager
def atomic_output(out: Path):
    """Yield a temporary path beside ``out``; rename it onto ``out`` on success, delete it
    on any failure (Ctrl-C included)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_atomic(out: Path, data: bytes) -> None:
    with atomic_output(out) as tmp:
        tmp.write_bytes(data)
