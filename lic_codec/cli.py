"""licc: a thin click front end over lic_codec.codec.

Exit status: 0 ok, 1 bad input (any LiccError), 2 bad usage (click). Output files are written
to a temporary file beside the target and renamed into place only when complete.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__
from .allocator import keep_freed_memory
from .convert import EncodeOptions, decode_bytes, encode_bytes, named
from .errors import LiccError, OutputError
from .io.files import check_output, read_input, write_atomic
from .limits import EFFORT_MAX_PIXELS
from .limits import describe as describe_limits
from .quality import DEFAULT_QUALITY, PRESETS

_PRESET_HELP = ", ".join(f"{k}={v:g}" for k, v in PRESETS.items())


class _Fail(click.ClickException):
    """Prints ``licc: error: MESSAGE`` and exits 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"licc: error: {self.message}", err=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, UserWarning):
        click.echo(f"licc: warning: {message}", err=True)


@contextmanager
def _user_errors():
    """Turn library errors into one-line messages; print warnings as one line each, when
    they happen (before the result line they qualify)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            yield
        except LiccError as exc:
            raise _Fail(str(exc)) from None
        except MemoryError:
            raise _Fail("out of memory") from None


def _threads_option(f):
    return click.option("--threads", type=click.IntRange(1, 256), default=None,
                        help="CPU threads (default: all cores).")(f)


def _batch_options(f):
    for opt in reversed([
        click.option("-o", "--output-dir", default=None,
                     help="Batch mode: write every output into this folder (with --ray also "
                          "an object-store URI such as s3://bucket/out)."),
        click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs."),
        click.option("--skip-existing", is_flag=True,
                     help="Batch mode: leave inputs whose output exists alone."),
        click.option("-r", "--recursive", is_flag=True,
                     help="Batch mode: walk folders given as inputs."),
        click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Batch mode: files coded in parallel."),
        click.option("--quiet", is_flag=True, help="No progress bar and no summary."),
        click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
                     metavar="[ADDRESS]",
                     help="Batch mode on a Ray cluster: 'auto', HOST:PORT, or no value for a "
                          "local one started for the run; sources and -o may be URIs "
                          "(s3://...), relative paths are kept, -j sets the workers "
                          "(default: one per --threads CPUs of the cluster; "
                          "pip install 'licc[cluster]')."),
    ]):
        f = opt(f)
    return _threads_option(f)


_SIGNAL = [2]  # the signal that interrupted the run: SIGINT unless SIGTERM came


def _terminate_cleanly() -> None:
    """SIGTERM raises KeyboardInterrupt like Ctrl-C, so temporary outputs are removed."""
    import signal

    def handler(signum, frame):
        _SIGNAL[0] = signum
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. embedded use)
        pass


class _Licc(click.Group):
    def invoke(self, ctx):
        """An interrupted run exits as the shell expects of a program stopped by a signal:
        128 + its number (130 for Ctrl-C, 143 for SIGTERM), not click's 1."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("licc: interrupted", err=True)
            ctx.exit(128 + _SIGNAL[0])


@click.group(cls=_Licc, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=describe_limits())
@click.version_option(__version__, prog_name="licc")
def main() -> None:
    """licc: a learned image codec.

    \b
      licc encode photo.png photo.licc -q 60
      licc decode photo.licc photo.png
      licc encode photos/*.png -o out/ --preset high
      licc info photo.licc
    """
    _terminate_cleanly()
    keep_freed_memory()  # encode and decode ~15% faster (lic_codec/allocator.py)


def _split_paths(paths: tuple[str, ...], output_dir: str | None,
                 ray_address: str | None = None) -> tuple[list[str], str | None]:
    """Single mode: IN OUT. Batch mode (-o DIR): every path is an input."""
    if ray_address is not None and output_dir is None:
        raise click.UsageError("--ray is a batch mode: give the outputs' folder with -o")
    if output_dir is not None:
        if "-" in paths:
            raise click.UsageError("'-' (stdin) cannot be used with --output-dir")
        return list(paths), None
    if len(paths) != 2:
        raise click.UsageError("give INPUT OUTPUT, or several inputs with -o OUTDIR")
    return [paths[0]], paths[1]


def _run_batch(inputs: list[str], output: str, suffix: str, input_suffixes, work,
               force: bool, skip_existing: bool, recursive: bool, jobs: int, quiet: bool,
               verb: str) -> None:
    import threading

    from . import batch

    output_dir = Path(output)
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"{output_dir}: is not a directory")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{output_dir}: cannot create the output directory "
                          f"({exc.strerror})") from None
    outcomes = batch.plan(batch.expand_inputs([Path(p) for p in inputs], input_suffixes,
                                              recursive), output_dir, suffix)
    for o in outcomes:
        if o.ok and Path(o.dst).exists() and skip_existing:
            o.skipped = True

    def guarded(o):
        if o.skipped:
            return
        check_output(Path(o.src), Path(o.dst), force)
        work(o)

    show = not quiet and sys.stderr.isatty()
    lock = threading.Lock()
    with click.progressbar(length=len(outcomes), label=verb, file=sys.stderr,
                           hidden=not show) as bar:
        def tick(_o):
            with lock:
                bar.update(1)
        summary = batch.run(outcomes, guarded, jobs, tick)
    _finish(summary, verb, quiet)


def _finish(summary, verb: str, quiet: bool, report: str | None = None) -> None:
    """The end of a batch: one line per failed file, the summary, exit 1 on any failure."""
    for o in summary.failed:
        click.echo(f"licc: error: {o.error}", err=True)
    if not quiet:
        tail = f"; failures listed in {report}" if report and summary.failed else ""
        click.echo(summary.line(verb) + tail, err=True)
    if summary.failed:
        raise click.exceptions.Exit(1)


def _run_cluster(verb: str, inputs: list[str], output: str, opts, suffix: str,
                 input_suffixes: set[str], address: str, force: bool, skip_existing: bool,
                 recursive: bool, jobs: int, quiet: bool, threads: int | None) -> None:
    """Batch mode on Ray (cluster.py): the same options, progress, summary and exit status."""
    import importlib.util

    if not all(importlib.util.find_spec(m) for m in ("ray", "pyarrow")):
        raise LiccError("--ray needs Ray and pyarrow: pip install 'licc[cluster]'")
    from . import cluster

    show = not quiet and sys.stderr.isatty()
    done_verb = "encoded" if verb == "encode" else "decoded"
    count = [0]

    def tick(_o) -> None:
        count[0] += 1
        if show:
            click.echo(f"\r{done_verb} {count[0]} ...", err=True, nl=False)

    from click.core import ParameterSource

    given = click.get_current_context().get_parameter_source("jobs") != ParameterSource.DEFAULT
    summary = cluster.run(verb, inputs, output, input_suffixes, suffix, opts, address,
                          jobs if given else None, threads or 1, force, skip_existing,
                          recursive, on_done=tick)
    if show and count[0]:
        click.echo("", err=True)
    _finish(summary, done_verb, quiet, cluster.join(output, cluster.FAILURES))


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-q", "--quality", type=click.FloatRange(0, 100), default=None,
              help=f"0 (smallest) to 100 (best). Default {DEFAULT_QUALITY:g}.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
              help=f"Named quality: {_PRESET_HELP}.")
@click.option("--target-size", default=None,
              help="Highest quality whose file fits: bytes, or with KB/MB (1000) or KiB/MiB.")
@click.option("--target-bpp", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Like --target-size, in bits per pixel.")
@click.option("--target-psnr", type=float, default=None,
              help="Smallest file whose PSNR (RGB) reaches this many dB.")
@click.option("--model", default="student", show_default=True,
              help="Network to encode with (student or teacher).")
@click.option("--strip", is_flag=True, help="Drop the ICC profile and EXIF metadata.")
@click.option("-e", "--effort", type=click.IntRange(0, 2), default=0, show_default=True,
              help="Encoder effort: 1 or 2 refine the latent for each image by gradient "
                   "steps: smaller files at the same quality for many seconds more per image "
                   "(measurements: results/history.md); decoding is unaffected. Images up to "
                   f"{EFFORT_MAX_PIXELS >> 20} megapixels.")
@_batch_options
def encode(paths, quality, preset, target_size, target_bpp, target_psnr, model, strip, effort,
           output_dir, force, skip_existing, recursive, jobs, quiet, ray_address,
           threads) -> None:
    """Compress images (PNG, JPEG, ...) into .licc files.

    \b
    licc encode photo.png photo.licc --preset high
    licc encode a.png b.jpg photos/ -r -o out/ -j 2
    licc encode photo.png photo.licc --target-size 40KB
    licc encode photo.png photo.licc -q 60 --effort 2
    cat photo.png | licc encode - - > photo.licc
    """
    chosen = [x is not None for x in (quality, preset, target_size, target_bpp, target_psnr)]
    if sum(chosen) > 1:
        raise click.UsageError("give only one of --quality, --preset, --target-size, "
                               "--target-bpp, --target-psnr")
    if effort and sum(chosen[2:]):
        raise click.UsageError("--effort works with --quality or --preset, not with a target")
    size_target = None
    if target_size is not None:
        from .ratecontrol import parse_size

        try:
            size_target = parse_size(target_size)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--target-size") from None
    inputs, single_out = _split_paths(paths, output_dir, ray_address)
    _check_flags(force, skip_existing)
    if single_out == "-":
        _refuse_terminal()
    opts = EncodeOptions(quality, preset, size_target, target_bpp, target_psnr, strip, effort,
                         model)
    if ray_address is not None:
        from .io.files import IMAGE_SUFFIXES

        with _user_errors():
            _run_cluster("encode", inputs, output_dir, opts, ".licc", IMAGE_SUFFIXES,
                         ray_address, force, skip_existing, recursive, jobs, quiet, threads)
        return
    with _user_errors():
        codec_holder: list = []

        def codec():
            """Loaded after the first input was read and checked: a bad or oversized image
            is refused before PyTorch and the network are loaded."""
            if not codec_holder:
                from .codec import Codec

                codec_holder.append(Codec(model, threads=_threads_for(threads, jobs)))
            return codec_holder[0]

        def encode_one(src_path: str) -> tuple[bytes, int, str]:
            name = "<stdin>" if src_path == "-" else src_path
            try:
                raw = sys.stdin.buffer.read() if src_path == "-" else read_input(Path(src_path))
            except LiccError as exc:
                raise named(name, exc) from None
            data, note = encode_bytes(raw, name, codec, opts)
            return data, len(raw), note

        if single_out is not None:
            src_path, dst = inputs[0], single_out
            if dst != "-":
                check_output(None if src_path == "-" else Path(src_path), Path(dst), force)
            data, _, note = encode_one(src_path)
            _emit(dst, data)
            if not quiet:
                click.echo(f"{'<stdout>' if dst == '-' else dst}: {len(data)} bytes{note}",
                           err=True)
            return

        from .io.files import IMAGE_SUFFIXES

        def work(o):
            data, n_in, note = encode_one(str(o.src))
            write_atomic(Path(o.dst), data)
            o.in_bytes, o.out_bytes, o.note = n_in, len(data), note

        _run_batch(inputs, output_dir, ".licc", IMAGE_SUFFIXES, work, force, skip_existing,
                   recursive, jobs, quiet, "encoded")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_batch_options
def decode(paths, output_dir, force, skip_existing, recursive, jobs, quiet, ray_address,
           threads) -> None:
    """Decompress .licc files to images. The format follows the output's extension (PNG in
    batch mode and on stdout).

    \b
    licc decode photo.licc photo.png
    licc decode *.licc -o out/
    licc decode - - < photo.licc | display
    """
    inputs, single_out = _split_paths(paths, output_dir, ray_address)
    _check_flags(force, skip_existing)
    if ray_address is not None:
        with _user_errors():
            _run_cluster("decode", inputs, output_dir, None, ".png", {".licc"}, ray_address,
                         force, skip_existing, recursive, jobs, quiet, threads)
        return
    with _user_errors():
        from PIL import Image

        from .codec import Codec

        codec_holder: list = []

        def codec():
            if not codec_holder:
                codec_holder.append(Codec(threads=_threads_for(threads, jobs)))
            return codec_holder[0]

        def decode_one(src_path: str, fmt: str) -> tuple[bytes, int]:
            name = "<stdin>" if src_path == "-" else src_path
            try:
                raw = sys.stdin.buffer.read() if src_path == "-" else read_input(Path(src_path))
            except LiccError as exc:
                raise named(name, exc) from None
            return decode_bytes(raw, name, codec, fmt), len(raw)

        if single_out is not None:
            src_path, dst = inputs[0], single_out
            fmt = "PNG"
            if dst != "-":
                found = Image.registered_extensions().get(Path(dst).suffix.lower())
                if found is None:
                    raise OutputError(f"{dst}: unknown image extension (use .png, for example)")
                if found == "LICC":  # a second generation, silently worse: not a decode
                    raise OutputError(f"{dst}: decode writes an image, not a .licc file (use "
                                      ".png, for example)")
                fmt = found
                check_output(None if src_path == "-" else Path(src_path), Path(dst), force)
            data, _ = decode_one(src_path, fmt)
            _emit(dst, data)
            return

        def work(o):
            data, n_in = decode_one(str(o.src), "PNG")
            write_atomic(Path(o.dst), data)
            o.in_bytes, o.out_bytes = n_in, len(data)

        _run_batch(inputs, output_dir, ".png", {".licc"}, work, force, skip_existing,
                   recursive, jobs, quiet, "decoded")


def _check_flags(force: bool, skip_existing: bool) -> None:
    if force and skip_existing:
        raise click.UsageError("--force and --skip-existing contradict each other: give one")


def _refuse_terminal() -> None:
    """As gzip does: binary data is not written to a terminal."""
    if sys.stdout.isatty():
        raise click.UsageError("refusing to write binary data to a terminal: redirect the "
                               "output (> file.licc) or give an output path")


def _threads_for(threads: int | None, jobs: int) -> int | None:
    """With parallel jobs, split the cores between them unless told otherwise."""
    if threads or jobs <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // jobs)


def _emit(dst: str, data: bytes) -> None:
    if dst != "-":
        write_atomic(Path(dst), data)
        return
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        _exit_on_broken_pipe()
    except OSError as exc:
        raise OutputError(f"<stdout>: cannot write ({exc.strerror})") from None


def _exit_on_broken_pipe() -> None:
    """The reader went away (``licc decode - - | head -c 10``): exit as a program killed by
    SIGPIPE does, 128 + 13, without a message; stdout is pointed at /dev/null so that
    Python's own flush at exit does not complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(141)


@main.command()
@click.argument("input", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
@click.option("--verify", is_flag=True,
              help="Also decode the latent streams (loads the network, no image is made): "
                   "catches a header that does not match its streams.")
def info(input: Path, as_json: bool, verify: bool) -> None:
    """Show a .licc file's header and check its checksums, without decoding the image
    (INPUT may be - for stdin). The header and section checksums alone cannot tell an altered
    image size; --verify or decoding does."""
    with _user_errors():
        from .format.container import read_container

        name = "<stdin>" if str(input) == "-" else str(input)
        data = sys.stdin.buffer.read() if str(input) == "-" else read_input(input)
        try:
            h, _ = read_container(data)
            if verify:
                from .codec import Codec

                Codec().verify(data)
        except LiccError as exc:
            raise named(name, exc) from None
        d: dict[str, Any] = {
            "file": name,
            "bytes": len(data),
            "bpp": round(8 * len(data) / (h.width * h.height), 4),
            "format_version": h.version,
            "model": h.model_name,
            "model_id": h.model_id.hex(),
            "width": h.width,
            "height": h.height,
            "mode": h.mode,
            "quality": h.quality,
            "latent_channels": h.channels,
            "skipped_channels": h.skipped_channels,
            "header_bytes": h.header_size,
            "sections": h.section_sizes(),
            "streams": "verified" if verify else "not checked (--verify)",
        }
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    sections = ", ".join(f"{k} {v} B" for k, v in d["sections"].items())
    click.echo(
        f"{d['file']}: licc format v{d['format_version']}, {d['bytes']} bytes, "
        f"{d['bpp']:.3f} bpp\n"
        f"  image     {d['width']}x{d['height']} {d['mode']}\n"
        f"  model     {d['model']} ({d['model_id'][:12]})\n"
        f"  quality   {d['quality']:g}\n"
        f"  channels  {d['latent_channels']} latent, {d['skipped_channels']} skipped (all zero)\n"
        f"  header    {d['header_bytes']} B\n"
        f"  sections  {sections}\n"
        f"  streams   {d['streams']}"
    )


def _parse_crop(ctx, param, values) -> list[tuple[int, int, int, int]]:
    boxes = []
    for v in values:
        try:
            x, y, w, h = (int(t) for t in v.split(","))
        except ValueError:
            raise click.BadParameter(f"'{v}': X,Y,W,H expected (e.g. 100,50,128,128)") from None
        if x < 0 or y < 0 or w < 8 or h < 8:
            raise click.BadParameter(f"'{v}': a box inside the image, at least 8x8")
        boxes.append((x, y, w, h))
    return boxes


@main.command()
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--size", "target_size", default=None,
              help="Byte budget for every codec: bytes, or with KB/MB (1000) or KiB/MiB.")
@click.option("--bpp", "target_bpp", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Budget in bits per pixel of this image.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The picture (PNG; default IMAGE-compare.png in the current folder).")
@click.option("--crop", "crops", multiple=True, callback=_parse_crop, metavar="X,Y,W,H",
              help="Show this region (repeatable); default: where the codecs differ most.")
@click.option("--crop-size", type=click.IntRange(8, 1024), default=128, show_default=True,
              help="Side of the chosen crops.")
@click.option("--crops", "count", type=click.IntRange(1, 8), default=2, show_default=True,
              help="How many crops to choose.")
@click.option("--zoom", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Enlarge the crops (nearest neighbour).")
@click.option("--full", "full_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also write every codec's whole decoded image here (PNG).")
@click.option("-m", "--model", default="student", show_default=True)
@_threads_option
def compare(image, target_size, target_bpp, output, crops, crop_size, count, zoom, full_dir,
            model, threads) -> None:
    """Code IMAGE with licc, JPEG, WebP, AVIF and JPEG XL at the same file size and write
    one picture of the same crops side by side, labelled with bytes, bpp, PSNR and
    SSIMULACRA2. Each codec gets the highest quality whose file fits.

    Example: licc compare photo.png --size 20KB -o photo-20KB.png
    """
    if (target_size is None) == (target_bpp is None):
        raise click.UsageError("give one of --size or --bpp")
    with _user_errors():
        from .io.images import load_image
        from .ratecontrol import make_target

        src = load_image(image)
        h, w = src.rgb.shape[:2]
        for x, y, cw, ch in crops:
            if x + cw > w or y + ch > h:
                raise click.BadParameter(f"{x},{y},{cw},{ch} is outside the {w}x{h} image",
                                         param_hint="--crop")
        try:
            target = make_target(target_size, target_bpp, None, w, h)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--size") from None
        if target is None:  # unreachable: one of --size and --bpp was given
            raise click.UsageError("give one of --size or --bpp")
        from . import compare as C
        from .codec import Codec

        codec = Codec(model, threads=threads)
        coded, picture = C.run(src.rgb, int(target.value), codec, list(crops) or None,
                               crop_size, count, zoom)
        output = output or Path(f"{image.stem}-compare.png")
        output.parent.mkdir(parents=True, exist_ok=True)
        C.save_png(picture, output)
        if full_dir:
            full_dir.mkdir(parents=True, exist_ok=True)
            for c in coded:
                C.save_png(c.rgb, full_dir / f"{image.stem}-{c.codec.replace(' ', '')}.png")
    click.echo(f"{image}: {w}x{h}, budget {int(target.value):,} bytes")
    for c in coded:
        click.echo("  " + "  ".join(c.label()))
    click.echo(f"wrote {output}" + (f" and {len(coded)} images in {full_dir}" if full_dir else ""))


def _default_bench_dir() -> Path | None:
    here = Path(__file__).resolve().parents[1]
    for cand in (Path("../shared/data/kodak"), here.parent / "shared" / "data" / "kodak"):
        if cand.is_dir():
            return cand
    return None


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--quality", "qualities", default=None,
              help="licc qualities, comma-separated (default 0,12.5,...,100).")
@click.option("--codecs", default=None,
              help="Only these contenders, comma-separated (e.g. licc-student,AVIF).")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Only N images, spread evenly over the sorted folder.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Write the full report (per image and per quality) here.")
@click.option("--plot", "plot_out", type=click.Path(path_type=Path), default=None,
              help="Write the rate-distortion plot (PNG) here.")
@click.option("--write-results", is_flag=True,
              help="Write results/FOLDER.json, results/rd_FOLDER.png and the table in "
                   "results/README.md (FOLDER: the image folder's name).")
@click.option("--rescore", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="recompute the BD-rates of a saved --json report from its "
              "curves (no image is coded); with --write-results, update it and results/")
@click.option("--speed/--no-speed", default=True,
              help="Time licc against CompressAI's reference architectures.")
@_threads_option
def bench(directory, qualities, codecs, limit, json_out, plot_out, write_results, rescore,
          speed, threads) -> None:
    """Compare licc with JPEG, WebP, AVIF and JPEG XL on a folder of images of any sizes
    (default: the Kodak set at ../shared/data/kodak): PSNR, MS-SSIM and SSIMULACRA2, with
    BD-rates per metric against AVIF, WebP and JPEG.

    Example: licc bench --write-results
    """
    import datetime as dt

    if rescore:
        return _rescore(rescore, json_out, write_results)
    with _user_errors():
        directory = directory or _default_bench_dir()
        if directory is None:
            raise LiccError("no image folder given and ../shared/data/kodak not found: "
                            "pass a folder, e.g. licc bench photos/")
        from . import bench as B
        from .models.registry import available
        from .io.files import find_images, spread

        images = spread(find_images(directory), limit)
        if not images:
            raise LiccError(f"{directory}: no images found")
        if qualities:
            try:
                B.QUALITIES["licc"] = [float(q) for q in qualities.split(",")]
            except ValueError:
                raise click.BadParameter("comma-separated numbers expected",
                                         param_hint="--quality") from None
        import torch

        if threads:
            torch.set_num_threads(threads)
        models = list(available())
        cands = B.contenders(models, threads=threads)
        if codecs:
            wanted = {c.strip() for c in codecs.split(",")}
            cands = [c for c in cands if c.name in wanted]
        else:
            for missing in sorted(set(B.CLASSICAL) - {c.name for c in cands}):
                click.echo(f"licc: warning: {missing} is not in this table: "
                           f"{B.CLASSICAL[missing]}", err=True)
        total = len(images) * sum(len(c.qualities) for c in cands)
        with click.progressbar(length=total, label="coding", file=sys.stderr) as bar:
            rows = B.run_rd(images, cands, bar)
        curves = B.mean_curves(rows)
        anchors = directory.parent.parent / "anchors" / "kodak"
        published = B.published_curves(anchors) if directory.name == "kodak" else {}
        report = {
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": "licc bench " + " ".join(sys.argv[2:]),
            "commit": B.git_commit(), "machine": B.machine(),
            "threads": torch.get_num_threads(), "images": len(images),
            "directory": str(directory), "curves": curves,
            "published": published, "bd_rate": B.bd_table(curves, published),
            "speed": B.speed_comparison(images[0], models, None) if speed else None,
            "rows": rows,
        }
    table = B.markdown(report)
    click.echo(table)
    if write_results:
        res = _results_dir()
        json_out = json_out or res / f"{directory.name}.json"
        plot_out = plot_out or res / f"rd_{directory.name}.png"
        B.write_results_readme(res / "README.md", table, directory.name)
    if json_out:
        json_out.write_text(json.dumps(report, indent=1) + "\n")
    if plot_out:
        B.plot(curves, published, plot_out, directory.name)


def _results_dir() -> Path:
    res = Path(__file__).resolve().parents[1] / "results"
    res = res if res.is_dir() else Path("results")
    res.mkdir(exist_ok=True)
    return res


def _rescore(path: Path, json_out: Path | None, write_results: bool) -> None:
    """licc bench --rescore REPORT: the saved report's table with today's BD-rates."""
    from . import bench as B

    with _user_errors():
        try:
            report = json.loads(path.read_text())
            report = B.rescore(report, "licc bench " + " ".join(sys.argv[2:]))
        except (ValueError, KeyError, TypeError) as exc:
            raise LiccError(f"{path}: not a bench report ({exc})") from None
    table = B.markdown(report)
    click.echo(table)
    if write_results:
        folder = Path(report.get("directory", "kodak")).name
        B.write_results_readme(_results_dir() / "README.md", table, folder)
        json_out = json_out or path
    if json_out:
        json_out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
