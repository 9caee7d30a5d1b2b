"""A call run in a thread, its result (or its exception) taken later.

What ``concurrent.futures`` gives for one call, without its import: that
package imports ``logging``, which is a few ms of a deploy's start-up, spent
before lain's first request to the cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``with Background(fn, *args) as call: ... call.result()``; leaving the block
    waits for the thread (as a ThreadPoolExecutor's does)."""

    def __init__(self, fn: Callable[..., T], *args: object, name: str = "background") -> None:
        self._fn = fn
        self._args = args
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> T:
        """The call's value, once it has returned; its exception, re-raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when there was no error

    def __enter__(self) -> Background[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join()
