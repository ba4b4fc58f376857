"""Check a Python SSIMULACRA2 implementation against scores of the C++ reference (libjxl's
tools/ssimulacra2) on synthetic pairs whose generation is published with the scores
(imazen/ssimulacra2, src/reference_data.rs, made by examples/capture_cpp_reference.rs: uniform
grey 128 against 128 + shift, a horizontal grey ramp and LCG noise against uniform grey).

    pip install ssimulacra2 && python experiments/ssimulacra2_check.py

Issue 44 asks for SSIMULACRA2 in the bench only once an implementation is checked this way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

# (kind, shift, side) -> the C++ reference score
REFERENCE = {
    ("shift", 1, 64): 97.98672126, ("shift", 5, 64): 91.52357693,
    ("shift", 10, 64): 80.24289393, ("shift", 20, 64): 56.05855584,
    ("shift", 50, 64): -8.75942256, ("shift", 10, 128): 77.84296299,
    ("shift", 20, 256): 59.77892918, ("shift", 50, 256): -0.39085784,
    ("ramp", 0, 64): -64.56872148, ("noise", 0, 64): -47.33572558,
}


def uniform(n: int, v: int) -> np.ndarray:
    return np.full((n, n, 3), v, np.uint8)


def ramp(n: int) -> np.ndarray:
    x = (np.arange(n) * 255 // (n - 1)).astype(np.uint8)
    return np.repeat(np.repeat(x[None, :, None], n, 0), 3, 2)


def lcg_noise(n: int, seed: int) -> np.ndarray:
    s, out = seed, []
    for _ in range(n * n * 3):
        s = (s * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append((s >> 33) & 0xFF)
    return np.array(out, np.uint8).reshape(n, n, 3)


def main() -> None:
    from ssimulacra2 import compute_ssimulacra2

    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.png", Path(tmp) / "b.png"
        for (kind, shift, n), expected in REFERENCE.items():
            src = {"shift": uniform(n, 128), "ramp": ramp(n), "noise": lcg_noise(n, 42)}[kind]
            Image.fromarray(src).save(a)
            Image.fromarray(uniform(n, 128 + shift)).save(b)
            got = compute_ssimulacra2(str(a), str(b))
            print(f"{kind} {shift} {n}x{n}: reference {expected:8.3f}, this implementation "
                  f"{got:8.3f} ({got - expected:+.3f})")


if __name__ == "__main__":
    main()
