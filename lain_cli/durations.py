"""Durations, written one way everywhere: ``90s``, ``5m``, ``1m30s``, ``2h``, ``500ms``.

Every option that takes a length of time (``--timeout``, ``--grace``,
``--since``) reads it with :func:`parse_duration`, and lain writes durations
back the same way (:func:`format_duration`), which is also how kubectl and
helm take them.  A bare number is seconds.
"""

from __future__ import annotations

import re

from lain_cli.errors import UsageError

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
EXAMPLES = "90s, 5m, 1m30s or 2h"


def parse_duration(text: str, option: str = "--timeout", *, allow_zero: bool = False) -> float:
    """``text`` as seconds; a UsageError naming ``option`` when it is not a duration."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        seconds = float(text)
    else:
        parts = _PART.findall(text)
        if not parts or "".join(number + unit for number, unit in parts) != text:
            raise UsageError(f"{option} {text!r} is not a duration", hint=f"write it like {EXAMPLES}")
        seconds = sum(float(number) * UNITS[unit] for number, unit in parts)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise UsageError(f"{option} must be {'zero or more' if allow_zero else 'positive'}, got {text!r}",
                         hint=f"write it like {EXAMPLES}")
    return seconds


def format_duration(seconds: float) -> str:
    """``300`` -> ``5m``, ``90`` -> ``1m30s``, ``2.5`` -> ``2.5s``, ``0.2`` -> ``200ms``."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds != int(seconds):
        return f"{seconds:g}s" if seconds < 60 else format_duration(round(seconds))
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"
