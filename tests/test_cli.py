"""The command tree and the error boundary in cli.main."""

from __future__ import annotations

import os
import shutil
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


def test_crash_log_of_an_env_command_holds_no_values_and_is_private(tmp_path: Path) -> None:
    # issue 16: the log began with the argv, secret included, and was 0644
    log = tmp_path / "cache" / "lain" / "last-crash.log"
    log.parent.mkdir(parents=True)
    log.write_text("an older log\n")
    log.chmod(0o644)
    code = (
        "import lain_cli.commands.env as env_cmd, lain_cli.envsecret as es\n"
        "def boom(*a, **k):\n"
        "    es.decode_data({'data': {'OTHER': 'b3RoZXItczNjcjN0LXZhbHVl'}})\n"  # other-s3cr3t-value
        "    raise RuntimeError('cannot store s3cr3t-V4lue nor other-s3cr3t-value')\n"
        "import lain_cli.context as c\n"
        "c.load_app_context = boom\n"
        "from lain_cli.cli import main\n"
        "main(['-v', 'env', 'add', 'DB_PASSWORD=s3cr3t-V4lue', 'PLAIN=1'])\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1, result.stderr
    text = log.read_text()
    for secret in ("s3cr3t-V4lue", "other-s3cr3t-value"):
        assert secret not in text and secret not in result.stderr
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert "argv: ['lain', '-v', 'env', 'add', 'DB_PASSWORD=<left out>', 'PLAIN=<left out>']" in text
    assert "left out: the values of the 2 arguments of `lain env`" in text
    assert "RuntimeError: cannot store <left out> nor <left out>" in text
    assert "internal error in lain: RuntimeError: cannot store <left out> nor <left out>" in result.stderr


def test_other_commands_keep_their_argv_in_the_crash_log() -> None:
    from lain_cli import crashlog

    assert crashlog.safe_argv(["-f", "env", "deploy", "--set", "a=b"]) == (["-f", "env", "deploy", "--set", "a=b"], 0)
    assert crashlog.safe_argv(["--cluster", "dev", "secret", "add", "prod.json"]) == (
        ["--cluster", "dev", "secret", "add", "<left out>"], 1)


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        # issue 16: this was "internal error in lain: UnicodeEncodeError", exit 1, the value in the log
        ([b"env", b"add", b"DB_PASSWORD=s3cr3t\xff"], {},
         "error: argument 3 (DB_PASSWORD=<left out>) is not valid UTF-8 text (byte 0xff)"),
        ([b"-f", b"caf\xe9.yaml", b"lint"], {}, "error: argument 2 (caf\\xe9.yaml) is not valid UTF-8 text (byte 0xe9)"),
        ([b"lint"], {b"LAIN_CLUSTER": b"d\xffv"},
         "error: the environment variable LAIN_CLUSTER is not valid UTF-8 text (byte 0xff)"),
    ],
)
def test_text_that_is_not_utf8_is_a_usage_error(tmp_path: Path, args: list[bytes], extra_env: dict[bytes, bytes],
                                                message: str) -> None:
    env = {os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()}
    env.update(extra_env)
    env[b"XDG_CACHE_HOME"] = os.fsencode(tmp_path)
    lain = os.fsencode(shutil.which("lain") or Path(sys.executable).with_name("lain"))
    result = subprocess.run([lain, *args], capture_output=True, timeout=60, env=env, cwd=tmp_path)
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert stderr.splitlines()[0] == message
    assert "s3cr3t" not in stderr
    assert not (tmp_path / "lain" / "last-crash.log").exists()
