"""`licc encode|decode ... --ray`: batch conversion spread over a Ray cluster with Ray Data.

The driver lists the sources (local folders or object-store URIs that pyarrow understands,
e.g. s3://bucket/photos), plans one output per source under DST keeping its path relative
to the source folder, and hands the list to Ray Data. A pool of actors, each holding one
loaded Codec, converts one file per call with the same code as local mode (convert.py), so
the bytes are the same. Outputs are written whole or not at all: on a local disk to a
temporary name renamed into place, on an object store as one upload, which the store makes
visible only when complete. A file that fails is tried again (``RETRIES``), then reported
with its reason in DST/licc-failures.jsonl; an actor that dies mid-file is restarted by Ray
and its file redone, which writes the same bytes. Rerunning with --skip-existing finishes an
interrupted run.

Only imported with --ray: `import lic_codec` and `licc --help` never import Ray.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable

from .batch import Outcome, Summary
from .convert import EncodeOptions, decode_bytes, encode_bytes
from .errors import LiccError, OutputError

RETRIES = 2  # further attempts after a file fails
FAILURES = "licc-failures.jsonl"


def _split_query(uri: str) -> tuple[str, str]:
    """'s3://b/p?endpoint_override=...' -> ('s3://b/p', '?endpoint_override=...')."""
    base, sep, query = uri.partition("?")
    return base, sep + query


def _fs(uri: str):
    """(pyarrow filesystem, path inside it) for a local path or a URI (options such as an
    S3 endpoint ride in the URI's query, as pyarrow reads them)."""
    import os

    from pyarrow import fs

    if "://" not in uri:
        uri = os.path.abspath(uri)
    return fs.FileSystem.from_uri(uri)


def _is_local(filesystem) -> bool:
    return filesystem.type_name == "local"


def join(root: str, rel: str) -> str:
    base, query = _split_query(root)
    return base.rstrip("/") + "/" + rel + query


@dataclass
class Item:
    src: str  # URI or absolute path
    dst: str
    rel: str  # path relative to the source folder (file name for a file argument)


def plan(sources: list[str], dst: str, suffixes: set[str], suffix: str,
         recursive: bool) -> tuple[list[Item], list[Outcome]]:
    """One Item per source file, its output under ``dst`` at the same relative path with the
    new suffix; folders need ``recursive``. Problems become failed outcomes."""
    from pyarrow import fs

    items: list[Item] = []
    problems: list[Outcome] = []
    for src in sources:
        filesystem, path = _fs(src)
        info = filesystem.get_file_info(path)
        if info.type == fs.FileType.NotFound:
            problems.append(Outcome(src, dst, ok=False, error=f"{src}: no such file"))
        elif info.type == fs.FileType.Directory:
            if not recursive:
                problems.append(Outcome(src, dst, ok=False,
                                        error=f"{src}: is a directory (use --recursive)"))
                continue
            found = filesystem.get_file_info(fs.FileSelector(path, recursive=True))
            for f in sorted((f for f in found if f.type == fs.FileType.File),
                            key=lambda f: f.path):
                if PurePosixPath(f.path).suffix.lower() in suffixes:
                    rel = PurePosixPath(f.path).relative_to(path.rstrip("/")).as_posix()
                    items.append(Item(_uri(src, f.path), "", rel))
        else:
            items.append(Item(_uri(src, path), "", PurePosixPath(path).name))
    counts: dict[str, int] = {}
    for it in items:
        it.dst = join(dst, str(PurePosixPath(it.rel).with_suffix(suffix)))
        counts[it.dst] = counts.get(it.dst, 0) + 1
    for it in items:  # two sources for one output: both refused, as in local mode
        if counts[it.dst] > 1:
            problems.append(Outcome(it.src, it.dst, ok=False,
                                    error=f"{it.src}: output {it.dst} is not unique"))
    return [it for it in items if counts[it.dst] == 1], problems


def _uri(arg: str, path: str) -> str:
    """A path found under the argument, as a URI with the argument's scheme and options."""
    if "://" not in arg:
        return path
    base, query = _split_query(arg)
    return f"{base.split('://', 1)[0]}://{path}{query}"


def existing(dst: str, items: list[Item], suffix: str) -> set[str]:
    """The planned outputs that exist already: one query to the output's filesystem."""
    from pyarrow import fs

    if not items:
        return set()
    filesystem, root = _fs(dst)
    paths = [root.rstrip("/") + "/" + str(PurePosixPath(it.rel).with_suffix(suffix))
             for it in items]
    infos = filesystem.get_file_info(paths)
    return {it.dst for it, info in zip(items, infos) if info.type == fs.FileType.File}


def write_whole(uri: str, data: bytes) -> None:
    """Write ``data`` so that no partial output is ever visible."""
    filesystem, path = _fs(uri)
    parent = str(PurePosixPath(path).parent)
    filesystem.create_dir(parent, recursive=True)
    if _is_local(filesystem):
        tmp = f"{parent}/.{PurePosixPath(path).name}.{uuid.uuid4().hex}.part"
        try:
            with filesystem.open_output_stream(tmp) as f:
                f.write(data)
            filesystem.move(tmp, path)
        except BaseException:
            try:
                filesystem.delete_file(tmp)
            except OSError:
                pass
            raise
    else:  # object stores publish an object only when its upload completes
        with filesystem.open_output_stream(path) as f:
            f.write(data)


def read_whole(uri: str) -> bytes:
    filesystem, path = _fs(uri)
    with filesystem.open_input_stream(path) as f:
        return f.read()


class Converter:
    """A Ray Data actor: one loaded Codec, one file per call."""

    def __init__(self, verb: str, opts: EncodeOptions | None, threads: int):
        import torch

        from .codec import Codec

        torch.set_num_threads(threads)
        self.verb, self.opts = verb, opts
        model = opts.model if opts is not None else "student"
        self._codec = Codec(model, threads=threads)

    def codec(self):
        return self._codec

    def convert(self, src: str, dst: str) -> tuple[int, int, str]:
        raw = read_whole(src)
        if self.verb == "encode" and self.opts is not None:
            data, note = encode_bytes(raw, src, self.codec, self.opts)
        else:
            data, note = decode_bytes(raw, src, self.codec), ""
        write_whole(dst, data)
        return len(raw), len(data), note

    def __call__(self, batch: dict) -> dict:
        out: dict[str, list] = {k: [] for k in ("src", "dst", "ok", "error", "in_bytes",
                                                "out_bytes", "note", "attempts")}
        for src, dst in zip(batch["src"], batch["dst"]):
            src, dst = str(src), str(dst)
            ok, error, n_in, n_out, note = False, "", 0, 0, ""
            for attempt in range(1, RETRIES + 2):
                try:
                    n_in, n_out, note = self.convert(src, dst)
                    ok, error = True, ""
                    break
                except LiccError as exc:
                    error = str(exc)
                except OSError as exc:  # storage trouble: worth another try
                    error = f"{src}: {exc}"
            for k, v in (("src", src), ("dst", dst), ("ok", ok), ("error", error),
                         ("in_bytes", n_in), ("out_bytes", n_out), ("note", note),
                         ("attempts", attempt)):
                out[k].append(v)
        return out


def connect(address: str) -> None:
    """'local': a Ray instance started for this run on this machine; 'auto' or host:port: an
    existing cluster. Ray's own log lines stay in its log files: licc prints its summary."""
    import logging
    import os

    import ray
    import ray.data

    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if ray.is_initialized():
        return
    # Ray's C++ core writes notes meant for Ray's developers to the driver's stderr (e.g. on
    # restartable actors' arguments, ray-project/ray#53727), and says so when told not to.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    kwargs = {"log_to_driver": False, "include_dashboard": False,
              "logging_level": logging.ERROR, "configure_logging": False}
    with _quiet_stderr():
        if address == "local":
            ray.init(**kwargs)
        else:
            ray.init(address=address, **kwargs)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False


@contextmanager
def _quiet_stderr():
    """Hold what is written to file descriptor 2 meanwhile; show it only on failure."""
    import os
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def run(verb: str, sources: list[str], dst: str, suffixes: set[str], suffix: str,
        opts: EncodeOptions | None, address: str, workers: int | None, threads: int,
        force: bool, skip_existing: bool, recursive: bool,
        on_done: Callable[[Outcome], None] | None = None) -> Summary:
    """Convert every source on the cluster; per-file outcomes in the summary (order of
    completion), failures also in DST/licc-failures.jsonl."""
    t0 = time.perf_counter()
    attempts: dict[str, int] = {}
    items, problems = plan(sources, dst, suffixes, suffix, recursive)
    done = existing(dst, items, suffix)
    outcomes: list[Outcome] = list(problems)
    todo = []
    for it in items:
        if it.dst in done:
            if skip_existing:
                outcomes.append(Outcome(it.src, it.dst, skipped=True))
                continue
            if not force:
                outcomes.append(Outcome(it.src, it.dst, ok=False, error=(
                    f"{it.dst}: exists (use -f to overwrite or --skip-existing)")))
                continue
        todo.append(it)
    if todo:
        connect(address)
        import ray

        cpus = int(ray.cluster_resources().get("CPU", 1))
        pool = max(1, min(workers or max(1, cpus // threads), len(todo)))
        # blocks are what Ray hands to an actor (and redoes if it dies): small enough to
        # balance the pool, few enough not to swamp the scheduler on millions of files
        ds = ray.data.from_items([{"src": it.src, "dst": it.dst} for it in todo],
                                 override_num_blocks=min(len(todo), 200 * pool))
        ds = ds.map_batches(Converter, batch_size=1, num_cpus=threads,
                            compute=ray.data.ActorPoolStrategy(size=pool),
                            fn_constructor_kwargs={"verb": verb, "opts": opts,
                                                   "threads": threads},
                            max_restarts=-1, max_task_retries=-1)
        for row in ds.iter_rows():
            o = Outcome(row["src"], row["dst"], ok=bool(row["ok"]), error=row["error"],
                        in_bytes=int(row["in_bytes"]), out_bytes=int(row["out_bytes"]),
                        note=row["note"])
            attempts[str(o.src)] = int(row["attempts"])
            outcomes.append(o)
            if on_done:
                on_done(o)
    summary = Summary(outcomes, time.perf_counter() - t0)
    if summary.failed:
        report = "".join(json.dumps({"src": str(o.src), "dst": str(o.dst), "error": o.error,
                                     "attempts": attempts.get(str(o.src), 0)}) + "\n"
                         for o in summary.failed)
        try:
            write_whole(join(dst, FAILURES), report.encode())
        except OSError as exc:
            raise OutputError(f"{join(dst, FAILURES)}: cannot write ({exc})") from None
    return summary
