"""The process runner: argv in, Result or CommandFailed out; verbose echo; no shell."""

from __future__ import annotations

import sys

import pytest

from lain_cli import proc
from lain_cli.errors import CommandFailed, ToolError


def test_run_captures_stdout_and_stderr() -> None:
    result = proc.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"])
    assert result.ok
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.duration > 0


def test_run_passes_input_on_stdin_not_argv() -> None:
    result = proc.run([sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1])"], input="s3cret")
    assert result.stdout.strip() == "terc3s"
    assert "s3cret" not in " ".join(result.argv)


def test_argv_is_never_interpreted_by_a_shell(tmp_path) -> None:
    marker = tmp_path / "pwned"
    result = proc.run([sys.executable, "-c", "import sys; print(sys.argv[1])", f"; touch {marker}"])
    assert result.stdout.strip() == f"; touch {marker}"
    assert not marker.exists()


def test_failure_raises_with_stderr_tail() -> None:
    with pytest.raises(CommandFailed) as info:
        proc.run([sys.executable, "-c", "import sys; print('line1\\nboom happened', file=sys.stderr); sys.exit(3)"])
    err = info.value
    assert err.returncode == 3
    assert err.exit_code == 1
    assert err.details[-1] == "boom happened"
    assert "failed (exit 3)" in err.message


def test_check_false_returns_the_failure() -> None:
    result = proc.run([sys.executable, "-c", "import sys; sys.exit(5)"], check=False)
    assert result.returncode == 5
    assert not result.ok


def test_timeout_raises_command_failed() -> None:
    with pytest.raises(CommandFailed) as info:
        proc.run([sys.executable, "-c", "import time; time.sleep(10)"], timeout=0.3)
    assert info.value.returncode is None
    assert "timed out" in info.value.message


def test_missing_executable_is_a_tool_error() -> None:
    with pytest.raises(ToolError) as info:
        proc.run(["/nonexistent/helm", "version"])
    assert info.value.exit_code == 2
    assert "not found" in info.value.message


def test_verbose_echoes_argv_and_duration(capsys: pytest.CaptureFixture[str]) -> None:
    proc.set_verbose(True)
    try:
        proc.run([sys.executable, "-c", "pass", "with space"])
    finally:
        proc.set_verbose(False)
    err = capsys.readouterr().err
    assert err.startswith("$ ")
    assert "'with space'" in err
    assert " ms)" in err


def test_format_argv_redacts() -> None:
    assert proc.format_argv(["kubectl", "--token=abc123"], redact=["abc123"]) == "kubectl '--token=******'"


def test_stream_yields_lines_and_stops() -> None:
    code = "import sys,time\nfor i in range(3): print(i, flush=True)\ntime.sleep(30)"
    with proc.stream([sys.executable, "-c", code]) as running:
        lines = []
        for line in running.lines():
            lines.append(line)
            if len(lines) == 3:
                break
    assert lines == ["0", "1", "2"]
    assert running.proc.poll() is not None


def test_run_attached_returns_exit_code() -> None:
    assert proc.run_attached([sys.executable, "-c", "import sys; sys.exit(7)"]) == 7


def test_stop_waits_for_the_child_and_kills_one_that_ignores_sigterm() -> None:
    import signal

    stubborn = "import signal,sys,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\ntime.sleep(60)"
    running = proc.stream([sys.executable, "-c", stubborn])
    assert next(running.lines()) == "up"
    running.proc.terminate()
    proc.wait_ending(running.proc, grace=0.2)
    assert running.proc.returncode == -signal.SIGKILL
    with running:
        pass
    polite = proc.stream([sys.executable, "-c", "import time\nprint('up', flush=True)\ntime.sleep(60)"])
    assert next(polite.lines()) == "up"
    with polite:
        pass  # leaving it terminates and waits
    assert polite.proc.returncode == -signal.SIGTERM
