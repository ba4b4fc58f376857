"""licc: a thin click front end over lic_codec.codec.

Exit status: 0 ok, 1 bad input (any LiccError), 2 bad usage (click). Output files are written
to a temporary file beside the target and renamed into place only when complete.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__
from .errors import LiccError, OutputError
from .quality import DEFAULT_QUALITY, PRESETS

_PRESET_HELP = ", ".join(f"{k}={v:g}" for k, v in PRESETS.items())


class _Fail(click.ClickException):
    """Prints ``licc: error: MESSAGE`` and exits 1."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(f"licc: error: {self.message}", err=True)


@contextmanager
def _user_errors():
    """Turn library errors into one-line messages; surface warnings the same way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except LiccError as exc:
            raise _Fail(str(exc)) from None
        except MemoryError:
            raise _Fail("out of memory") from None
        finally:
            for w in caught:
                if issubclass(w.category, UserWarning):
                    click.echo(f"licc: warning: {w.message}", err=True)


def _check_output(inp: Path, out: Path, force: bool) -> None:
    if out.exists() and inp.exists() and os.path.samefile(inp, out):
        raise OutputError(f"{out}: output would overwrite the input")
    if out.is_dir():
        raise OutputError(f"{out}: is a directory")
    if out.exists() and not force:
        raise OutputError(f"{out}: already exists (use --force to overwrite)")
    if not out.parent.exists():
        raise OutputError(f"{out.parent}: directory does not exist")


@contextmanager
def _atomic_output(out: Path):
    """Yield a temporary path in the target directory; rename it onto ``out`` on success,
    delete it on any failure (including Ctrl-C)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _threads_option(f):
    return click.option("--threads", type=click.IntRange(1, 256), default=None,
                        help="CPU threads (default: all cores).")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="licc")
def main() -> None:
    """licc: a learned image codec.

    \b
      licc encode photo.png photo.licc -q 60
      licc decode photo.licc photo.png
      licc info photo.licc
    """


@main.command()
@click.argument("input", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("-q", "--quality", type=click.FloatRange(0, 100), default=None,
              help=f"0 (smallest) to 100 (best). Default {DEFAULT_QUALITY:g}.")
@click.option("--preset", type=click.Choice(list(PRESETS)), default=None,
              help=f"Named quality: {_PRESET_HELP}.")
@click.option("--model", default="student", show_default=True,
              help="Network to encode with (student or teacher).")
@click.option("-f", "--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@_threads_option
def encode(input: Path, output: Path, quality, preset, model, force, threads) -> None:
    """Compress an image (PNG, JPEG, ...) into a .licc file.

    Example: licc encode photo.png photo.licc --preset high
    """
    if quality is not None and preset is not None:
        raise click.UsageError("give either --quality or --preset, not both")
    with _user_errors():
        from .codec import Codec
        from .io.images import load_image

        _check_output(input, output, force)
        src = load_image(input)
        data = Codec(model, threads=threads).encode(src, quality=quality, preset=preset)
        with _atomic_output(output) as tmp:
            tmp.write_bytes(data)
        bpp = 8 * len(data) / (src.size[0] * src.size[1])
        click.echo(f"{output}: {len(data)} bytes, {bpp:.3f} bpp", err=True)


@main.command()
@click.argument("input", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("-f", "--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@_threads_option
def decode(input: Path, output: Path, force, threads) -> None:
    """Decompress a .licc file to an image; the format follows OUTPUT's extension (PNG
    if in doubt).

    Example: licc decode photo.licc photo.png
    """
    with _user_errors():
        from PIL import Image

        fmt = Image.registered_extensions().get(output.suffix.lower())
        if fmt is None:
            raise OutputError(f"{output}: unknown image extension (use .png, for example)")
        data = _read(input)
        _check_output(input, output, force)
        from .codec import Codec

        im = Codec(threads=threads).decode(data)
        with _atomic_output(output) as tmp:
            try:
                im.save(tmp, format=fmt)
            except (OSError, ValueError) as exc:
                raise OutputError(f"{output}: cannot save as {fmt} ({exc})") from None


@main.command()
@click.argument("input", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
def info(input: Path, as_json: bool) -> None:
    """Show a .licc file's header and check its checksums, without decoding the image."""
    with _user_errors():
        from .format.container import read_container

        data = _read(input)
        h, _ = read_container(data)
        d = {
            "file": str(input),
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
        f"  sections  {sections}"
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise LiccError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LiccError(f"{path}: is a directory") from None
    except OSError as exc:
        raise LiccError(f"{path}: cannot read ({exc.strerror})") from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
