"""The deploy flow (design.md §5) and its siblings: update-image, rollback, wait.

Every change goes through helm (``upgrade --install`` or ``rollback``), never
around it.  helm is not asked to wait for workloads: lain follows the rollout
itself (:mod:`lain_cli.rollout`) and fails fast with the reason, so helm never
sits in a long wait that a failure or Ctrl-C would leave ``pending-upgrade``.
A failed rollout leaves the release ``deployed`` but broken: lain says so,
exits 1, and with ``--rollback-on-failure`` rolls back and follows that too.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lain_cli import console, release, takeover
from lain_cli.errors import EXIT_FAILED, EXIT_OK, LainError, OperationFailed, UsageError
from lain_cli.labels import app_selector

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class DeployOptions:
    timeout: float = 300.0
    wait: bool = True
    build: bool = False
    force_unlock: bool = False
    rollback_on_failure: bool = False
    journal: Journal | None = None  # set for --json: what happened, printed at the end


@dataclass
class Journal:
    """What a release command did, for ``--json`` (CI): each notice-worthy event
    in order, the images, the green-light report, and the outcome.

    With a journal the command prints one JSON document on stdout at the end and
    no live panel or status summary (progress lines still go to stderr).
    """

    action: str = ""
    old_image: str = ""
    new_image: str = ""
    started: float = field(default_factory=time.monotonic)
    events: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] | None = None

    def record(self, kind: str, text: str, details: Sequence[str], plan: Plan) -> None:
        if kind == "deploy-start" or not self.action:
            self.action, self.old_image, self.new_image = plan.action, plan.old_image, plan.new_image
        self.events.append({"kind": kind, "text": text, "details": list(details)})

    def document(self, ctx: Any, exit_code: int) -> dict[str, Any]:
        result = {EXIT_OK: "succeeded", EXIT_INTERRUPTED: "interrupted"}.get(exit_code, "failed")
        return {
            "schemaVersion": 1,
            "action": self.action,
            "app": ctx.appname,
            "release": ctx.release_name,
            "cluster": ctx.cluster.name,
            "namespace": ctx.namespace,
            "oldImage": self.old_image,
            "newImage": self.new_image,
            "result": result,
            "exitCode": exit_code,
            "durationSeconds": round(time.monotonic() - self.started, 3),
            "events": self.events,
            "status": self.status,
        }


@dataclass
class Plan:
    """What one helm operation will do, for notices and messages."""

    action: str  # deploy | update-image | rollback
    old_image: str
    new_image: str
    old_tag: str
    started: float


def reported(ctx: Any, journal: Journal | None, run: Callable[[], int]) -> int:
    """Run a release command; with a journal (``--json``) print its document at the
    end, also when it fails with an error (the error is then re-raised)."""
    if journal is None:
        return run()
    try:
        code = run()
    except LainError as exc:
        doc = journal.document(ctx, exc.exit_code)
        doc["error"] = {"message": exc.message, "hint": exc.hint, "details": exc.details}
        console.out_json(doc)
        raise
    console.out_json(journal.document(ctx, code))
    return code


# ---------------------------------------------------------------- small helpers


def _cluster(ctx: Any) -> Any:
    if ctx.cluster is None:
        raise UsageError("no cluster selected", hint="run `lain use <cluster>` first")
    return ctx.cluster


def _tag_of(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return last.partition(":")[2]


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


class Notices:
    """Webhook notices sent in the background: a slow or dead webhook never slows a deploy."""

    def __init__(self, ctx: Any, plan: Plan, journal: Journal | None = None) -> None:
        self.ctx = ctx
        self.plan = plan
        self.journal = journal
        self._threads: list[threading.Thread] = []
        self._git_log: tuple[str, ...] | None = None

    def git_log(self) -> tuple[str, ...]:
        if self._git_log is None:
            self._git_log = git_log_between(self.ctx.chart_dir.parent, self.plan.old_tag, self.ctx.git_revision)
        return self._git_log

    def send(self, kind: str, text: str = "", details: Sequence[str] = ()) -> None:
        from lain_cli import notify

        if self.journal is not None:
            self.journal.record(kind, text, details, self.plan)
        finished = kind != "deploy-start"
        event = notify.Event(
            kind=kind,  # type: ignore[arg-type]
            app=self.ctx.appname,
            cluster=self.ctx.cluster.name,
            user=self.ctx.user,
            text=text,
            old_image=self.plan.old_image or None,
            new_image=self.plan.new_image or None,
            git_log=self.git_log(),
            duration=(time.monotonic() - self.plan.started) if finished else None,
            details=tuple(details),
        )
        thread = threading.Thread(target=notify.send_event, args=(self.ctx, event), daemon=True)
        thread.start()
        self._threads.append(thread)

    def flush(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


# ---------------------------------------------------------------- locks


def check_lock(ctx: Any, history: list[release.Revision], options: DeployOptions) -> list[release.Revision]:
    """Stop on a pending release (another deploy running, or one left stuck); unlock on request."""
    cluster = _cluster(ctx)
    lock = release.detect_lock(history, release.utcnow(), stale_after=options.timeout)
    if lock is None:
        return history
    who = release.who_holds(cluster, ctx.release_name, lock.revision) or "someone"
    age = release.humanize_age(lock.age(release.utcnow()))
    where = f"release {ctx.release_name} is {lock.status} (revision {lock.revision}), started by {who} {age} ago"
    if not options.force_unlock:
        if not lock.stuck:
            raise OperationFailed(
                f"another deploy is in progress: {where}",
                hint="wait for it (`lain wait`); if that deploy was killed and nothing runs any more, "
                "`lain deploy --force-unlock` recovers the release",
            )
        target = release.rollback_target(history)
        how = f"marks revision {lock.revision} failed"
        if target is not None:
            how += f", rolls back to revision {target.number}"
        raise OperationFailed(
            f"{where}: it is stuck (older than the {options.timeout:g}s deploy timeout)",
            hint=f"`lain deploy --force-unlock` {how} and deploys again",
        )
    if not lock.stuck:
        console.warn(f"{where}; unlocking anyway as asked (--force-unlock)")
    done = release.force_unlock(cluster, ctx.release_name, history)
    console.success(f"unlocked release {ctx.release_name}: {done}")
    return release.read_history(cluster, ctx.release_name)


# ---------------------------------------------------------------- running helm


@dataclass
class HelmRun:
    ok: bool
    interrupted: bool
    report: list[str]
    output: str


def run_helm(ctx: Any, argv: list[str], what: str, run_id: str = "") -> HelmRun:
    """Run a helm upgrade/rollback while following its hook jobs; Ctrl-C is left to helm.

    ``run_id`` is the one the chart stamped on this run's hook Jobs (empty for a
    rollback, whose hooks come from an older revision)."""
    from lain_cli import proc, rollout
    from lain_cli.errors import stderr_tail

    cluster = _cluster(ctx)
    console.step(f"helm {what} {ctx.release_name}")
    failure = None
    with rollout.HookFollower(cluster, ctx.release_name, run_id=run_id) as follower:
        result, interrupted = proc.run_forwarding_interrupt(argv, cancel=follower.cancel)
        if follower.aborted is not None:
            failure = follower.failure() or follower.aborted
        elif not result.ok and not interrupted:
            failure = follower.wait_for_failure(2.0)
    if failure is not None:
        # the log streams have drained now that the follower stopped
        failure.logs = follower.logs_of(failure.job) or failure.logs
    if follower.aborted is not None:
        return HelmRun(False, False, rollout.hook_failure_report(failure or follower.aborted), result.stdout)
    if result.ok and not interrupted:
        return HelmRun(True, False, [], result.stdout)
    if failure is not None:
        return HelmRun(False, False, rollout.hook_failure_report(failure), result.stdout)
    report = [f"helm {what} failed (exit {result.returncode})", *(f"  {ln}" for ln in stderr_tail(result.stdout))]
    return HelmRun(False, interrupted, report, result.stdout)


def explain_state(ctx: Any, previous_good: int | None) -> list[str]:
    """Where the release stands now and what to run next (after Ctrl-C or a helm failure)."""
    from lain_cli.errors import LainError

    try:
        history = release.read_history(_cluster(ctx), ctx.release_name)
    except LainError as exc:
        return [f"could not read the release's state: {exc.message}"]
    head = release.current(history)
    if head is None:
        return [f"release {ctx.release_name} was not created; run `lain deploy` again when ready"]
    lines = [f"release {ctx.release_name} is now {head.status} (revision {head.number})"]
    if head.pending:
        lines.append("run `lain deploy --force-unlock` to recover it, then deploy again")
    elif head.status == "failed":
        running = f"revision {previous_good}" if previous_good else "nothing"
        lines.append(f"the cluster still runs {running}; run `lain deploy` again when ready, or `lain rollback`")
    elif head.status == "deployed":
        lines.append("its rollout was not confirmed: `lain wait` follows it, `lain rollback` goes back")
    return lines


# ---------------------------------------------------------------- the shared tail: track, report, notify


def _success_kind(action: str) -> str:
    return "rollback" if action == "rollback" else "deploy-success"


def follow_rollout(ctx: Any, options: DeployOptions, notices: Notices, action: str) -> int:
    """Track the rollout; report; roll back on failure if asked.  Returns the exit code."""
    from lain_cli import proc, rollout

    if not options.wait:
        console.success(f"{action} of {ctx.release_name} submitted; not waiting for the rollout (--no-wait)")
        notices.send(_success_kind(action), text=f"{action} submitted without waiting for the rollout")
        return EXIT_OK
    console.step(f"tracking the rollout of {ctx.release_name} (timeout {options.timeout:g}s)")
    tracking_started = time.monotonic()
    try:
        outcome = rollout.track(_cluster(ctx), ctx.release_name, timeout=options.timeout,
                                selector=app_selector(ctx))
    except KeyboardInterrupt:
        console.warn(
            f"interrupted: release {ctx.release_name} is deployed, its rollout unconfirmed; "
            "`lain wait` keeps following it, `lain rollback` goes back"
        )
        return EXIT_INTERRUPTED
    if proc.is_verbose():
        console.info(f"rollout tracked in {(time.monotonic() - tracking_started) * 1000:.0f} ms")
    if outcome.ok:
        console.success(f"{action} of {ctx.release_name} is ready ({outcome.duration:.1f}s): {outcome.verdict.summary}")
        notices.send(_success_kind(action), text=f"{action}: {outcome.verdict.summary}")
        return green_light(ctx, outcome, options.journal)
    headline = "timed out" if outcome.timed_out else "failed"
    console.failure(f"rollout of {ctx.release_name} {headline}")
    for line in outcome.report:
        console.failure(line) if line is outcome.report[0] else console.info(line)
    notices.send("deploy-failure", text=f"{action}: rollout {headline}", details=outcome.report[:3])
    console.warn(f"release {ctx.release_name} is deployed but not healthy")
    if options.rollback_on_failure:
        roll_back_after_failure(ctx, options, notices)
    else:
        console.info("`lain rollback` goes back to the previous good revision; `lain logs PROC` shows more logs")
    return EXIT_FAILED


def green_light(ctx: Any, outcome: Any, journal: Journal | None = None) -> int:
    """The end of a successful rollout (design.md §5.8): the live status panel on a
    terminal; without one, the status summary (helm tests included when the app
    declares ``tests``) and its verdict as the exit code (RED: 1).  With a journal
    (``--json``) the report goes into it instead of being printed."""
    from lain_cli import panel, proc, status
    from lain_cli.errors import LainError

    started = time.monotonic()
    try:
        if console.interactive() and journal is None:
            panel.run_live(ctx)
            return EXIT_OK
        report = status.collect(ctx, run_tests=bool(ctx.values.get("tests")))
    except LainError as exc:
        console.warn(f"could not check the green light: {exc.message}")
        return EXIT_OK
    if proc.is_verbose():
        console.info(f"green light checked in {(time.monotonic() - started) * 1000:.0f} ms")
    if journal is not None:
        journal.status = report.as_dict()
    else:
        panel.print_summary(report)
    if report.verdict == status.RED:
        console.failure(f"{ctx.release_name} rolled out, but the green light is red")
        return EXIT_FAILED
    return EXIT_OK


def roll_back_after_failure(ctx: Any, options: DeployOptions, notices: Notices) -> None:
    history = release.read_history(_cluster(ctx), ctx.release_name)
    target = release.rollback_target(history)
    if target is None:
        console.warn("no earlier good revision to roll back to (--rollback-on-failure)")
        return
    console.step(f"rolling back to revision {target.number} (--rollback-on-failure)")
    stamp = release.stamp_of(history, target)
    plan = Plan("rollback", notices.plan.new_image, stamp.image if stamp else "", "", time.monotonic())
    back = Notices(ctx, plan, options.journal)
    rolled = perform_rollback(ctx, target.number, options, back)
    back.flush()
    if rolled == EXIT_OK:
        console.success(f"rolled back to revision {target.number}")


# ---------------------------------------------------------------- deploy


def deploy(ctx: Any, options: DeployOptions) -> int:

    cluster = _cluster(ctx)
    started = time.monotonic()
    new_image = f"{ctx.image_repository}:{ctx.image_tag}"
    if options.build:
        from lain_cli import build

        if not cluster.registry:
            raise UsageError(
                f"cluster {cluster.name} has no registry to push to",
                hint=f"set `registry:` in the cluster file {cluster.source or cluster.name}",
            )
        build.build_and_push(ctx.chart_dir.parent, new_image, ctx.values.get("build") or {})
    live = takeover.prefetch(ctx)  # read alongside helm history: a lain4 release keeps its selectors, names
    history = check_lock(ctx, release.read_history(cluster, ctx.release_name), options)
    previous = release.last_deployed(history)
    old_stamp = release.stamp_of(history, previous) if previous else None
    values = takeover.chart_values(ctx, live)
    images = release.flat_images(values["lain"]["images"])
    plan = Plan("deploy", old_stamp.image if old_stamp else "", new_image, _tag_of(old_stamp.image) if old_stamp else "", started)
    notices = Notices(ctx, plan, options.journal)
    notices.send("deploy-start")
    description = release.describe("deploy", ctx.user, images, new_image)
    previous_good = previous.number if previous else None
    return upgrade(ctx, options, notices, values, description, "deploy", previous_good)


def upgrade(
    ctx: Any,
    options: DeployOptions,
    notices: Notices,
    values: dict[str, Any],
    description: str,
    action: str,
    previous_good: int | None,
) -> int:
    """``helm upgrade --install`` of the built-in chart with ``values``, then the
    shared tail (track, report, notify).  Notices are flushed on every path."""
    from lain_cli import chart, helm, tools

    tool = tools.helm()
    what = "upgrade --install" if action == "deploy" else "upgrade"
    run_id = uuid.uuid4().hex[:16]
    values = {**values, "lain": {**values["lain"], "runId": run_id}}
    try:
        with chart.staged_chart(ctx.release_name, ctx.image_tag, values) as chart_dir:
            argv = helm.upgrade_argv(
                tool.path, tool.major, ctx.release_name, chart_dir,
                cluster_args=_cluster(ctx).helm_args(), description=description, timeout=options.timeout,
            )
            run = run_helm(ctx, argv, what, run_id)
        return finish(ctx, options, notices, run, action, previous_good)
    finally:
        notices.flush()


def finish(ctx: Any, options: DeployOptions, notices: Notices, run: HelmRun, action: str, previous_good: int | None) -> int:
    if run.interrupted:
        console.warn("interrupted: helm stopped cleanly")
        for line in explain_state(ctx, previous_good):
            console.info(line)
        notices.send("deploy-failure", text=f"{action} interrupted (Ctrl-C)")
        return EXIT_INTERRUPTED
    if not run.ok:
        console.failure(run.report[0])
        for line in run.report[1:]:
            console.info(line)
        for line in explain_state(ctx, previous_good):
            console.info(line)
        notices.send("deploy-failure", text=f"{action}: {run.report[0]}", details=run.report[1:3])
        return EXIT_FAILED
    return follow_rollout(ctx, options, notices, action)


# ---------------------------------------------------------------- update-image


def image_sections(ctx: Any) -> dict[str, str]:
    """proc -> section under ``lain.images`` for every proc update-image may touch."""
    from lain_cli import schema

    found: dict[str, str] = {}
    for section in schema.WORKLOAD_KINDS:
        for name in ctx.images.get(section, {}):
            found.setdefault(name, section)
    return found


def update_image(ctx: Any, procs: Sequence[str], options: DeployOptions) -> int:
    """Roll the new image to ``procs`` only: every other value stays exactly as deployed."""

    cluster = _cluster(ctx)
    sections = image_sections(ctx)
    unknown = [p for p in procs if p not in sections]
    if unknown:
        raise UsageError(
            f"unknown proc{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"procs of {ctx.appname}: {', '.join(sorted(sections)) or 'none'}",
        )
    started = time.monotonic()
    history = check_lock(ctx, release.read_history(cluster, ctx.release_name), options)
    previous = release.last_deployed(history)
    if previous is None:
        raise OperationFailed(
            f"release {ctx.release_name} has no deployed revision to update", hint="run `lain deploy` first"
        )
    deployed = release.read_values(cluster, ctx.release_name)
    values = copy.deepcopy(deployed)
    images = (values.get("lain") or {}).get("images") or {}
    changes = []
    for proc in procs:
        section = sections[proc]
        if proc not in (images.get(section) or {}):
            raise UsageError(
                f"proc {proc} is not part of the deployed release {ctx.release_name}",
                hint="a new proc needs a full `lain deploy`",
            )
        new = ctx.image_of(proc)
        changes.append((proc, images[section][proc], new))
        images[section][proc] = new
    new_flat = release.flat_images(images)
    plan = Plan(
        "update-image",
        ", ".join(f"{p}={old}" for p, old, _ in changes),
        ", ".join(f"{p}={new}" for p, _, new in changes),
        _tag_of(changes[0][1]),
        started,
    )
    notices = Notices(ctx, plan, options.journal)
    notices.send("deploy-start", text=f"update-image {' '.join(procs)}")
    for proc, old, new in changes:
        console.info(f"{proc}: {old} -> {new}")
    description = release.describe("update-image", ctx.user, new_flat)
    return upgrade(ctx, options, notices, values, description, "update-image", previous.number)


# ---------------------------------------------------------------- rollback


def rollback(ctx: Any, revision: int | None, options: DeployOptions) -> int:
    cluster = _cluster(ctx)
    history = check_lock(ctx, release.read_history(cluster, ctx.release_name), options)
    if not history:
        raise OperationFailed(f"release {ctx.release_name} is not installed on {cluster.name}")
    head = history[-1]
    if revision is None:
        target = release.rollback_target(history)
        if target is None:
            raise OperationFailed(
                f"release {ctx.release_name} has no good revision before {head.number} to roll back to",
                hint="`lain history` lists the revisions",
            )
    else:
        found = [r for r in history if r.number == revision]
        if not found:
            known = ", ".join(str(r.number) for r in history)
            raise UsageError(f"release {ctx.release_name} has no revision {revision}", hint=f"revisions: {known}")
        target = found[0]
    stamp = release.stamp_of(history, target)
    what = f" ({stamp.image})" if stamp else ""
    console.step(f"rolling back {ctx.release_name} from revision {head.number} to revision {target.number}{what}")
    current_stamp = release.stamp_of(history, release.last_deployed(history) or head)
    plan = Plan(
        "rollback",
        current_stamp.image if current_stamp else "",
        stamp.image if stamp else "",
        "",
        time.monotonic(),
    )
    notices = Notices(ctx, plan, options.journal)
    try:
        return perform_rollback(ctx, target.number, options, notices)
    finally:
        notices.flush()


def perform_rollback(ctx: Any, revision: int, options: DeployOptions, notices: Notices) -> int:
    from lain_cli import helm, tools

    tool = tools.helm()
    argv = helm.rollback_argv(
        tool.path, tool.major, ctx.release_name, revision, cluster_args=_cluster(ctx).helm_args(),
        timeout=options.timeout,
    )
    run = run_helm(ctx, argv, f"rollback to {revision}")
    follow_options = DeployOptions(timeout=options.timeout, wait=options.wait, journal=options.journal)
    return finish(ctx, follow_options, notices, run, "rollback", None)


# ---------------------------------------------------------------- wait


def wait(
    ctx: Any,
    timeout: float,
    on_progress: Callable[[str], None] | None = None,
    journal: Journal | None = None,
) -> int:
    """Block until every workload of the release is ready (jobs complete); 1 on failure or timeout."""
    from lain_cli import rollout

    cluster = _cluster(ctx)
    printer = rollout.ProgressPrinter(on_progress)
    outcome = rollout.track(cluster, ctx.release_name, timeout=timeout, printer=printer,
                            selector=app_selector(ctx))
    if journal is not None:
        journal.action = "wait"
        kind = "ready" if outcome.ok else ("timed-out" if outcome.timed_out else "failed")
        journal.events.append({"kind": kind, "text": outcome.verdict.summary, "details": list(outcome.report)})
    if outcome.ok:
        console.success(f"{ctx.release_name} is ready: {outcome.verdict.summary}")
        return EXIT_OK
    console.failure(outcome.report[0])
    for line in outcome.report[1:]:
        console.info(line)
    return EXIT_FAILED


def parse_duration(text: str) -> float:
    """``--timeout`` as seconds: ``300``, ``90s``, ``5m``, ``1m30s``, ``1h`` (lain_cli.durations)."""
    from lain_cli.durations import parse_duration as parse

    return parse(text, "--timeout")
