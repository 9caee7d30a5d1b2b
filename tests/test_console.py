"""Progress output: timestamps without a TTY, whole lines even from several threads."""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest

from lain_cli import console


def test_lines_are_timestamped_without_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    console.step("helm upgrade --install dummy")
    err = capsys.readouterr().err
    assert re.fullmatch(r"\d\d:\d\d:\d\d » helm upgrade --install dummy\n", err)


def test_multi_line_messages_keep_the_prefix_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    console.warn("one\ntwo")
    lines = capsys.readouterr().err.splitlines()
    assert [ln[9:] for ln in lines] == ["warning: one", "warning: two"]


class SlowStream:
    """A stderr that gives other threads a chance to run inside every write."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, data: str) -> int:
        time.sleep(0.0005)
        self.text += data
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_threads_never_interleave_within_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = SlowStream()
    monkeypatch.setattr(sys, "stderr", stream)

    def spam(word: str) -> None:
        for _ in range(50):
            console.info(word * 20)

    threads = [threading.Thread(target=spam, args=(w,)) for w in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = stream.text.splitlines()
    assert len(lines) == 100
    assert all(ln[9:] in ("  " + "a" * 20, "  " + "b" * 20) for ln in lines)
