"""The README's Python examples run (so they cannot rot), every command has help text, and
the package type-checks."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import REPO

from lic_codec.cli import main

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


def test_the_readme_commands_are_what_ci_runs():
    """The README's two commands (install and run; the tests) are the ones .ci/run runs."""
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    install = re.search(r"```sh\n(python3 -m venv .*?)\n```", readme).group(1).split(" && ")
    assert install[:3] == ["python3 -m venv .venv", ". .venv/bin/activate", "pip install ."]
    assert 'pip install -q ".[test]"' in ci  # the same install, with the test extra
    for step in install[3:]:  # the main job: the same commands (CI writes elsewhere)
        assert step.split(" /tmp/")[0] in ci, step
    assert 'pip install ".[test]" && python -m pytest -q' in readme
    assert "python -m pytest -q" in ci and 'pip install -q ".[test]"' in ci


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_example_runs(index, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("LICC_WEIGHTS_DIR", raising=False)  # the shipped weights
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(command):
    r = CliRunner().invoke(main, [command, "--help"])
    assert r.exit_code == 0
    assert len(main.commands[command].help or "") > 20


def test_version():
    import lic_codec

    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and lic_codec.__version__ in r.output


@pytest.mark.slow
def test_mypy_clean():
    r = subprocess.run([sys.executable, "-m", "mypy", "lic_codec", "training"], capture_output=True,
                       text=True, cwd=REPO, env={**os.environ, "MYPY_CACHE_DIR": os.devnull})
    assert r.returncode == 0, r.stdout + r.stderr
