"""The one place lain starts processes (helm, kubectl, docker, git, $EDITOR).

Every call takes an argv list, never a shell string, so user input cannot reach
a shell.  ``run`` captures output and raises :class:`~lain_cli.errors.CommandFailed`
carrying the stderr tail; ``stream`` yields output lines as they arrive (log
following, hook job logs); ``run_attached`` hands the terminal to the child (an
interactive shell, an editor) and returns its exit code.  In verbose mode each
call is echoed to stderr with its duration.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lain_cli.errors import CommandFailed, ToolError
from lain_cli.interrupts import Interrupted, as_interrupted

_verbose = False
# Children that run in the background (watches, log streams, helm): ended by
# end_children() when lain exits, whatever the path out.
_children: weakref.WeakSet[subprocess.Popen[Any]] = weakref.WeakSet()


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


def echo_request(method: str, path: str, duration: float) -> None:
    """``lain -v``'s line for an API request lain sends itself (through kubectl proxy)."""
    if _verbose:
        print(f"$ {method} {path}  (via kubectl proxy, {duration * 1000:.0f} ms)", file=sys.stderr, flush=True)


def _merged_env(env: Mapping[str, str] | None) -> dict[str, str] | None:
    if env is None:
        return None
    merged = dict(os.environ)
    merged.update(env)
    return merged


WAIT_NOTICE = 2.0


class _WaitNotice:
    """Says on stderr what a slow call waits for, once after WAIT_NOTICE seconds."""

    def __init__(self, what: str, started: float) -> None:
        self._what = what
        self._started = started
        self._timer = threading.Timer(WAIT_NOTICE, self._say)
        self._timer.daemon = True
        self._timer.start()

    def _say(self) -> None:
        from lain_cli import console

        console.step(f"waiting for {self._what} ({time.monotonic() - self._started:.0f}s)")

    def cancel(self) -> None:
        self._timer.cancel()


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
    waiting_for: str | None = None,
) -> Result:
    """Run ``argv`` to completion with captured text output.

    ``input`` goes to stdin (how lain hands secrets to kubectl: never in argv).
    With ``check`` a non-zero exit or a timeout raises CommandFailed.  With
    ``waiting_for`` a call that takes more than :data:`WAIT_NOTICE` seconds says
    so on stderr (``waiting for the cluster to answer helm history (3s)``).
    """
    argv = [os.fspath(a) for a in argv]
    started = time.monotonic()
    # Only the main thread speaks: a background check (the live panel's) must not
    # print over the screen it draws.
    notice = (_WaitNotice(waiting_for, started)
              if waiting_for and threading.current_thread() is threading.main_thread() else None)
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
    finally:
        if notice is not None:
            notice.cancel()
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
        redact: Sequence[str] = (),
    ) -> None:
        self.argv = [os.fspath(a) for a in argv]
        self.started = time.monotonic()
        self._stderr: deque[str] = deque(maxlen=50)
        _echo(self.argv, None, redact)
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
        _children.add(self.proc)
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

    def terminate(self) -> None:
        """Ask the process to end (SIGTERM) without waiting: :meth:`stop` then waits.
        Several streams end in the time of one when all are asked first."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()

    def stop(self) -> None:
        """Terminate the process (if it still runs) and wait until it has ended."""
        if self.proc.poll() is None:
            self.terminate()
            wait_ending(self.proc)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


def stream(argv: Sequence[str], env: Mapping[str, str] | None = None, *, merge_stderr: bool = True,
           redact: Sequence[str] = ()) -> Stream:
    """Start ``argv`` and read its output line by line (see :class:`Stream`); ``-v``
    shows the argv with the ``redact`` values masked."""
    return Stream(argv, env, merge_stderr=merge_stderr, redact=redact)


def run_attached(
    argv: Sequence[str], env: Mapping[str, str] | None = None, *, interrupt_ends: bool = False
) -> int:
    """Run ``argv`` on the user's terminal (stdin/stdout/stderr inherited).

    Returns the child's exit code untouched.  Ctrl-C goes to the child, as with
    any foreground program (the terminal signals the whole process group); lain
    waits for it.  With ``interrupt_ends`` (``lain logs -f``: Ctrl-C is how one
    stops following) an interrupted child's end is lain's: :class:`Interrupted`
    is raised once it has exited, so the exit code is 130, not kubectl's 1.
    SIGTERM and SIGHUP, which may reach lain alone, are passed on to the child
    (so is Ctrl-C with ``interrupt_ends``), and raised once it has exited.
    """
    import signal

    argv = [os.fspath(a) for a in argv]
    _echo(argv, None, ())  # before: the child owns the terminal until it exits
    try:
        proc = subprocess.Popen(argv, env=_merged_env(env))
    except FileNotFoundError as exc:
        raise ToolError(f"{argv[0]} not found", hint="check PATH") from exc
    _children.add(proc)
    interrupted: Interrupted | None = None
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt as exc:
            signal_ = as_interrupted(exc)
            if signal_.signum != signal.SIGINT or interrupt_ends:
                # (a Ctrl-C from a terminal reached the child already; a second one is harmless)
                if proc.poll() is None:
                    proc.send_signal(signal_.signum)
                interrupted = interrupted or signal_
    if interrupted is not None:
        raise interrupted
    return code


def end_children(grace: float = 3.0) -> None:
    """Stop every background child still running (SIGTERM, then SIGKILL after ``grace``)."""
    alive = [child for child in list(_children) if child.poll() is None]
    for child in alive:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
    deadline = time.monotonic() + grace
    for child in alive:
        wait_ending(child, max(0.0, deadline - time.monotonic()))


def wait_ending(child: subprocess.Popen[Any], grace: float = 3.0) -> None:
    """Wait for a child that was asked to end; SIGKILL it if it has not after ``grace`` s.

    A blocking wait returns the moment the child ends; ``Popen.wait(timeout)``
    polls with growing sleeps instead, which adds several ms to every stop."""
    killer = threading.Timer(grace, _kill, args=(child,))
    killer.daemon = True
    killer.start()
    try:
        child.wait()
    finally:
        killer.cancel()


def _kill(child: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, OSError):
        if child.poll() is None:
            child.kill()


@dataclass(frozen=True)
class Stopped:
    """How a :func:`run_stoppable` child ended, besides its result."""

    result: Result
    interrupted: Interrupted | None  # Ctrl-C, SIGTERM or SIGHUP reached lain meanwhile
    cancelled: bool  # stopped because ``cancel`` was set (a tracker saw the release fail)
    timed_out: bool  # stopped because lain's deadline passed


def run_stoppable(
    argv: Sequence[str],
    *,
    on_line: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
    cancel: threading.Event | None = None,
    timeout: float | None = None,
    stop_grace: float = 30.0,
) -> Stopped:
    """Run ``argv`` (helm) to completion; stop it cleanly when asked to.

    The child runs in its own session, so a terminal's Ctrl-C reaches lain
    only.  lain then sends the child one SIGINT and keeps waiting until it has
    exited: helm needs that moment to record the release as failed instead of
    leaving it pending.  The same happens on SIGTERM/SIGHUP, when another
    thread sets ``cancel`` (a tracker that saw the release fail: not an
    interrupt by the user), and when ``timeout`` seconds have passed.  A child
    that is still running ``stop_grace`` seconds after being asked to stop is
    killed.  Each output line (stdout and stderr merged) also goes to ``on_line``.
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
    _children.add(child)
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
    interrupted: Interrupted | None = None
    cancelled = timed_out = False
    stop_sent: float | None = None

    def ask_to_stop() -> None:
        nonlocal stop_sent
        if stop_sent is None and child.poll() is None:
            stop_sent = time.monotonic()
            child.send_signal(signal.SIGINT)

    while True:
        try:
            # Short waits, not one long one: with other threads running, the OS may
            # deliver a signal to one of them, and Python raises in the main thread
            # only once it runs again.
            try:
                child.wait(0.1)
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if cancel is not None and cancel.is_set() and stop_sent is None:
                    cancelled = True
                    ask_to_stop()
                if timeout is not None and now - started > timeout and stop_sent is None:
                    timed_out = True
                    ask_to_stop()
                if stop_sent is not None and now - stop_sent > stop_grace:
                    child.kill()
                continue
            reader.join()
            break
        except KeyboardInterrupt as exc:
            interrupted = interrupted or as_interrupted(exc)
            ask_to_stop()
    duration = time.monotonic() - started
    _echo(argv, duration, (), "" if child.returncode == 0 else f", exit {child.returncode}")
    text = "\n".join(output)
    result = Result(tuple(argv), child.returncode, text, text, duration)
    return Stopped(result, interrupted, cancelled and interrupted is None, timed_out)
