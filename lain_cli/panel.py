"""Presenting the green light: a live panel on a terminal, plain lines without one.

:func:`summary_lines` / :func:`print_summary` are the one-shot report (``lain
status -s``, CI, the end of a deploy without a TTY).  :func:`run_live` is the
rich panel: objects come from one :class:`~lain_cli.watch.ReleaseWatch` (a
watch per kind, so the cost does not depend on the number of pods); the log
scan and the HTTP checks run in a background thread every few seconds; the
screen is redrawn when the watch reports a change, at most twice a second and
at least once a second (ages move).  ``q`` or Ctrl-C quits; the terminal is
put in cbreak mode to read single keys and restored on every way out.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lain_cli import console
from lain_cli import status as st
from lain_cli.tracking.objects import live_pods

if TYPE_CHECKING:
    from lain_cli.context import AppContext

LOG_SCAN_EVERY = 10.0
HTTP_CHECK_EVERY = 5.0
MIN_REDRAW = 0.5
MAX_REDRAW = 1.0
WATCH_KINDS = ("deployments", "statefulsets", "replicasets", "jobs", "cronjobs", "pods")


# ---------------------------------------------------------------- plain summary


def summary_lines(report: st.StatusReport) -> list[str]:
    """The one-shot report as plain lines (no color, no terminal needed)."""
    out = [f"{report.app} on cluster {report.cluster} (namespace {report.namespace}), release {report.release}"]
    if report.procs:
        out.append("procs:")
        for p in report.procs:
            old = f"  {p.old} old" if p.old else ""
            out.append(f"  {p.name:<20} {p.kind:<11} {p.ready}/{p.desired} ready  {p.updated}/{p.desired} updated"
                       f"{old}  {p.state}")
    if report.pods:
        out.append("pods:")
        for pod in report.pods:
            out.append(
                f"  {pod.name:<40} {pod.status:<18} restarts {pod.restarts:<3} age {console.short_age(pod.age_seconds):<5} "
                f"node {pod.node or '-'}"
            )
            if pod.reason and pod.state not in ("ready", "succeeded"):
                out.append(f"      {pod.reason}: {pod.message}" if pod.message else f"      {pod.reason}")
            if pod.last_event:
                out.append(f"      last event: {pod.last_event}")
    if report.jobs:
        out.append("jobs:")
        for job in report.jobs:
            when = job.finished or job.started or "-"
            out.append(f"  {job.name:<30} {job.state:<11} succeeded {job.succeeded} failed {job.failed}  last run {when}")
            if job.reason:
                out.append(f"      {job.reason}")
    if report.cronjobs:
        out.append("cronjobs:")
        for cron in report.cronjobs:
            out.append(
                f"  {cron.name:<30} {cron.schedule:<14} last run {cron.last_schedule or 'never'} ({cron.last_run_state})"
                + ("  suspended" if cron.suspended else "")
            )
    if report.logs is not None and (report.logs.total or report.logs.error):
        out.append(f"error log lines (last {report.logs.window}, /{report.logs.pattern}/): {report.logs.total}")
        for line in report.logs.lines:
            out.append(f"  [{line.pod}/{line.container}] {line.line}")
        if report.logs.error:
            out.append(f"  (log scan: {report.logs.error})")
    if report.endpoints:
        out.append("endpoints:")
        for ep in report.endpoints:
            code = str(ep.status_code) if ep.status_code is not None else "---"
            latency = f"{ep.latency_ms:.0f} ms" if ep.latency_ms is not None else "-"
            out.append(f"  {_RESULT_WORD[ep.result]:<4} {code:<4} {latency:>7}  {ep.url}"
                       + (f"  {ep.error}" if ep.error else ""))
        hints = sorted({ep.hint for ep in report.endpoints if ep.result == st.UNCHECKED and ep.hint})
        out += [f"  ({hint})" for hint in hints]
    if report.tests is not None:
        out.append(f"tests: {'passed' if report.tests.ok else 'FAILED'}")
        if not report.tests.ok:
            out += [f"  {line}" for line in report.tests.output[-15:]]
    if report.leftovers:
        out.append("leftovers of other revisions (not counted):")
        out += [f"  {line}" for line in report.leftovers]
    if report.log_links:
        out.append("log links:")
        for link in report.log_links:
            out.append(f"  {link.proc + ': ' if link.proc else ''}{link.url}")
    out.append(f"verdict: {report.verdict_line}")
    out += [f"  - {reason}" for reason in report.reasons]
    return out


def print_summary(report: st.StatusReport) -> None:
    """Print the one-shot report to stdout."""
    for line in summary_lines(report):
        console.out(line)


def print_json(report: st.StatusReport) -> None:
    console.out_json(report.as_dict())


# ---------------------------------------------------------------- the live panel


_VERDICT_STYLE = {st.GREEN: "bold white on green", st.PROGRESSING: "bold black on yellow", st.RED: "bold white on red",
                  st.NOT_DEPLOYED: "bold white on blue"}
_RESULT_WORD = {st.OK: "ok", st.FAIL: "FAIL", st.UNCHECKED: "unchecked"}
_RESULT_STYLE = {st.OK: "green", st.FAIL: "red", st.UNCHECKED: "yellow"}
_STATE_STYLE = {"ready": "green", "succeeded": "green", "progressing": "yellow", "pending": "yellow", "failed": "red"}


def pods_to_show(pods: Sequence[st.PodRow], max_lines: int | None) -> tuple[list[st.PodRow], int]:
    """Abnormal pods first, then the rest, within ``max_lines`` screen lines
    (an abnormal pod takes two); returns (rows, how many healthy ones were left out)."""
    ordered = sorted(pods, key=lambda p: p.state in ("ready", "succeeded"))
    if max_lines is None:
        return ordered, 0
    shown: list[st.PodRow] = []
    used = 0
    for pod in ordered:
        cost = 2 if pod.state == "failed" and pod.last_event else 1
        if used + cost > max_lines and pod.state in ("ready", "succeeded"):
            break
        shown.append(pod)
        used += cost
    return shown, len(ordered) - len(shown)


def fixed_lines(report: st.StatusReport) -> int:
    """Screen lines the panel needs besides the pod rows."""
    lines = 1 + min(len(report.reasons), 6) + 3  # header, reasons, pods title/header/"more"
    if report.procs:
        lines += 2 + len(report.procs)
    if report.jobs or report.cronjobs:
        lines += 2 + len(report.jobs) + len(report.cronjobs)
    if report.logs is not None:
        lines += 1 + min(len(report.logs.lines), 8)
    if report.endpoints:
        lines += 2 + len(report.endpoints) + len({e.hint for e in report.endpoints if e.result == st.UNCHECKED})
    if report.leftovers:
        lines += 1 + len(report.leftovers)
    return lines + (1 if report.tests is not None else 0) + len(report.log_links) + 2


def render(report: st.StatusReport, *, footer: str = "", max_pod_lines: int | None = None,
           width: int = 160) -> Any:
    """The panel for one report, as a rich renderable; with ``max_pod_lines``
    healthy pods beyond that many lines are summarised in one line."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [
        Text.assemble(
            (f" {report.verdict_line} ", _VERDICT_STYLE[report.verdict]),
            f"  {report.app} on {report.cluster}/{report.namespace}  ",
            (report.generated_at, "dim"),
            # the way out stays on screen however small the terminal (the bottom is cropped first)
            (f"  {footer}" if footer else "", "dim"),
        )
    ]
    parts += [Text(f"  - {r}", style="red" if report.verdict == st.RED else "yellow", no_wrap=True,
                   overflow="ellipsis") for r in report.reasons[:6]]

    procs = Table(title="procs", title_justify="left", expand=False, box=None, padding=(0, 2))
    for col in ("proc", "kind", "ready", "updated", "old", "state"):
        procs.add_column(col)
    for p in report.procs:
        procs.add_row(p.name, p.kind, f"{p.ready}/{p.desired}", f"{p.updated}/{p.desired}", f"{p.old or '-'}",
                      Text(p.state, style=_STATE_STYLE.get(p.state, "")))
    if report.procs:
        parts.append(procs)

    pods = Table(title="pods", title_justify="left", box=None, padding=(0, 2))
    shown, hidden = pods_to_show(report.pods, max_pod_lines)
    rows = [(pod.name, pod.status, str(pod.restarts), console.short_age(pod.age_seconds), pod.node or "-") for pod in shown]
    for i, title in enumerate(("pod", "status", "restarts", "age", "node")):
        widest = max([len(title), *(len(row[i]) for row in rows)])
        pods.add_column(title, no_wrap=True, min_width=widest, justify="right" if i in (2, 3) else "left")
    pods.add_column("why", no_wrap=True, overflow="ellipsis")
    room = max(20, width - sum(max([len(t), *(len(r[i]) for r in rows)]) + 2 for i, t in
                               enumerate(("pod", "status", "restarts", "age", "node"))) - 4)
    for pod, row in zip(shown, rows, strict=True):
        why = f"{pod.reason}: {pod.message}" if pod.reason else ""
        lines = [why[:room]] if why else []
        if pod.last_event and pod.state == "failed":
            lines.append(pod.last_event[:room])
        pods.add_row(row[0], Text(row[1], style=_STATE_STYLE.get(pod.state, "")), *row[2:],
                     Text("\n".join(lines), style="red" if pod.state == "failed" else ""))
    if report.pods:
        parts.append(pods)
    if hidden:
        parts.append(Text(f"  ... and {hidden} more healthy pods", style="dim"))

    if report.jobs or report.cronjobs:
        jobs = Table(title="jobs", title_justify="left", box=None, padding=(0, 2))
        for col in ("job", "state", "last run"):
            jobs.add_column(col)
        for job in report.jobs:
            jobs.add_row(job.name, Text(job.state, style=_STATE_STYLE.get(job.state, "")), job.finished or job.started or "-")
        for cron in report.cronjobs:
            jobs.add_row(f"{cron.name} ({cron.schedule})", cron.last_run_state, cron.last_schedule or "never")
        parts.append(jobs)

    if report.logs is not None:
        title = f"error log lines, last {report.logs.window}: {report.logs.total}"
        parts.append(Text(title, style="bold red" if report.logs.total else "dim"))
        for line in report.logs.lines[-8:]:
            parts.append(Text(f"  [{line.pod}/{line.container}] {line.line}", style="red", no_wrap=True,
                              overflow="ellipsis"))

    if report.endpoints:
        eps = Table(title="endpoints", title_justify="left", box=None, padding=(0, 2))
        for col in ("", "code", "latency", "url"):
            eps.add_column(col)
        for ep in report.endpoints:
            eps.add_row(Text(_RESULT_WORD[ep.result], style=_RESULT_STYLE[ep.result]),
                        str(ep.status_code or "---"),
                        f"{ep.latency_ms:.0f} ms" if ep.latency_ms is not None else "-",
                        ep.url + (f"  {ep.error}" if ep.error else ""))
        parts.append(eps)
        for hint in sorted({ep.hint for ep in report.endpoints if ep.result == st.UNCHECKED and ep.hint}):
            parts.append(Text(f"  ({hint})", style="dim"))
    if report.tests is not None:
        parts.append(Text(f"tests: {'passed' if report.tests.ok else 'FAILED'}", style="green" if report.tests.ok else "red"))
    if report.leftovers:
        parts.append(Text("leftovers of other revisions (not counted):", style="dim"))
        parts += [Text(f"  {line}", style="dim", no_wrap=True, overflow="ellipsis") for line in report.leftovers]
    if report.log_links:
        parts += [Text(f"logs: {link.url}", style="dim") for link in report.log_links]

    return Group(*parts)


class _Fitted:
    """A renderable cut to the terminal's height, top first: the verdict and the way
    out stay on screen, and a frame never scrolls the terminal."""

    def __init__(self, renderable: Any, height: int) -> None:
        self.renderable = renderable
        self.height = max(1, height - 1)  # the cursor's own line

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.segment import Segment

        lines = console.render_lines(self.renderable, options, pad=False)
        for number, line in enumerate(lines[: self.height]):
            if number:
                yield Segment.line()
            yield from line


class BackgroundChecks:
    """The log scan and HTTP checks (and helm test, once), refreshed in a thread."""

    def __init__(self, ctx: AppContext, pods_of: Any, *, run_tests: bool = False) -> None:
        self.ctx = ctx
        self._pods_of = pods_of
        self._run_tests = run_tests
        self.logs: st.LogScan | None = None
        self.endpoints: list[st.EndpointCheck] = []
        self.tests: st.TestResult | None = None
        self.release_state: st.ReleaseState | None = None
        self.rounds = 0
        self.requests = 0
        self.changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status-checks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        next_logs = next_http = 0.0
        endpoints = st.app_endpoints(self.ctx)
        _, address = st.ingress_check_override(self.ctx.require_cluster())
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_logs:
                self.logs = st.scan_error_logs(self.ctx.require_cluster(), self.ctx.values.get("errorLogPattern"),
                                               self._pods_of())
                self.requests += 1
                next_logs = now + LOG_SCAN_EVERY
            if now >= next_http:
                self.endpoints = st.check_endpoints(endpoints, address=address)
                self.release_state = st.read_release_state(self.ctx)
                self.requests += len(endpoints) + 1
                next_http = now + HTTP_CHECK_EVERY
            if self._run_tests and self.tests is None:
                self.tests = st.run_helm_tests(self.ctx)
            self.rounds += 1
            self.changed.set()
            self._stop.wait(max(0.1, min(next_logs, next_http) - time.monotonic()))


@contextlib.contextmanager
def cbreak(stream: Any) -> Iterator[bool]:
    """Single keys from ``stream`` without Enter; yields whether keys can be read."""
    try:
        fd = stream.fileno()
        if not os.isatty(fd):
            raise OSError
        import termios
        import tty

        saved = termios.tcgetattr(fd)
    except (OSError, ValueError, AttributeError, ImportError):
        yield False
        return
    try:
        tty.setcbreak(fd)
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_key(stream: Any, timeout: float) -> str:
    """One key if pressed within ``timeout``, else ""."""
    import select

    ready, _, _ = select.select([stream], [], [], max(0.0, timeout))
    if not ready:
        return ""
    data = os.read(stream.fileno(), 32)
    return data.decode(errors="replace") if data else "q"


def run_live(
    ctx: AppContext,
    *,
    exit_on_verdict: bool = False,
    exit_code: bool = False,
    run_tests: bool = False,
    tolerances: Any = None,
    stdin: Any = None,
    max_seconds: float | None = None,
) -> int:
    """The live panel until ``q``/Ctrl-C (or, with ``exit_on_verdict``, until the
    verdict is GREEN or RED once every check has run).  Returns the verdict's
    exit code with ``exit_code``/``exit_on_verdict``, else 0."""
    from rich.console import Console
    from rich.live import Live

    from lain_cli.watch import ReleaseWatch

    stdin = stdin if stdin is not None else sys.stdin
    tol = tolerances or st.status_tolerances()
    selector = st.app_selector(ctx)
    report: st.StatusReport | None = None
    started = time.monotonic()
    with ReleaseWatch(ctx.require_cluster(), selector, kinds=WATCH_KINDS) as watch:
        checks = BackgroundChecks(ctx, lambda: live_pods({k: watch.objects(k) for k in ("pods", "replicasets", "jobs", "statefulsets")}),
                                  run_tests=run_tests)
        checks.start()
        console = Console(highlight=False)
        try:
            with cbreak(stdin) as keys, Live(console=console, auto_refresh=False, transient=False,
                                             vertical_overflow="crop") as live:
                last_draw = 0.0
                seen = -1
                drawn_size = console.size
                while True:
                    if watch.error is not None:
                        raise watch.error
                    now_m = time.monotonic()
                    changed = watch.generation != seen or checks.changed.is_set()
                    resized = console.size != drawn_size
                    if resized:
                        # The terminal changed size: what was drawn for the old one cannot be
                        # overwritten in place (it scrolled); start from a clean screen.
                        console.clear()
                        drawn_size = console.size
                    if resized or (changed and now_m - last_draw >= MIN_REDRAW) or now_m - last_draw >= MAX_REDRAW:
                        seen = watch.generation
                        checks.changed.clear()
                        report = snapshot_report(ctx, watch, checks, tol)
                        footer = "q: quit" + ("" if keys else "  (Ctrl-C: quit)")
                        room = console.size.height - fixed_lines(report)
                        drawn = render(report, footer=footer, max_pod_lines=max(3, room),
                                       width=console.size.width)
                        live.update(_Fitted(drawn, console.size.height), refresh=True)
                        last_draw = now_m
                        if exit_on_verdict and checks.rounds and report.verdict in (st.GREEN, st.RED,
                                                                                      st.NOT_DEPLOYED):
                            break
                    if max_seconds is not None and now_m - started > max_seconds:
                        break
                    if keys:
                        key = read_key(stdin, 0.1)
                        if key and key[0] in "qQ\x1b":
                            break
                    else:
                        watch.wait_for_change(0.1)
        except KeyboardInterrupt:
            pass
        finally:
            checks.stop()
    if report is None:
        return 0
    return report.exit_code if (exit_code or exit_on_verdict) else 0


def snapshot_report(ctx: AppContext, watch: Any, checks: BackgroundChecks, tol: Any) -> st.StatusReport:
    """A report from the watch's cache and the latest background results (no I/O)."""
    listed = {kind: watch.objects(kind) for kind in WATCH_KINDS}
    now = datetime.now(UTC)
    objects, old_jobs, old_pods = st.split_leftovers(listed, checks.release_state)
    events = watch.events()
    ev = st.evaluate(objects, events, now, tol)
    tests = checks.tests
    if checks._run_tests and tests is None:
        ev.progressing = [*ev.progressing, "tests running"]
    return st.build_report(ctx, ev, logs=checks.logs, endpoints=checks.endpoints, tests=tests, now=now,
                           release_state=checks.release_state,
                           leftovers=st.describe_leftovers(old_jobs, old_pods, now, tol, events))


def report_once(ctx: AppContext, *, run_tests: bool = False, tolerances: Any = None) -> st.StatusReport:
    return st.collect(ctx, run_tests=run_tests, tolerances=tolerances)


__all__: Sequence[str] = ("print_summary", "print_json", "render", "run_live", "summary_lines")
