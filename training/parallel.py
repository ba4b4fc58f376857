"""Data-parallel training over the cores of one machine: ``--workers W`` runs W processes of
one thread each; every step each takes its share of one batch of W x --batch crops and the
gradients are averaged (gloo), so one run trains on W times the crops per step in about the
time of one worker's step.

Why: a student's step does not use a second thread (0.134 s on two threads alone against
0.115 s on one beside another run, results/training.md), so one run could only use one of the
two cores; the other had to train a second, less promising network. With two workers the one
run that matters gets both.

Worker 0 is the process that was started: it spawns the others (the same command line, told
their rank by the environment), writes the log, checkpoints and evaluations; the others only
compute gradients. The workers draw the crops and rate positions of the whole batch from the
step's seed and keep their slice, so W workers see the crops one process with a batch of
W x --batch would (the same run, only spread out). Weights stay identical on every worker: the
averaged gradient is the same bits everywhere, and worker 0's weights are broadcast at the
start and every ``SYNC_EVERY`` steps besides.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Iterable

import torch

ENV_RANK, ENV_WORLD, ENV_ADDRESS = "LICC_TRAIN_RANK", "LICC_TRAIN_WORLD", "LICC_TRAIN_ADDRESS"
SYNC_EVERY = 1000


class WorkerLost(RuntimeError):
    """A collective failed: another worker died or was killed."""


class Workers:
    """This process' place in the group: ``rank`` (0 leads) of ``world``."""

    def __init__(self, workers: int, argv: list[str]):
        self.rank = int(os.environ.get(ENV_RANK, 0))
        self.world = int(os.environ.get(ENV_WORLD, workers))
        self.helpers: list[subprocess.Popen] = []
        if self.world == 1:
            return
        import torch.distributed as dist

        # worker 0 evaluates on Kodak while the others wait in the next all-reduce
        timeout = datetime.timedelta(hours=1)
        if self.rank == 0:
            store = dist.TCPStore("127.0.0.1", 0, self.world, is_master=True,
                                  wait_for_workers=False, timeout=timeout)
            for r in range(1, self.world):
                env = {**os.environ, ENV_RANK: str(r), ENV_WORLD: str(self.world),
                       ENV_ADDRESS: f"127.0.0.1:{store.port}"}
                # quiet: worker 0 reports for the run; errors still reach stderr
                self.helpers.append(subprocess.Popen(
                    [sys.executable, "-m", "training", *argv], env=env,
                    stdout=subprocess.DEVNULL))
            self._wait_for_helpers(store)
        else:
            host, port = os.environ[ENV_ADDRESS].rsplit(":", 1)
            store = dist.TCPStore(host, int(port), self.world, is_master=False, timeout=timeout)
            store.set(f"licc/worker{self.rank}", "ready")
        dist.init_process_group("gloo", store=store, rank=self.rank, world_size=self.world,
                                timeout=timeout)

    def _wait_for_helpers(self, store) -> None:
        """Until every helper has started; a helper that exits first (it could not import,
        or failed) is an error now rather than an hour's wait in the group's set-up."""
        keys = [f"licc/worker{r}" for r in range(1, self.world)]
        while not store.check(keys):
            for r, h in enumerate(self.helpers, 1):
                if h.poll() is not None:
                    for other in self.helpers:
                        other.kill()
                    raise SystemExit(f"training worker {r} exited with status {h.returncode} "
                                     "before it started")
            time.sleep(0.2)

    @property
    def leads(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This worker's slice of a batch of ``n * world`` items."""
        return slice(self.rank * n, (self.rank + 1) * n)

    def broadcast(self, params: Iterable[torch.Tensor]) -> None:
        """Worker 0's values into every worker's tensors (in place)."""
        if self.world == 1:
            return
        import torch.distributed as dist

        for p in params:
            with torch.no_grad():
                buf = p.detach().contiguous()
                self._collective(dist.broadcast, buf, 0)
                if buf.data_ptr() != p.data_ptr():
                    p.copy_(buf)

    def average_gradients(self, params: list[torch.Tensor]) -> None:
        """Every parameter's gradient -> its mean over the workers (one flat all-reduce)."""
        if self.world == 1:
            return
        import torch.distributed as dist

        for p in params:
            if p.grad is None:  # unused here: it may be used on another worker
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        self._collective(dist.all_reduce, flat)
        flat.div_(self.world)
        at = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[at:at + n].view_as(p.grad))
            at += n

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over the workers (float64): metrics, stop requests, CPU time."""
        if self.world == 1:
            return values
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64)
        self._collective(dist.all_reduce, t)
        return t.tolist()

    def close(self) -> None:
        """Leave the group; worker 0 waits for the others to exit."""
        if self.world == 1:
            return
        import torch.distributed as dist

        try:
            if dist.is_initialized():
                dist.destroy_process_group()
        finally:
            for h in self.helpers:
                try:
                    h.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    h.kill()

    @staticmethod
    def _collective(fn, *args) -> None:
        try:
            fn(*args)
        except RuntimeError as exc:  # gloo: a peer closed the connection
            raise WorkerLost(f"a training worker stopped: {exc}") from exc

