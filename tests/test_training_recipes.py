"""Training recipes are files (training/config/*.toml) that stand for the trainer's flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.__main__ import parse_args
from training.config import recipe_argv

RECIPES = sorted((Path(__file__).resolve().parents[1] / "training" / "config").glob("*.toml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_is_a_valid_command(path):
    extra = ["--teacher", "t.pt", "--run", "r"] if "distill" in path.stem else []
    args = parse_args([str(path), *extra])
    assert args.mode in ("rd", "distill")


def test_a_recipe_expands_in_place_and_later_flags_win(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('mode = "rd"\nrun = "runs/x"\nlr = 1e-4\ncompile = true\n'
                      'freeze-analysis = false\nlr-decay-at = [10, 20]\n')
    assert recipe_argv(recipe) == ["rd", "--run", "runs/x", "--lr", "0.0001", "--compile",
                                   "--lr-decay-at", "10", "20"]
    args = parse_args([str(recipe), "--lr", "3e-5"])
    assert (args.run, args.lr, args.compile, args.lr_decay_at) == ("runs/x", 3e-5, True,
                                                                    [10, 20])
    # a mode before the recipe wins over its own: distil with a student recipe's knobs
    args = parse_args(["distill", str(recipe), "--teacher", "t.pt"])
    assert (args.mode, args.run, args.lr) == ("distill", "runs/x", 1e-4)


def test_the_lab_finds_the_shared_data_beside_the_repository():
    from training.curve import DEFAULT_VAL
    from training.data import DEFAULT_DATA

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    assert DEFAULT_DATA.resolve() == shared / "train"
    assert DEFAULT_VAL.resolve() == shared / "val"
