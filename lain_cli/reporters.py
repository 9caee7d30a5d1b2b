"""The consumers of a release command's events: the terminal, the ``--json``
journal and the webhook.  Each sees every event and keeps what concerns it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lain_cli import console
from lain_cli import events as ev
from lain_cli.release_plan import Images

if TYPE_CHECKING:
    from lain_cli.context import AppContext


class TerminalReporter:
    """Progress on stderr, one line per event (timestamps without a TTY)."""

    def __call__(self, event: ev.Event) -> None:
        match event:
            case ev.Step(text):
                console.step(text)
            case ev.Info(text):
                console.info(text)
            case ev.Warning(text):
                console.warn(text)
            case ev.Success(text):
                console.success(text)
            case ev.Failure(text, details):
                console.failure(text)
                for line in details:
                    console.info(line)
            case ev.HookPodStarted(job, pod):
                console.step(f"hook job {job}: pod {pod} started, following its logs")
            case ev.HookLogLine(_job, label, line):
                console.info(f"[{label}] {line}")
            case ev.Progress(workload, text):
                console.info(f"{workload}: {text}")
            case ev.Notice():
                pass


@dataclass
class Journal:
    """What a release command did, for ``--json`` (CI): each notice in order, the
    images, the green-light report, and the outcome.

    With a journal the command prints one JSON document on stdout at the end and
    no live panel or status summary (progress lines still go to stderr).
    """

    action: str = ""
    old_image: str = ""
    new_image: str = ""
    started: float = field(default_factory=time.monotonic)
    events: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    images: Images | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # a command's own facts (restart: the procs)

    def reporter(self, images: Images) -> Callable[[ev.Event], None]:
        """An ``emit`` that records ``images``' notices into this journal."""

        def record(event: ev.Event) -> None:
            if not isinstance(event, ev.Notice):
                return
            if event.kind == "deploy-start" or not self.action:
                self.action, self.old_image, self.new_image = images.action, images.old_image, images.new_image
            self.events.append({"kind": event.kind, "text": event.text, "details": list(event.details)})

        return record

    def document(self, ctx: AppContext, exit_code: int) -> dict[str, Any]:
        result = "succeeded" if exit_code == 0 else ("interrupted" if exit_code >= 128 else "failed")
        return {
            "schemaVersion": 1,
            "action": self.action,
            "app": ctx.appname,
            "release": ctx.release_name,
            "cluster": ctx.cluster.name if ctx.cluster else "",
            "namespace": ctx.namespace,
            "oldImage": self.old_image,
            "newImage": self.new_image,
            "result": result,
            "exitCode": exit_code,
            "durationSeconds": round(time.monotonic() - self.started, 3),
            "events": self.events,
            "status": self.status,
            **self.extra,
        }


def git_log_between(repo: Path, old_tag: str, new_revision: str, limit: int = 20) -> tuple[str, ...]:
    """``git log --oneline`` from the deployed tag's commit to HEAD ("" tags or unknown commits: none)."""
    from lain_cli import proc
    from lain_cli.errors import LainError

    old = old_tag.removesuffix("-dirty")
    if not old or not new_revision:
        return ()
    argv = ["git", "-C", str(repo), "log", "--oneline", "--no-decorate", f"-n{limit}", f"{old}..{new_revision}"]
    try:
        result = proc.run(argv, timeout=10, check=False)
    except LainError:
        return ()
    return tuple(result.stdout.splitlines()) if result.ok else ()


class WebhookReporter:
    """Posts the notices to the app's webhook in the background: a slow or dead
    webhook never slows a deploy; :meth:`flush` waits for them at the end."""

    def __init__(self, ctx: AppContext, images: Images) -> None:
        self.ctx = ctx
        self.images = images
        self._threads: list[threading.Thread] = []
        self._git_log: tuple[str, ...] | None = None

    def git_log(self) -> tuple[str, ...]:
        if self._git_log is None:
            self._git_log = git_log_between(self.ctx.chart_dir.parent, self.images.old_tag, self.ctx.git_revision)
        return self._git_log

    def __call__(self, event: ev.Event) -> None:
        from lain_cli import notify

        if not isinstance(event, ev.Notice):
            return
        finished = event.kind != "deploy-start"
        duration = (time.monotonic() - self.images.started) if finished else None

        def send() -> None:
            notice = notify.Event(
                kind=event.kind,  # type: ignore[arg-type]
                app=self.ctx.appname,
                cluster=self.ctx.cluster.name if self.ctx.cluster else "",
                user=self.ctx.user,
                text=event.text,
                old_image=self.images.old_image or None,
                new_image=self.images.new_image or None,
                git_log=self.git_log(),
                duration=duration,
                details=brief(event.details),
            )
            notify.send_event(self.ctx, notice)

        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        self._threads.append(thread)

    def flush(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


WEBHOOK_DETAIL_LINES = 8


def brief(details: Sequence[str], lines: int = WEBHOOK_DETAIL_LINES) -> tuple[str, ...]:
    """The first lines of a report for a chat message, never ending on a heading
    (``events:``) whose lines were cut."""
    kept = list(details[:lines])
    while kept and kept[-1].rstrip().endswith(":"):
        kept.pop()
    return tuple(kept)


class Reporters:
    """Every reporter of one release operation behind one ``emit``."""

    def __init__(self, ctx: AppContext, images: Images, journal: Journal | None,
                 terminal: Callable[[ev.Event], None] | None = None) -> None:
        self.images = images
        self.webhook = WebhookReporter(ctx, images)
        self._consumers: Sequence[Callable[[ev.Event], None]] = [
            terminal or TerminalReporter(),
            *([journal.reporter(images)] if journal is not None else []),
            self.webhook,
        ]

    def __call__(self, event: ev.Event) -> None:
        for consume in self._consumers:
            consume(event)

    def flush(self) -> None:
        self.webhook.flush()
