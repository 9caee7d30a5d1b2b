"""What a release command tells its reporters, as typed events.

The trackers (:mod:`lain_cli.rollout`) and the release flow (:mod:`lain_cli.deploy`)
never print: they hand these events to an ``emit`` callback.  The reporters
(:mod:`lain_cli.reporters`) are the consumers: the terminal prints lines, the
``--json`` journal keeps the notices, the webhook posts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextEvent:
    """An event that is one line of text.  Its kinds below add no field, so they are
    not decorated again (they inherit the generated methods; equal only within a kind)."""

    text: str


class Step(TextEvent):
    """Something lain starts doing now."""


class Info(TextEvent):
    """Something worth knowing (``-v`` timings, hints)."""


class Warning(TextEvent):  # noqa: A001 - the event's name; never raised
    """Something went wrong that the command goes on after."""


class Success(TextEvent):
    """A step that ended well."""


@dataclass(frozen=True)
class Failure:
    """A failed step: the headline and the lines that explain it (events, logs)."""

    text: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class HookPodStarted:
    job: str
    pod: str


@dataclass(frozen=True)
class HookLogLine:
    job: str
    label: str  # ``job`` or ``job:container`` for an init container
    line: str


@dataclass(frozen=True)
class Progress:
    """A workload's progress changed: ``web: 1/2 ready, 2/2 updated``."""

    workload: str
    text: str


NOTICE_KINDS = ("deploy-start", "deploy-success", "deploy-failure", "rollback", "uninstall", "uninstall-failure",
                "restart-start", "restart", "restart-failure", "job")


@dataclass(frozen=True)
class Notice:
    """A notice-worthy moment: what the webhook posts and the ``--json`` journal lists."""

    kind: str  # one of NOTICE_KINDS
    text: str = ""
    details: tuple[str, ...] = field(default_factory=tuple)


Event = Step | Info | Warning | Success | Failure | HookPodStarted | HookLogLine | Progress | Notice
Emit = Callable[[Event], None]


def ignore(event: Event) -> None:
    """An ``emit`` that drops everything (quiet callers, tests)."""
