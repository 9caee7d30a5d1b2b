"""Errors are part of lain's interface.

Every failure a user can cause or meet is a :class:`LainError` with a message
written for the person at the terminal and, where one exists, a hint that says
what to do next.  ``cli.main`` turns them into one short block on stderr and an
exit code: 2 for usage and configuration errors, 1 for failed operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lain_cli.findings import Finding

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class LainError(Exception):
    """A failure with a readable message, an optional hint and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details)

    def render(self) -> str:
        """The text shown to the user: message, indented details, then the hint."""
        lines = [f"error: {self.message}"]
        lines += [f"  {d}" for d in self.details]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class UsageError(LainError):
    """The command line or the environment is wrong; nothing was attempted."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """A values or cluster file is invalid.  Names the file, line and key path."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        hint: str | None = None,
        details: Sequence[str] = (),
        findings: Sequence[Finding] = (),
    ) -> None:
        where = file or ""
        if file and line:
            where = f"{file}:{line}"
        if key_path:
            where = f"{where}: {key_path}" if where else key_path
        super().__init__(f"{where}: {message}" if where else message, hint=hint, details=details)
        self.file = file
        self.line = line
        self.key_path = key_path
        self.reason = message
        if not findings:
            from lain_cli.findings import Finding

            findings = [Finding(message, file=file, line=line, key=key_path)]
        self.findings = list(findings)


class ToolError(UsageError):
    """helm, kubectl or docker is missing or of an unsupported version."""


class CommandFailed(LainError):
    """An external command (helm, kubectl, docker) exited non-zero or timed out."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        *,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        name = self.argv[0].rsplit("/", 1)[-1] if self.argv else "command"
        sub = " ".join(a for a in self.argv[1:3] if not a.startswith("-"))
        if message is None:
            if returncode is None:
                message = f"{name} {sub} timed out".replace("  ", " ")
            else:
                message = f"{name} {sub} failed (exit {returncode})".replace("  ", " ")
        tail = stderr_tail(stderr)
        super().__init__(message, hint=hint, details=tail)


class ClusterError(LainError):
    """The cluster could not be reached or refused a request."""


class OperationFailed(LainError):
    """A release, rollout, job or check did not succeed."""


class Interrupted(LainError):
    """The user pressed Ctrl-C (in a program lain ran, such as the editor): exit 130."""

    exit_code = 130

    def render(self) -> str:
        lines = [f"interrupted: {self.message}"] + [f"  {d}" for d in self.details]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


def stderr_tail(stderr: str, lines: int = 8) -> list[str]:
    """The last non-empty lines of a command's stderr, for error messages."""
    kept = [ln.rstrip() for ln in stderr.splitlines() if ln.strip()]
    return kept[-lines:]
