"""Many files in one process: plan the outputs, run the work (optionally in parallel
threads sharing one loaded network), collect per-file outcomes. A failure on one file never
stops the others."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .errors import LiccError


@dataclass
class Outcome:
    src: Path | str  # a path; in cluster mode also a URI (s3://...)
    dst: Path | str
    ok: bool = True
    skipped: bool = False
    error: str = ""
    in_bytes: int = 0
    out_bytes: int = 0
    note: str = ""


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def line(self, verb: str) -> str:
        done = [o for o in self.outcomes if o.ok and not o.skipped]
        skipped = sum(o.skipped for o in self.outcomes)
        i = sum(o.in_bytes for o in done)
        o = sum(o.out_bytes for o in done)
        ratio = f", ratio {i / o:.2f}" if o else ""
        extra = f", {skipped} skipped" if skipped else ""
        files = "file" if len(done) == 1 else "files"
        return (f"{verb} {len(done)} {files} ({len(self.failed)} failed{extra}): "
                f"{i} -> {o} bytes{ratio}, {self.seconds:.1f} s")


def expand_inputs(paths: Iterable[Path], suffixes: set[str] | None, recursive: bool
                  ) -> list[Path | Outcome]:
    """Files as given; directories walked (only with ``recursive``) for the given suffixes.
    A directory without ``recursive`` becomes a failed outcome naming the problem."""
    out: list[Path | Outcome] = []
    for p in paths:
        if p.is_dir():
            if not recursive:
                out.append(Outcome(p, p, ok=False,
                                   error=f"{p}: is a directory (use --recursive)"))
                continue
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()
                              and (suffixes is None or f.suffix.lower() in suffixes)))
        else:
            out.append(p)
    return out


def plan(inputs: list[Path | Outcome], out_dir: Path, suffix: str) -> list[Outcome]:
    """Output = OUTDIR / (input stem + suffix). Two inputs that would write the same output
    are both refused rather than one silently overwriting the other."""
    planned: list[Outcome] = []
    seen: dict[Path | str, Outcome] = {}
    for item in inputs:
        if isinstance(item, Outcome):
            planned.append(item)
            continue
        o = Outcome(item, out_dir / (item.stem + suffix))
        if o.dst in seen:
            for dup in (seen[o.dst], o):
                dup.ok, dup.error = False, f"{dup.src}: output name {Path(o.dst).name} is not unique"
        seen[o.dst] = o
        planned.append(o)
    return planned


def run(outcomes: list[Outcome], work: Callable[[Outcome], None], jobs: int = 1,
        on_done: Callable[[Outcome], None] | None = None) -> Summary:
    """``work`` fills in an outcome or raises LiccError; anything else is a bug and
    propagates."""
    t0 = time.perf_counter()

    def one(o: Outcome) -> Outcome:
        if o.ok:
            try:
                work(o)
            except LiccError as exc:
                o.ok, o.error = False, str(exc)
        if on_done:
            on_done(o)
        return o

    if jobs > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            done = list(pool.map(one, outcomes))
    else:
        done = [one(o) for o in outcomes]
    return Summary(done, time.perf_counter() - t0)
