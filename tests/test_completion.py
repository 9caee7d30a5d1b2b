"""`lain completion`: click's scripts for bash, zsh and fish, and completion through the entry point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LAIN = str(Path(sys.prefix) / "bin" / "lain")


def lain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LAIN, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F _lain_completion lain"), ("zsh", "#compdef lain"),
     ("fish", "complete --no-files --command lain")],
)
def test_script_for_each_shell_calls_back_into_lain(shell: str, marker: str) -> None:
    result = lain("completion", shell)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert f"_LAIN_COMPLETE={shell}_complete" in result.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    result = lain("completion", "tcsh")
    assert result.returncode == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr


def _complete(words: str, cword: int) -> list[str]:
    result = lain(env={"_LAIN_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_entry_point_completes_command_names_lazily_registered() -> None:
    assert _complete("lain up", 1) == ["plain,update-image"]
    assert "plain,completion" in _complete("lain ", 1)


def test_entry_point_completes_a_commands_options_and_choices() -> None:
    options = _complete("lain deploy --", 2)
    assert "plain,--build" in options and "plain,--timeout" in options
    assert _complete("lain completion ", 2) == ["plain,bash", "plain,zsh", "plain,fish"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_script_completes_in_a_real_bash(tmp_path: Path) -> None:
    script = (
        'source <(lain completion bash)\n'
        'COMP_WORDS=(lain roll); COMP_CWORD=1\n'
        '_lain_completion lain\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{Path(LAIN).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["rollback"]
