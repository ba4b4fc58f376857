"""Training-step time with and without torch.compile (bf16 autocast + channels_last, batch 8
of 128x128, random data; the time does not depend on the weights or the pixels).

Results: results/compile_ab/, results/compile_ab_teacher/ and results/training.md.

    python experiments/compile_speed.py student eager 20
    python experiments/compile_speed.py student compile 20

Compilation happens in the untimed warm-up steps. Run nothing else meanwhile.
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # training/, beside lic_codec


import os
import sys
import time

import torch

from lic_codec.models.config import STUDENT, TEACHER
from lic_codec.models.lic import LicModel
from training.losses import rate_distortion


def main() -> None:
    arch, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    torch.manual_seed(0)
    cfg = STUDENT if arch == "student" else TEACHER
    model = LicModel(cfg).to(memory_format=torch.channels_last).train()
    forward = torch.compile(model) if mode == "compile" else model
    opt = torch.optim.Adam([p for name, p in model.named_parameters()
                            if not name.endswith("quantiles")], lr=1e-4)

    def step() -> None:
        x = torch.rand(8, 3, 128, 128).to(memory_format=torch.channels_last)
        t = torch.rand(8) * (cfg.num_levels - 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = rate_distortion(forward(x, t), x, model.lmbda(t), 0.01)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    t0 = time.time()
    for _ in range(3):
        step()
    print(f"{arch} {mode}: warm-up (with compilation) {time.time() - t0:.1f} s")
    t0 = time.time()
    for _ in range(n):
        step()
    print(f"{arch} {mode}: {(time.time() - t0) / n:.3f} s/step")


if __name__ == "__main__":
    main()
