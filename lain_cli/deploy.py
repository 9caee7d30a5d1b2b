"""The release flow (design.md §5): deploy, update-image, rollback and wait.

One way through, in this order: take the release's lock, read the history,
decide the plan (:mod:`lain_cli.release_plan`), run helm through its executor
while the tracker follows the hook jobs, track the rollout, record the verdict
with the revision, check the green light, report.  Every step hands typed
events (:mod:`lain_cli.events`) to the reporters; nothing here prints.

helm is not asked to wait for workloads: lain follows the rollout itself and
fails fast with the reason, so helm never sits in a long wait that a failure
or Ctrl-C would leave ``pending-upgrade``.  A failed rollout leaves the release
``deployed`` but broken: lain records that verdict on the revision (rollbacks
skip it), exits 1 and, with ``--rollback-on-failure``, rolls back.

The exit code is the outcome's, on a terminal or not; the live panel, when
there is a terminal, opens only once the outcome is known.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from lain_cli import events as ev
from lain_cli import proc, release, release_plan
from lain_cli.clusters import Cluster
from lain_cli.context import AppContext
from lain_cli.deadline import Deadline
from lain_cli.errors import (
    EXIT_FAILED,
    EXIT_OK,
    ClusterError,
    LainError,
    OperationFailed,
    UsageError,
)
from lain_cli.executors import Helm, HelmExecutor, Kubectl, KubectlExecutor
from lain_cli.interrupts import Interrupted, as_interrupted
from lain_cli.labels import app_selector
from lain_cli.lock import ReleaseLock
from lain_cli.release_plan import ReleasePlan
from lain_cli.reporters import Journal, Reporters, TerminalReporter
from lain_cli.sharedproxy import SharedProxy

__all__ = ["DeployOptions", "Journal", "deploy", "update_image", "rollback", "wait", "parse_duration",
           "reported", "image_sections"]


@dataclass(frozen=True)
class DeployOptions:
    timeout: float = 300.0
    wait: bool = True
    build: bool = False
    force_unlock: bool = False
    even_if_alive: bool = False
    rollback_on_failure: bool = False
    panel: bool = True  # on a terminal, open the live panel once the outcome is known
    journal: Journal | None = None  # set for --json: what happened, printed at the end


# ---------------------------------------------------------------- what the flow needs from the cluster


class HookWatch(Protocol):
    """Follows this helm run's hook jobs (see :class:`lain_cli.rollout.HookFollower`)."""

    cancel: threading.Event
    aborted: Any
    lost: ClusterError | None

    def failure(self) -> Any: ...

    def wait_for_failure(self, patience: float) -> Any: ...

    def logs_of(self, job: str) -> list[str]: ...


class Tracker(Protocol):
    """Follows a release on the cluster: hooks while helm runs, then the rollout."""

    def hooks(self, run_id: str, emit: ev.Emit) -> AbstractContextManager[HookWatch]: ...

    def rollout(self, timeout: float, emit: ev.Emit) -> Any: ...  # lain_cli.rollout.Outcome

    def green_light(self, run_tests: bool) -> Any: ...  # lain_cli.status.StatusReport


class ClusterTracker:
    """The real tracker: kubectl watches of the release (lain_cli.rollout) and the status checks."""

    def __init__(self, ctx: AppContext, cluster: Cluster, proxy: SharedProxy | None = None) -> None:
        self.ctx = ctx
        self.cluster = cluster
        self.proxy = proxy  # the command's, when one runs: the green light reads through it

    @contextmanager
    def hooks(self, run_id: str, emit: ev.Emit) -> Iterator[HookWatch]:
        from lain_cli import rollout

        with rollout.HookFollower(self.cluster, self.ctx.release_name, run_id=run_id, emit=emit) as follower:
            yield follower

    def rollout(self, timeout: float, emit: ev.Emit) -> Any:
        from lain_cli import rollout

        # app_selector: also the pods of procs that keep a lain4 release's selectors
        return rollout.track(self.cluster, self.ctx.release_name, timeout=timeout, emit=emit,
                             selector=app_selector(self.ctx))

    def green_light(self, run_tests: bool) -> Any:
        from lain_cli import status

        return status.collect(self.ctx, run_tests=run_tests,
                              api=self.proxy.serving() if self.proxy is not None else None)


@dataclass
class Tools:
    """The executors and the tracker of one command, built once (fakes in unit tests)."""

    helm: HelmExecutor
    kubectl: KubectlExecutor
    tracker: Tracker
    deadline: Deadline
    # The chart values of a deploy, from the context and the release's history: the
    # context's own, or (real tools) with what a lain4 release on the cluster needs kept.
    chart_values: Callable[[AppContext, Sequence[release.Revision]], dict[str, Any]] | None = None
    # One kubectl proxy for the requests of a release's last phase (started while helm
    # runs): the lock's and the verdict's writes, the green light's reads.
    proxy: SharedProxy | None = None

    @classmethod
    def for_context(cls, ctx: AppContext, timeout: float, *, adopt: bool = False, preview: bool = False) -> Tools:
        """``adopt``: read a lain4 release's live selectors when they may matter
        (``preview``: worded as what a deploy would do, for a dry run)."""
        cluster = ctx.require_cluster()
        deadline = Deadline(timeout)
        proxy = SharedProxy(cluster)
        tools = cls(Helm.for_cluster(cluster, deadline), Kubectl(cluster, deadline, proxy),
                    ClusterTracker(ctx, cluster, proxy), deadline, proxy=proxy)
        if adopt:
            tools.chart_values = lambda c, history: adopting_values(c, history, deadline, preview=preview)
        return tools

    def values_of(self, ctx: AppContext, history: Sequence[release.Revision]) -> dict[str, Any]:
        return self.chart_values(ctx, history) if self.chart_values is not None else ctx.chart_values()


def adopting_values(ctx: AppContext, history: Sequence[release.Revision], deadline: Deadline, *,
                    preview: bool = False) -> dict[str, Any]:
    """The chart values of a deploy: the live objects are read first (lain_cli.takeover)
    unless the history shows they carry lain's own selectors."""
    if not release_plan.live_objects_matter(history):
        return ctx.chart_values()
    from lain_cli import takeover
    from lain_cli.kube import REQUEST_TIMEOUT

    live = takeover.read_live(ctx, deadline.budget(REQUEST_TIMEOUT))
    return takeover.chart_values(ctx, live, preview=preview)


def reported(ctx: AppContext, journal: Journal | None, run: Callable[[], int]) -> int:
    """Run a release command; with a journal (``--json``) print its document at the
    end, also when it fails with an error (the error is then re-raised)."""
    from lain_cli import console

    if journal is None:
        return run()
    try:
        code = run()
    except LainError as exc:
        doc = journal.document(ctx, exc.exit_code)
        doc["error"] = {"message": exc.message, "hint": exc.hint, "details": exc.details}
        console.out_json(doc)
        raise
    except KeyboardInterrupt as exc:
        console.out_json(journal.document(ctx, as_interrupted(exc).exit_code))
        raise
    console.out_json(journal.document(ctx, code))
    return code


# ---------------------------------------------------------------- the lock


@dataclass
class Held:
    """The release's lock, held, and the history read under it."""

    lock: ReleaseLock
    history: list[release.Revision]


@contextmanager
def locked(ctx: AppContext, tools: Tools, options: DeployOptions, command: str,
           emit: ev.Emit, *, read_ahead: bool = False) -> Iterator[Held]:
    """Hold the release's lock for the block; yields its history, with a pending
    revision dealt with (refused, or unlocked on ``--force-unlock``).

    With ``read_ahead`` the history is read while the lock is taken.  That read
    can only miss the previous holder's last write (the verdict text it records
    just before it lets go) when the lock was there to take over; it is then
    read again.  The revisions and their statuses, which a deploy's plan uses,
    were final before that."""
    from lain_cli import warm
    from lain_cli.background import Background

    warm.in_background(warm.RELEASE_MODULES, delay=0.01)  # while the cluster answers (once asked)
    lock = ReleaseLock(tools.kubectl, ctx.release_name, user=ctx.user, command=command,
                       steal=options.force_unlock and options.even_if_alive)
    try:
        with ExitStack() as stack:
            early = (stack.enter_context(Background(tools.helm.history, ctx.release_name, name="history-ahead"))
                     if read_ahead else None)
            with lock:
                if lock.stolen_from is not None:
                    emit(ev.Warning(f"took the release's lock from {lock.stolen_from.description} (--even-if-alive)"))
                if early is not None and not lock.took_over:
                    history = early.result()
                else:
                    history = tools.helm.history(ctx.release_name)
                yield Held(lock, settle_pending(ctx, tools, options, history, emit))
    finally:
        if tools.proxy is not None:
            tools.proxy.close()  # after the lock's release, which may have gone through it


def settle_pending(ctx: AppContext, tools: Tools, options: DeployOptions, history: list[release.Revision],
                   emit: ev.Emit) -> list[release.Revision]:
    head = release.current(history)
    pending_user = ""
    if head is not None and head.pending:
        try:
            pending_user = release.release_user(tools.helm.values(ctx.release_name, head.number))
        except LainError:
            pending_user = ""
    verdict = release_plan.lock_verdict(
        history, release.utcnow(), timeout=options.timeout, force_unlock=options.force_unlock,
        even_if_alive=options.even_if_alive, pending_user=pending_user, release_name=ctx.release_name,
    )
    if verdict.action == "proceed":
        return history
    if verdict.action == "refuse":
        raise OperationFailed(verdict.message, hint=verdict.hint)
    emit(ev.Warning(f"{verdict.message}; unlocking as asked (--force-unlock)"))
    done = release.force_unlock(tools.helm, tools.kubectl, ctx.release_name, history,
                                timeout=tools.deadline.budget(options.timeout))
    emit(ev.Success(f"unlocked release {ctx.release_name}: {done}"))
    return tools.helm.history(ctx.release_name)


# ---------------------------------------------------------------- one helm operation, tracked


@dataclass
class HelmOutcome:
    ok: bool
    interrupted: Interrupted | None
    report: list[str]
    hook_failure: Any = None
    lost: ClusterError | None = None


class ReleaseRun:
    """One helm upgrade or rollback of a plan: helm with its hooks followed, the
    rollout tracked, the verdict recorded, the green light, the notices."""

    def __init__(self, ctx: AppContext, options: DeployOptions, tools: Tools, plan: ReleasePlan,
                 emit: Reporters, history: Sequence[release.Revision], lock: ReleaseLock | None = None) -> None:
        self.ctx = ctx
        self.lock = lock
        self.options = options
        self.tools = tools
        self.plan = plan
        self.emit = emit
        self.revision = (history[-1].number + 1) if history else 1
        self.helm_ok: bool | None = None  # None until helm has run
        self.rollout_known = False  # the rollout's verdict is in (and recorded)
        self._recording: threading.Thread | None = None
        self._record: dict[str, Any] | None = None  # helm's record of the revision, read ahead
        self._reading: threading.Thread | None = None

    # -- helm -----------------------------------------------------------------

    def run_helm(self, argv: list[str], what: str, run_id: str) -> HelmOutcome:
        """Run helm while following its hook jobs; a hook that cannot succeed, or a
        lost cluster, stops helm at once (cleanly, so it records the revision failed)."""
        from lain_cli import helm as helm_text
        from lain_cli import rollout

        self.emit(ev.Step(f"helm {what} {self.ctx.release_name}"))
        from lain_cli import warm

        warm.in_background(warm.GREEN_LIGHT_MODULES, delay=0.03)  # while helm runs
        if self.tools.proxy is not None:
            self.tools.proxy.start(delay=0.03)  # serving by the time the rollout is tracked
        failure = None
        with self.tools.tracker.hooks(run_id, self.emit) as follower:
            run = self.tools.helm.upgrade(argv, cancel=follower.cancel, timeout=self.tools.deadline.remaining())
            self.helm_ok = run.ok and run.interrupted is None
            if follower.aborted is not None:
                failure = follower.failure() or follower.aborted
            elif not run.ok and run.interrupted is None and follower.lost is None:
                failure = follower.wait_for_failure(2.0)
        lost = follower.lost
        if failure is not None:
            # the log streams have drained now that the follower stopped
            failure.logs = follower.logs_of(failure.job) or failure.logs
            return HelmOutcome(False, run.interrupted, rollout.hook_failure_report(failure), failure, lost)
        if run.ok and run.interrupted is None:
            return HelmOutcome(True, None, [], None, lost)
        report = [f"helm {what} failed (exit {run.returncode})",
                  *(f"  {ln}" for ln in helm_text.error_lines(run.output))]
        if run.timed_out:
            report[0] = f"helm {what} did not finish within --timeout {self.options.timeout:g}s"
        return HelmOutcome(False, run.interrupted, report, None, lost)

    # -- the verdict, kept with the revision ---------------------------------

    def record(self, verdict: str) -> None:
        """Write ``verdict`` into this revision's description, in the background
        (it is joined in :meth:`finish`): ``lain history`` shows it, rollbacks skip
        revisions whose rollout failed."""
        description = release.with_verdict(self.plan.description, verdict)
        self.finish()  # one write at a time, the last one wins

        def write() -> None:
            if self._reading is not None:
                self._reading.join(timeout=self.tools.deadline.budget(30.0))
            known, self._record = self._record, None
            try:
                release.record_description(self.tools.kubectl, self.ctx.release_name, self.revision, description,
                                           known)
            except LainError as exc:
                self.emit(ev.Warning(f"could not record the verdict on revision {self.revision}: {exc.message}"))

        self._recording = threading.Thread(target=write, name="record-verdict", daemon=True)
        self._recording.start()

    def read_record_ahead(self) -> None:
        """Read helm's record of the new revision in the background while the rollout
        is tracked, so recording the verdict is one write on the way out."""
        name = release.storage_secret_name(self.ctx.release_name, self.revision)

        def read() -> None:
            try:
                self._record = self.tools.kubectl.get_json("secret", name)
            except LainError:
                self._record = None

        self._reading = threading.Thread(target=read, name="read-record", daemon=True)
        self._reading.start()

    def finish(self) -> None:
        if self._recording is not None:
            self._recording.join(timeout=self.tools.deadline.budget(30.0))

    # -- the whole operation ---------------------------------------------------

    def helm_failed(self, outcome: HelmOutcome) -> int:
        action = self.plan.action
        if outcome.interrupted is not None:
            signal_ = outcome.interrupted
            self.emit(ev.Warning(f"interrupted ({signal_.what}): helm stopped cleanly"))
            for line in explain_state(self.tools.helm, self.ctx.release_name, self.plan.previous_good):
                self.emit(ev.Info(line))
            self.record(release.verdict_text("helm-failed", f"interrupted ({signal_.what})"))
            self.emit(ev.Notice("deploy-failure", f"{action} interrupted ({signal_.what})"))
            return signal_.exit_code
        if outcome.lost is not None and outcome.hook_failure is None:
            self.emit(ev.Notice("deploy-failure", f"{action}: lost the cluster while helm ran"))
            raise ClusterError(
                f"lost cluster {self.ctx.require_cluster().name} while helm {self.plan.helm_verb} ran: "
                f"{outcome.lost.message}",
                details=outcome.lost.details[-2:],
                hint="check the network / VPN; once the cluster answers, `lain history` shows where the "
                "release stands and `lain deploy` retries",
            )
        self.emit(ev.Failure(outcome.report[0], tuple(outcome.report[1:])))
        for line in explain_state(self.tools.helm, self.ctx.release_name, self.plan.previous_good):
            self.emit(ev.Info(line))
        if outcome.hook_failure is not None:
            hook = outcome.hook_failure
            self.record(release.verdict_text("hook-failed", f"job {hook.job} {hook.reason}"))
        else:
            self.record(release.verdict_text("helm-failed", outcome.report[0]))
        self.emit(ev.Notice("deploy-failure", f"{action}: {outcome.report[0]}", tuple(outcome.report[1:])))
        return EXIT_FAILED

    def through(self, run_helm: Callable[[], HelmOutcome]) -> int:
        """The whole operation: helm (``run_helm``), then the rollout or the failure
        report; a signal in any phase is reported as such.  Returns the exit code."""
        try:
            outcome = run_helm()
            return self.follow_rollout() if outcome.ok else self.helm_failed(outcome)
        except KeyboardInterrupt as exc:
            return self.interrupted(as_interrupted(exc))
        finally:
            self.finish()

    def interrupted(self, signal_: Interrupted) -> int:
        """A signal outside helm's run (which handles its own): before helm started,
        nothing changed; after it succeeded, the rollout is unconfirmed."""
        action = self.plan.action
        name = self.ctx.release_name
        if self.rollout_known:
            self.emit(ev.Warning(f"interrupted ({signal_.what}) after the rollout was judged: "
                                 "`lain status` shows the green light"))
        elif self.helm_ok:
            self.record(release.verdict_text("unconfirmed", f"interrupted ({signal_.what})"))
            self.emit(ev.Warning(
                f"interrupted ({signal_.what}): release {name} is deployed, its rollout unconfirmed; "
                "`lain wait` keeps following it, `lain rollback` goes back"
            ))
            self.emit(ev.Notice("deploy-failure", f"{action} interrupted ({signal_.what}) while tracking"))
        elif self.helm_ok is None:
            self.emit(ev.Warning(f"interrupted ({signal_.what}) before helm ran: release {name} is unchanged"))
            self.emit(ev.Notice("deploy-failure", f"{action} interrupted ({signal_.what}) before it started"))
        else:
            self.emit(ev.Warning(f"interrupted ({signal_.what})"))
        return signal_.exit_code

    def follow_rollout(self) -> int:
        """Track the rollout; record and report the verdict; roll back on failure if asked."""
        action = self.plan.action
        name = self.ctx.release_name
        if not self.options.wait:
            self.record(release.verdict_text("not-tracked", "--no-wait"))
            self.emit(ev.Success(f"{action} of {name} submitted; not waiting for the rollout (--no-wait)"))
            self.emit(ev.Notice(success_kind(action), f"{action} submitted without waiting for the rollout"))
            return EXIT_OK
        remaining = self.tools.deadline.remaining()
        self.read_record_ahead()
        self.emit(ev.Step(f"tracking the rollout of {name} (timeout {remaining:.0f}s)"))
        tracking_started = time.monotonic()
        try:
            outcome = self.tools.tracker.rollout(remaining, self.emit)
        except ClusterError as exc:
            self.record(release.verdict_text("unconfirmed", "lost the cluster while tracking"))
            self.emit(ev.Notice("deploy-failure", f"{action}: lost the cluster while tracking the rollout"))
            raise ClusterError(f"lost cluster {self.ctx.require_cluster().name} while tracking the rollout: {exc.message}",
                               details=exc.details, hint=exc.hint) from exc
        self.rollout_known = True
        if proc.is_verbose():
            self.emit(ev.Info(f"rollout tracked in {(time.monotonic() - tracking_started) * 1000:.0f} ms"))
        if outcome.ok:
            self.record(release.verdict_text("ready"))
            self.emit(ev.Success(f"{action} of {name} is ready ({outcome.duration:.1f}s): {outcome.verdict.summary}"))
            self.emit(ev.Notice(success_kind(action), f"{action}: {outcome.verdict.summary}"))
            return self.green_light()
        headline = "timed out" if outcome.timed_out else "failed"
        kind = "timed-out" if outcome.timed_out else "failed"
        self.record(release.verdict_text(kind, _verdict_detail(outcome)))
        self.emit(ev.Failure(f"rollout of {name} {headline}"))
        self.emit(ev.Failure(outcome.report[0], tuple(outcome.report[1:])))
        self.emit(ev.Notice("deploy-failure", f"{action}: rollout {headline}", tuple(outcome.report)))
        self.emit(ev.Warning(f"release {name} is deployed but not healthy"))
        if self.options.rollback_on_failure:
            self.finish()  # the verdict first: the rollback target must skip this revision
            roll_back_after_failure(self.ctx, self.options, self.tools, self.revision, self.emit)
        else:
            self.emit(ev.Info("`lain rollback` goes back to the previous good revision; "
                              "`lain logs PROC` shows more logs"))
        return EXIT_FAILED

    def green_light(self) -> int:
        """The end of a successful rollout (design.md §5.8): the status summary (helm
        tests included when the app declares ``tests``) and its verdict as the exit
        code (RED: 1); with ``--json`` the report goes into the journal instead."""
        from lain_cli import panel, status

        journal = self.options.journal
        if self.lock is not None:
            # The changes are done once the verdict is written; the green light only reads.
            self.lock.release_in_background(after=self.finish)
        started = time.monotonic()
        try:
            report = self.tools.tracker.green_light(bool(self.ctx.values.get("tests")))
        except LainError as exc:
            self.emit(ev.Warning(f"could not check the green light: {exc.message}"))
            return EXIT_OK
        if proc.is_verbose():
            self.emit(ev.Info(f"green light checked in {(time.monotonic() - started) * 1000:.0f} ms"))
        if journal is not None:
            journal.status = report.as_dict()
        else:
            panel.print_summary(report)
        if report.verdict == status.RED:
            self.emit(ev.Failure(f"{self.ctx.release_name} rolled out, but the green light is red"))
            return EXIT_FAILED
        return EXIT_OK


def _verdict_detail(outcome: Any) -> str:
    failure = outcome.verdict.first_failure() if outcome.verdict is not None else None
    if failure is None:
        return outcome.report[0] if outcome.report else ""
    return f"{failure.workload.component or failure.workload.name} {failure.problem.reason}"


def success_kind(action: str) -> str:
    return "rollback" if action == "rollback" else "deploy-success"


def explain_state(helm: HelmExecutor, release_name: str, previous_good: int | None) -> list[str]:
    """Where the release stands now and what to run next (after an interrupt or a helm failure)."""
    try:
        history = helm.history(release_name)
    except LainError as exc:
        return [f"could not read the release's state: {exc.message}"]
    head = release.current(history)
    if head is None:
        return [f"release {release_name} was not created; run `lain deploy` again when ready"]
    lines = [f"release {release_name} is now {head.status} (revision {head.number})"]
    if head.pending:
        lines.append("run `lain deploy --force-unlock` to recover it, then deploy again")
    elif head.status == "failed":
        running = f"revision {previous_good}" if previous_good else "nothing"
        lines.append(f"the cluster still runs {running}; run `lain deploy` again when ready, or `lain rollback`")
    elif head.status == "deployed":
        lines.append("its rollout was not confirmed: `lain wait` follows it, `lain rollback` goes back")
    return lines


def open_panel(ctx: AppContext, options: DeployOptions, code: int) -> None:
    """On a terminal, the live panel once the outcome is known (``q`` leaves it)."""
    from lain_cli import console, panel

    if not options.panel or options.journal is not None or not console.interactive():
        return
    if code != EXIT_OK and code != EXIT_FAILED:
        return
    console.info(f"opening the live panel: q leaves it; lain then exits {code} "
                 f"({'success' if code == EXIT_OK else 'failure'}); --no-panel skips it")
    try:
        panel.run_live(ctx)
    except LainError as exc:
        console.warn(f"could not open the live panel: {exc.message}")


def upgrade(ctx: AppContext, options: DeployOptions, tools: Tools, plan: ReleasePlan,
            held: Held, emit: Reporters) -> int:
    """``helm upgrade --install`` of the built-in chart with the plan's values, then
    the shared tail (track, record, report, notify)."""
    from lain_cli import chart

    assert plan.values is not None
    run = ReleaseRun(ctx, options, tools, plan, emit, held.history, held.lock)
    run_id = os.urandom(8).hex()
    values = {**plan.values, "lain": {**plan.values["lain"], "runId": run_id}}

    def run_helm() -> HelmOutcome:
        with chart.staged_chart(ctx.release_name, ctx.image_tag, values) as chart_dir:
            argv = tools.helm.upgrade_argv(ctx.release_name, chart_dir, description=plan.description,
                                           timeout=tools.deadline.remaining())
            return run.run_helm(argv, plan.helm_verb, run_id)

    return run.through(run_helm)


def perform_rollback(ctx: AppContext, options: DeployOptions, tools: Tools, plan: ReleasePlan,
                     history: Sequence[release.Revision], emit: Reporters, lock: ReleaseLock | None) -> int:
    assert plan.target is not None
    target = plan.target
    run = ReleaseRun(ctx, options, tools, plan, emit, history, lock)

    def run_helm() -> HelmOutcome:
        # helm's own description says "Rollback to N"; lain's (with the verdict) says who, and the images
        argv = tools.helm.rollback_argv(ctx.release_name, target, timeout=tools.deadline.remaining())
        return run.run_helm(argv, f"rollback to {target}", "")

    return run.through(run_helm)


def roll_back_after_failure(ctx: AppContext, options: DeployOptions, tools: Tools, failed: int,
                            emit: ev.Emit) -> None:
    history = tools.helm.history(ctx.release_name)
    try:
        plan = release_plan.plan_rollback(ctx.release_name, ctx.user, history, None, before=failed)
    except LainError:
        emit(ev.Warning("no earlier revision that rolled out to roll back to (--rollback-on-failure)"))
        return
    emit(ev.Step(f"rolling back to revision {plan.target}, {plan.target_note}{_skipped_note(plan)} "
                 "(--rollback-on-failure)"))
    back = Reporters(ctx, plan.images, options.journal)
    try:
        follow = DeployOptions(timeout=options.timeout, wait=options.wait, panel=False, journal=options.journal)
        code = perform_rollback(ctx, follow, tools, plan, history, back, None)
    finally:
        back.flush()
    if code == EXIT_OK:
        emit(ev.Success(f"rolled back to revision {plan.target}"))


def _skipped_note(plan: ReleasePlan) -> str:
    if not plan.skipped:
        return ""
    numbers = ", ".join(str(n) for n in plan.skipped)
    return f"; skipped revision{'s' if len(plan.skipped) > 1 else ''} {numbers}: rollout failed"


# ---------------------------------------------------------------- the commands


def deploy(ctx: AppContext, options: DeployOptions, tools: Tools | None = None) -> int:
    ctx.require_cluster()
    tools = tools or Tools.for_context(ctx, options.timeout, adopt=True)
    new_image = f"{ctx.image_repository}:{ctx.image_tag}"
    terminal = TerminalReporter()
    if options.build:
        from lain_cli import build

        build.build_and_push(ctx)
    with locked(ctx, tools, options, "deploy", terminal, read_ahead=True) as held:
        plan = release_plan.plan_deploy(ctx.release_name, ctx.user, new_image, tools.values_of(ctx, held.history), held.history)
        emit = Reporters(ctx, plan.images, options.journal)
        try:
            emit(ev.Notice("deploy-start"))
            code = upgrade(ctx, options, tools, plan, held, emit)
        finally:
            emit.flush()
    open_panel(ctx, options, code)
    return code


def image_sections(ctx: AppContext) -> dict[str, str]:
    """proc -> section under ``lain.images`` for every proc update-image may touch."""
    from lain_cli import schema

    found: dict[str, str] = {}
    for section in schema.WORKLOAD_KINDS:
        for name in ctx.images.get(section, {}):
            found.setdefault(name, section)
    return found


def update_image(ctx: AppContext, procs: Sequence[str], options: DeployOptions, tools: Tools | None = None) -> int:
    """Roll the new image to ``procs`` only: every other value stays exactly as deployed."""
    sections = image_sections(ctx)
    unknown = [p for p in procs if p not in sections]
    if unknown:
        raise UsageError(
            f"unknown proc{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"procs of {ctx.appname}: {', '.join(sorted(sections)) or 'none'}",
        )
    tools = tools or Tools.for_context(ctx, options.timeout)
    terminal = TerminalReporter()
    with locked(ctx, tools, options, "update-image", terminal, read_ahead=True) as held:
        deployed = tools.helm.values(ctx.release_name) if release.last_deployed(held.history) else {}
        plan = release_plan.plan_update_image(
            ctx.release_name, ctx.user, procs, sections, {p: ctx.image_of(p) for p in procs}, deployed, held.history,
        )
        emit = Reporters(ctx, plan.images, options.journal)
        try:
            emit(ev.Notice("deploy-start", f"update-image {' '.join(procs)}"))
            for proc, old, new in plan.changes:
                emit(ev.Info(f"{proc}: {old} -> {new}"))
            code = upgrade(ctx, options, tools, plan, held, emit)
        finally:
            emit.flush()
    open_panel(ctx, options, code)
    return code


def rollback(ctx: AppContext, revision: int | None, options: DeployOptions, tools: Tools | None = None) -> int:
    cluster = ctx.require_cluster()
    tools = tools or Tools.for_context(ctx, options.timeout)
    terminal = TerminalReporter()
    with locked(ctx, tools, options, "rollback", terminal) as held:
        history = held.history
        if not history:
            raise OperationFailed(f"release {ctx.release_name} is not installed on {cluster.name}")
        plan = release_plan.plan_rollback(ctx.release_name, ctx.user, history, revision)
        what = f" ({plan.images.new_image})" if plan.images.new_image else ""
        terminal(ev.Step(f"rolling back {ctx.release_name} from revision {history[-1].number} to revision "
                         f"{plan.target}{what}, {plan.target_note}" + _skipped_note(plan)))
        emit = Reporters(ctx, plan.images, options.journal)
        try:
            code = perform_rollback(ctx, options, tools, plan, history, emit, held.lock)
        finally:
            emit.flush()
    open_panel(ctx, options, code)
    return code


PENDING_POLL = 2.0


def wait(ctx: AppContext, timeout: float, journal: Journal | None = None, tools: Tools | None = None) -> int:
    """Block until every workload of the release is ready (jobs complete); 1 on failure or timeout.

    A release that does not exist is NOT DEPLOYED (1 at once); one that helm has
    pending (a deploy running) is waited for until helm is done with it."""
    tools = tools or Tools.for_context(ctx, timeout)
    terminal = TerminalReporter()
    cluster = ctx.require_cluster()

    def record(kind: str, text: str, details: Sequence[str] = ()) -> None:
        if journal is not None:
            journal.action = "wait"
            journal.events.append({"kind": kind, "text": text, "details": list(details)})

    head = release.current(tools.helm.history(ctx.release_name))
    if head is None:
        text = (f"NOT DEPLOYED: no release {ctx.release_name} in namespace {ctx.namespace} of cluster "
                f"{cluster.name}")
        record("not-deployed", text)
        terminal(ev.Failure(text, ("`lain deploy` installs it; check the app name and the cluster file's "
                                   "namespace if it should be there",)))
        return EXIT_FAILED
    if head.pending:
        terminal(ev.Step(f"release {ctx.release_name} is {head.status} (revision {head.number}): "
                         "waiting for that deploy to finish"))
        while head is not None and head.pending and tools.deadline.remaining() > PENDING_POLL:
            time.sleep(PENDING_POLL)
            head = release.current(tools.helm.history(ctx.release_name))
        if head is not None and head.pending:
            text = (f"not ready: release {ctx.release_name} is still {head.status} (revision {head.number}) "
                    f"after {tools.deadline.seconds:g}s")
            record("timed-out", text)
            terminal(ev.Failure(text, ("a deploy is running, or was left stuck: `lain history`; "
                                       "`lain deploy --force-unlock` recovers a stuck one",)))
            return EXIT_FAILED
    outcome = tools.tracker.rollout(tools.deadline.remaining(), terminal)
    kind = "ready" if outcome.ok else ("timed-out" if outcome.timed_out else "failed")
    record(kind, outcome.verdict.summary, outcome.report)
    if outcome.ok:
        terminal(ev.Success(f"{ctx.release_name} is ready: {outcome.verdict.summary}"))
        return EXIT_OK
    terminal(ev.Failure(outcome.report[0], tuple(outcome.report[1:])))
    return EXIT_FAILED


def parse_duration(text: str) -> float:
    """``--timeout`` as seconds: ``300``, ``90s``, ``5m``, ``1m30s``, ``1h`` (lain_cli.durations)."""
    from lain_cli.durations import parse_duration as parse

    return parse(text, "--timeout")
