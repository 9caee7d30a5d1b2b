"""What an unexpected error leaves behind for a bug report, with nothing secret in it.

The crash log (``$XDG_CACHE_HOME/lain/last-crash.log``, mode 0600) holds
lain's version, the command line and the traceback.  The arguments of ``lain
env`` and ``lain secret`` are values (``DB_PASSWORD=...``, secret files), so
they are left out of it, and so is every Secret value lain read or was given
in this run wherever it shows in the traceback.  The log says what it left out.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable, Sequence

LEFT_OUT = "<left out>"
SECRET_COMMANDS = ("env", "secret")
# global options that take a value: the word after them is not the command
_VALUE_OPTIONS = ("-f", "--values", "--cluster")
# shorter values would garble the log without hiding anything worth hiding
_MIN_SECRET = 4

_secrets: set[str] = set()


def keep_out(values: Iterable[str | bytes]) -> None:
    """Remember secret values of this run: a crash log (and its one-line error) never shows them."""
    for value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        for part in (text, *text.splitlines()):
            part = part.strip()
            if len(part) >= _MIN_SECRET:
                _secrets.add(part)


def command_of(argv: Sequence[str]) -> int | None:
    """The index in ``argv`` (without the program name) of the command word, if any."""
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in _VALUE_OPTIONS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return index
    return None


def safe_argv(argv: Sequence[str]) -> tuple[list[str], int]:
    """``argv`` for the log: the values of env/secret commands replaced, and how many were."""
    index = command_of(argv)
    if index is None or argv[index] not in SECRET_COMMANDS:
        return list(argv), 0
    kept = list(argv[: index + 1])
    left_out = 0
    subcommand_seen = False
    for arg in argv[index + 1:]:
        if arg.startswith("-"):
            name, sep, _ = arg.partition("=")
            kept.append(f"{name}={LEFT_OUT}" if sep else arg)
            left_out += bool(sep)
        elif not subcommand_seen:
            subcommand_seen = True
            kept.append(arg)
        else:
            key, sep, _ = arg.partition("=")
            kept.append(f"{key}={LEFT_OUT}" if sep else LEFT_OUT)
            left_out += 1
    return kept, left_out


def scrub(text: str, argv: Sequence[str] = ()) -> str:
    """``text`` with every remembered secret value, and every value of an env/secret
    command in ``argv``, replaced by ``<left out>``."""
    secrets = set(_secrets)
    index = command_of(argv)
    if index is not None and argv[index] in SECRET_COMMANDS:
        for arg in argv[index + 2:]:
            value = arg.partition("=")[2] or arg
            secrets.update(part for part in (value, *value.splitlines()) if len(part.strip()) >= _MIN_SECRET)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, LEFT_OUT)
    return text


def log_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lain", "last-crash.log")


def write(exc: BaseException, version: str, argv: Sequence[str] | None = None) -> str:
    """Write the crash log for ``exc``; its path, or "" when it cannot be written."""
    argv = list(sys.argv[1:] if argv is None else argv)
    shown, left_out = safe_argv(argv)
    omitted = []
    if left_out:
        omitted.append(f"the values of the {left_out} argument{'s' if left_out != 1 else ''} of "
                       f"`lain {argv[command_of(argv) or 0]}`")
    omitted.append("every Secret value lain read or was given, wherever the traceback had one")
    text = (
        f"lain {version}\n"
        f"argv: {_printable(['lain', *shown])}\n"
        f"left out: {'; '.join(omitted)} (shown as {LEFT_OUT})\n\n"
        + scrub("".join(traceback.format_exception(exc)), argv)
    )
    path = log_path()
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an older log may have been 0644
            os.write(fd, text.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
    except OSError:
        return ""
    return path


def _printable(argv: Sequence[str]) -> str:
    return repr([arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for arg in argv])
