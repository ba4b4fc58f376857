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
