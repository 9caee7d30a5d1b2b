"""`make demo` and `make test` as the first command on a fresh clone: each runs the setup it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def dry_run(tmp_path: Path, target: str) -> list[str]:
    """The commands ``make TARGET`` would run in a fresh clone (no .venv yet), in order."""
    clone = tmp_path / "clone"
    (clone / "tools").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "tools/install_binaries.py"):
        shutil.copy(REPO / name, clone / name)
    # as typed at a shell, not as a sub-make of `make test` (which would print "Entering directory")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(["make", "--no-print-directory", "-n", target], cwd=clone, env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _first(lines: list[str], needle: str) -> int:
    found = [i for i, line in enumerate(lines) if needle in line]
    assert found, f"{needle!r} is not run:\n" + "\n".join(lines)
    return found[0]


@pytest.mark.parametrize(("target", "runs"), [
    ("demo", "tools/demo.py"),
    ("test", "-m pytest"),
    ("lint", "ruff check"),
    ("test-e2e", "-m pytest"),
])
def test_target_sets_up_first_on_a_fresh_clone(tmp_path: Path, target: str, runs: str) -> None:
    lines = dry_run(tmp_path, target)
    venv = _first(lines, "-m venv .venv")
    install = _first(lines, "pip install")
    main = _first(lines, runs)
    assert venv < install < main
    if target != "lint":
        assert install < _first(lines, "tools/install_binaries.py") < main


def test_setup_alone_still_installs_and_relinks(tmp_path: Path) -> None:
    lines = dry_run(tmp_path, "setup")
    assert _first(lines, "pip install") < _first(lines, "tools/install_binaries.py --venv .venv --default-major 3")
    assert not [line for line in lines if "pytest" in line or "demo.py" in line]
