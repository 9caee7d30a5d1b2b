"""Ctrl-C, SIGTERM and SIGHUP: one way to stop, whatever the phase.

A CI job that is cancelled sends SIGTERM; a closed terminal sends SIGHUP; a
person presses Ctrl-C.  lain treats the three alike: the signal becomes an
:class:`Interrupted` exception in the main thread, so every ``with`` block
unwinds (helm is stopped cleanly and waited for, kubectl children are ended,
temp files removed) and the command reports what state the release is in.
The exit code is the shell's convention, 128 + the signal: 130, 143, 129.

Only the first signal interrupts.  While lain unwinds (helm may need a few
seconds to record the release as failed) further signals are noted, not
raised, so the clean-up is not cut short; the third one ends lain at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


class Interrupted(KeyboardInterrupt):
    """The user (Ctrl-C) or the system (SIGTERM, SIGHUP) asked lain to stop."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def what(self) -> str:
        """``Ctrl-C``, ``SIGTERM``, ``SIGHUP``: how messages name it."""
        return _NAMES.get(signal.Signals(self.signum), f"signal {self.signum}")


def exit_code_of(exc: BaseException) -> int:
    """130 for a plain KeyboardInterrupt, 128 + the signal for an :class:`Interrupted`."""
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


def as_interrupted(exc: KeyboardInterrupt) -> Interrupted:
    return exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)


class _State:
    def __init__(self) -> None:
        self.received: list[int] = []


_state = _State()


def received() -> Interrupted | None:
    """The first signal received since :func:`handling` began, if any."""
    return Interrupted(_state.received[0]) if _state.received else None


def _handler(signum: int, frame: FrameType | None) -> None:
    _state.received.append(signum)
    if len(_state.received) == 1:
        raise Interrupted(signum)
    if len(_state.received) >= 3:
        # Asked three times: the person wants out now, clean or not.
        print(f"\n{_NAMES.get(signal.Signals(signum), 'signal')} again: quitting at once", file=sys.stderr)
        os._exit(128 + signum)


@contextmanager
def handling() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` for the block.

    A signal that was ignored when lain started (``nohup``, a background job's
    SIGINT) stays ignored, as a well-behaved program does.  Outside the main
    thread this does nothing (Python delivers signals to the main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.received.clear()
    previous: dict[signal.Signals, object] = {}
    for sig in HANDLED:
        try:
            current = signal.getsignal(sig)
            if current is signal.SIG_IGN:
                continue
            previous[sig] = signal.signal(sig, _handler)
        except (ValueError, OSError):
            continue
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
