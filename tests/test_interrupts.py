"""Ctrl-C, SIGTERM and SIGHUP become Interrupted, with the shell's exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lain_cli import interrupts


@pytest.mark.parametrize(("sig", "code", "what"), [
    (signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_a_signal_in_the_block_is_interrupted_with_its_exit_code(sig: int, code: int, what: str) -> None:
    with pytest.raises(interrupts.Interrupted) as caught, interrupts.handling():
        os.kill(os.getpid(), sig)
        time.sleep(1)
    assert (caught.value.exit_code, caught.value.what) == (code, what)
    assert interrupts.exit_code_of(caught.value) == code
    assert interrupts.exit_code_of(KeyboardInterrupt()) == 130


def test_handlers_are_restored_after_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with interrupts.handling():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_ignored_at_start_stays_ignored() -> None:
    code = textwrap.dedent("""
        import os, signal, time
        from lain_cli import interrupts
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        with interrupts.handling():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)
        print("still here")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "still here", result.stderr


def test_a_second_signal_during_clean_up_does_not_cut_it_short() -> None:
    code = textwrap.dedent("""
        import os, signal, time
        from lain_cli import interrupts
        with interrupts.handling():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(1)
            except interrupts.Interrupted:
                os.kill(os.getpid(), signal.SIGTERM)  # noted, not raised
                time.sleep(0.2)
                print("cleaned up")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "cleaned up", result.stderr
