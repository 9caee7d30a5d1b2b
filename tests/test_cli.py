"""The command tree and the error boundary in cli.main."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lain_cli import __version__
from lain_cli.cli import COMMANDS

LAIN = [sys.executable, "-m", "lain_cli"]


def run_lain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAIN, *args], capture_output=True, text=True, timeout=60)


def test_version_flag() -> None:
    result = run_lain("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"lain {__version__}"


def test_help_lists_every_registered_command_with_its_summary() -> None:
    result = run_lain("--help")
    assert result.returncode == 0
    for name, (_, _, summary) in COMMANDS.items():
        assert name in result.stdout
        assert summary.split()[0] in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_summary_and_example(name: str) -> None:
    result = run_lain(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout, f"`lain {name} --help` shows no example"


def test_unknown_command_suggests_the_closest() -> None:
    result = run_lain("verison")
    assert result.returncode == 2
    assert "Did you mean `lain version`?" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_option_is_a_usage_error() -> None:
    result = run_lain("--no-such-option")
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from lain_cli.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('ruamel.yaml', 'jinja2', 'rich', 'requests', 'yaml') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:", result.stdout


def test_version_client_reports_pinned_tools() -> None:
    result = run_lain("version", "--client")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["lain", __version__]
    assert lines[1].startswith("helm") and " v" in lines[1]
    assert lines[2].startswith("kubectl") and " v1." in lines[2]


def test_version_json() -> None:
    import json

    result = run_lain("--json", "version", "--client")
    data = json.loads(result.stdout)
    assert data["lain"] == __version__
    assert data["helm"].startswith("v")
    assert data["cluster"] == {"name": None, "version": None, "reachable": True}


def test_internal_error_writes_crash_log_not_traceback() -> None:
    code = (
        "import lain_cli.versions as v\n"
        "def boom(*a, **k): raise RuntimeError('kaboom')\n"
        "v.collect = boom\n"
        "from lain_cli.cli import main\n"
        "main(['version', '--client'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "internal error in lain: RuntimeError: kaboom" in result.stderr
    assert "Traceback" not in result.stderr
    log_path = result.stderr.split("the details are in ", 1)[1].split(";", 1)[0]
    assert "RuntimeError: kaboom" in Path(log_path).read_text()
