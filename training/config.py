"""Recipes as files (nanoGPT's config/ in TOML): ``python -m training config/x.toml [flags]``.

A recipe's keys are the trainer's flags (``lr = 1e-4`` is ``--lr 1e-4``; ``compile = true``
is ``--compile``; lists give several values) and ``mode`` its first argument. The file is
expanded in place, so flags after it override it.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def recipe_argv(path: Path) -> list[str]:
    """The command-line arguments a recipe file stands for."""
    with open(path, "rb") as f:
        recipe = tomllib.load(f)
    argv = [str(recipe.pop("mode"))] if "mode" in recipe else []
    for key, value in recipe.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:
            continue
        elif isinstance(value, list):
            argv += [flag, *map(str, value)]
        else:
            argv += [flag, str(value)]
    return argv


MODES = ("rd", "distill")


def expand(argv: list[str]) -> list[str]:
    """Replace every ``*.toml`` argument by the arguments of its recipe; a mode given before
    the recipe wins over the recipe's (``distill student.toml`` distils with its knobs)."""
    out: list[str] = []
    for token in argv:
        if not token.endswith(".toml"):
            out.append(token)
            continue
        args = recipe_argv(Path(token))
        if out and out[0] in MODES and args and args[0] in MODES:
            args = args[1:]
        out += args
    return out
