"""Files in and out: the images of a folder (``find_images``), and safe output: never a
half-written file, never a surprise overwrite, never the input.

Output bytes go to an anonymous file (Linux O_TMPFILE) that gets a name only once it is
complete, so even a SIGKILL leaves nothing behind. Where that is not possible (other systems,
and sandboxes that refuse the link through /proc with EXDEV, as this project's build machine
does) a hidden temporary file beside the target (``.NAME.*.part``) is renamed into place and
removed on any exception (Ctrl-C and SIGTERM included, see ``cli``); only a SIGKILL in the
middle of the write can leave it behind. Either way the target is never half-written.
"""

from __future__ import annotations

import os
import stat
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


def _umask() -> int:
    try:  # read, not set: setting it would race with other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_mode(out: Path) -> int:
    """The permissions a plain ``open(out, "w")`` would give: an overwritten file keeps its
    own, a new one gets 0o666 minus the umask (temporary files start at 0o600)."""
    try:
        return stat.S_IMODE(os.stat(out).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _write_anonymous(out: Path, data: bytes) -> bool:
    """Write via O_TMPFILE and link into place. False if the platform cannot."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    try:
        fd = os.open(out.parent, flag | os.O_WRONLY, 0o644)
    except OSError:
        return False
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, output_mode(out))
        os.fsync(fd)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{id(data):x}.part")
        os.link(f"/proc/self/fd/{fd}", tmp, follow_symlinks=True)
        os.replace(tmp, out)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@contextmanager
def atomic_output(out: Path):
    """Yield a temporary path beside ``out``; rename it onto ``out`` on success, delete it
    on any failure."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, output_mode(out))
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_atomic(out: Path, data: bytes) -> None:
    try:
        if _write_anonymous(out, data):
            return
        with atomic_output(out) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write ({exc.strerror})") from None


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"}


def find_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` (recursively, by suffix), sorted."""
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def spread(paths: list[Path], n: int | None) -> list[Path]:
    """``n`` of ``paths`` evenly spaced over the sorted list (all of them for None or n >= the
    count). Why not the first n: a folder sorted by name groups its sources (val/ by
    collection), and a subset for frequent evaluations should sample every kind."""
    if not n or n >= len(paths):
        return list(paths)
    return [paths[i * len(paths) // n] for i in range(n)]
