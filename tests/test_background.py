"""One call in a thread: its value, or its exception raised where the result is taken."""

from __future__ import annotations

import threading

import pytest

from lain_cli.background import Background
from lain_cli.errors import ClusterError


def test_the_value_comes_back_and_the_block_waits_for_the_thread() -> None:
    release = threading.Event()
    seen: list[str] = []

    def slow(name: str) -> str:
        release.wait(5)
        seen.append(name)
        return name.upper()

    with Background(slow, "history") as call:
        release.set()
        assert call.result() == "HISTORY"
    assert seen == ["history"]


def test_the_exception_is_raised_to_the_caller_of_result() -> None:
    def failing() -> None:
        raise ClusterError("cluster c did not answer")

    with Background(failing) as call, pytest.raises(ClusterError, match="did not answer"):
        call.result()
