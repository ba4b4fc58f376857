"""Training-step time with glibc's malloc tuned (lic_codec/allocator.py), with fused Adam and
with torch.compile (the trainer's --compile), against none of them: the student or the
teacher, bf16 autocast + channels_last, batch 8 of 128x128 random crops, the trainer's
gradient clipping, one thread by default.

Results: results/training.md (step times).

    python experiments/step_speed.py student [ROUNDS] [STEPS]

Every configuration runs in its own process (the allocator setting is process-wide), the
configurations alternate for ROUNDS rounds, and each reports the median of STEPS timed steps
after 3 untimed ones. Pause training runs meanwhile (kill -STOP / -CONT) and compare the
ratios, which a noisy machine keeps better than the absolute times.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # training/, beside lic_codec


import os
import statistics
import subprocess
import sys
import time

CONFIGS = {"plain": (False, False, False), "fused Adam": (False, True, False),
           "allocator": (True, False, False), "allocator + fused Adam": (True, True, False),
           "allocator + fused Adam + compile": (True, True, True)}


def child(arch: str, keep: bool, fused: bool, compiled: bool, steps: int) -> float:
    import torch

    from lic_codec.allocator import keep_freed_memory
    from lic_codec.models.config import STUDENT, TEACHER
    from lic_codec.models.lic import LicModel
    from training.losses import rate_distortion

    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    if keep and not keep_freed_memory():
        raise SystemExit("the allocator setting did not take effect (not glibc?)")
    torch.manual_seed(0)
    cfg = STUDENT if arch == "student" else TEACHER
    model = LicModel(cfg).to(memory_format=torch.channels_last).train()
    params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(params, lr=1e-4, fused=fused)
    forward = torch.compile(model) if compiled else model  # compiled in the untimed steps

    def step() -> None:
        x = torch.rand(8, 3, 128, 128).to(memory_format=torch.channels_last)
        t = torch.rand(8) * (cfg.num_levels - 1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = rate_distortion(forward(x, t), x, model.lmbda(t), 1.0)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0).item()
        opt.step()

    for _ in range(3):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    if sys.argv[1] == "--child":
        arch, steps = sys.argv[2], int(sys.argv[6])
        keep, fused, compiled = (a == "1" for a in sys.argv[3:6])
        print(child(arch, keep, fused, compiled, steps))
        return
    arch = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    steps = sys.argv[3] if len(sys.argv) > 3 else "15"
    got: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for _ in range(rounds):
        for name, flags in CONFIGS.items():
            out = subprocess.run([sys.executable, __file__, "--child", arch,
                                  *(str(int(f)) for f in flags), steps],
                                 capture_output=True, text=True, check=True)
            got[name].append(float(out.stdout.split()[-1]))
    base = statistics.median(got["plain"])
    print(f"{arch}, {os.environ.get('THREADS', '1')} thread(s), median step time over "
          f"{rounds} rounds of {steps} steps")
    for name, ts in got.items():
        m = statistics.median(ts)
        print(f"  {name:34s} {m:.3f} s  ({m / base:.2f} x plain)  rounds: "
              + " ".join(f"{t:.3f}" for t in ts))


if __name__ == "__main__":
    main()
