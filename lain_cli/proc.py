"""The one place lain starts processes (helm, kubectl, docker, git, $EDITOR).

Every call takes an argv list, never a shell string, so user input cannot reach
a shell.  ``run`` captures output and raises :class:`~lain_cli.errors.CommandFailed`
carrying the stderr tail; ``stream`` yields output lines as they arrive (log
following, hook job logs); ``run_attached`` hands the terminal to the child (an
interactive shell, an editor) and returns its exit code.  In verbose mode each
call is echoed to stderr with its duration.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from lain_cli.errors import CommandFailed, ToolError

_verbose = False


def set_verbose(enabled: bool) -> None:
    """Echo every command and its duration to stderr (``lain -v``)."""
    global _verbose
    _verbose = enabled


def is_verbose() -> bool:
    return _verbose


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def format_argv(argv: Sequence[str], redact: Sequence[str] = ()) -> str:
    """argv as a copy-pasteable shell line, with any ``redact`` values masked."""
    shown = []
    for arg in argv:
        for secret in redact:
            if secret and secret in arg:
                arg = arg.replace(secret, "******")
        shown.append(shlex.quote(arg))
    return " ".join(shown)


def _echo(argv: Sequence[str], duration: float | None, redact: Sequence[str], note: str = "") -> None:
    if not _verbose:
        return
    took = f"  ({duration * 1000:.0f} ms{note})" if duration is not None else ""
    print(f"$ {format_argv(argv, redact)}{took}", file=sys.stderr, flush=True)


def _merged_env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    merged.update(env)
    return merged


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = 300,
    input: str | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    redact: Sequence[str] = (),
    error_hint: str | None = None,
) -> Result:
    """Run ``argv`` to completion with captured text output.

    ``input`` goes to stdin (how lain hands secrets to kubectl: never in argv).
    With ``check`` a non-zero exit or a timeout raises CommandFailed.
    """
    argv = [os.fspath(a) for a in argv]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=_merged_env(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL if input is None else None,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{argv[0]} not found", hint="run `make setup`, or put it on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        _echo(argv, time.monotonic() - started, redact, ", timed out")
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise CommandFailed(argv, None, out, err, hint=error_hint) from exc
    duration = time.monotonic() - started
    _echo(argv, duration, redact, "" if proc.returncode == 0 else f", exit {proc.returncode}")
    result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr, duration)
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stdout, proc.stderr, hint=error_hint)
    return result


class Stream:
    """A running process whose merged stdout/stderr is read line by line.

    Use as a context manager; leaving it terminates the process if it still runs.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        merge_stderr: bool = True,
    ) -> None:
        self.argv = [os.fspath(a) for a in argv]
        self.started = time.monotonic()
        self._stderr: deque[str] = deque(maxlen=50)
        _echo(self.argv, None, ())
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                env=_merged_env(env),
            )
        except FileNotFoundError as exc:
            raise ToolError(f"{self.argv[0]} not found", hint="run `make setup`, or put it on PATH") from exc
        if not merge_stderr:
            # Drain stderr in the background so a chatty child never blocks on a full pipe.
            threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self) -> list[str]:
        """The last lines the process wrote to stderr (with ``merge_stderr=False``)."""
        return list(self._stderr)

    def lines(self) -> Iterator[str]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            yield line.rstrip("\n")

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


def stream(argv: Sequence[str], env: Mapping[str, str] | None = None, *, merge_stderr: bool = True) -> Stream:
    """Start ``argv`` and read its output line by line (see :class:`Stream`)."""
    return Stream(argv, env, merge_stderr=merge_stderr)


def run_attached(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run ``argv`` on the user's terminal (stdin/stdout/stderr inherited).

    Returns the child's exit code untouched.  Ctrl-C goes to the child only,
    as with any foreground program.
    """
    argv = [os.fspath(a) for a in argv]
    _echo(argv, None, ())  # before: the child owns the terminal until it exits
    try:
        proc = subprocess.Popen(argv, env=_merged_env(env))
    except FileNotFoundError as exc:
        raise ToolError(f"{argv[0]} not found", hint="check PATH") from exc
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue  # Ctrl-C belongs to the child (same foreground process group)


def run_forwarding_interrupt(
    argv: Sequence[str],
    *,
    on_line: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Result, bool]:
    """Run ``argv`` to completion, letting it handle Ctrl-C itself.

    The child runs in its own session, so a terminal's Ctrl-C reaches lain
    only; lain then sends the child one SIGINT and keeps waiting until it has
    exited (helm needs that moment to record the release as failed instead of
    leaving it pending).  Returns the result and whether Ctrl-C was pressed.
    Each output line (stdout and stderr merged) also goes to ``on_line``.

    ``cancel``, when set by another thread (a tracker that saw the release fail),
    stops the child the same way; that is not an interrupt by the user, so it
    does not count as Ctrl-C in the result.
    """
    import signal

    argv = [os.fspath(a) for a in argv]
    started = time.monotonic()
    _echo(argv, None, ())
    try:
        child = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=_merged_env(env),
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{argv[0]} not found", hint="run `make setup`, or put it on PATH") from exc
    output: list[str] = []

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            line = line.rstrip("\n")
            output.append(line)
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    interrupted = False
    cancelled = False
    while True:
        try:
            # Short waits, not one long one: with other threads running, the OS may
            # deliver SIGINT to one of them, and Python raises KeyboardInterrupt only
            # once the main thread runs again.
            try:
                child.wait(0.1)
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set() and not cancelled and child.poll() is None:
                    cancelled = True
                    child.send_signal(signal.SIGINT)
                continue
            reader.join()
            break
        except KeyboardInterrupt:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
            interrupted = True
    duration = time.monotonic() - started
    _echo(argv, duration, (), "" if child.returncode == 0 else f", exit {child.returncode}")
    text = "\n".join(output)
    return Result(tuple(argv), child.returncode, text, text, duration), interrupted
