"""The malloc tuning of the command line and the trainer (lic_codec/allocator.py)."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_malloc_tuning_takes_effect_exactly_on_glibc():
    # in a child process: the setting is process-wide
    code = "from lic_codec.allocator import keep_freed_memory; print(keep_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert out == str(on_glibc)


_PROBE = """
import ctypes, sys
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                              "usmblks", "fsmblks", "uordblks", "fordblks",
                                              "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "tuned":
    from lic_codec.allocator import keep_freed_memory
    keep_freed_memory()
block = libc.malloc(16 << 20)
print(libc.mallinfo2().hblkhd >> 20)  # MiB held in mmap'ed blocks
libc.free(block)
"""


def test_a_16_mib_block_comes_from_the_heap_once_tuned():
    """What the tuning is for: a large temporary is served from (and freed back to) the heap
    instead of a fresh mmap each time. (Linux with glibc, as CI and every machine here.)"""
    def mmapped(mode: str) -> int:
        return int(subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True,
                                  text=True, check=True).stdout)

    assert mmapped("plain") >= 16
    assert mmapped("tuned") == 0
