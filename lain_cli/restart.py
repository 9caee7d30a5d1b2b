"""`lain restart`: a rolling restart of procs, tracked like a rollout.

The restart is what ``kubectl rollout restart`` does: the pod template of each
Deployment and StatefulSet gets the annotation
``kubectl.kubernetes.io/restartedAt``, and the controllers replace the pods
under the workload's own strategy.  lain writes the annotation with a JSON
merge patch of its own field manager, never through helm, and helm leaves it
alone on the next upgrade: helm 3's three-way merge only deletes what the
previous release manifest had, and helm 4's server-side apply only what its
own field manager owned.  So the next ``lain deploy`` neither undoes the
restart nor restarts the pods a second time (docs/commands/restart.rst).

``--graceful`` instead deletes the pods one at a time and waits, after each,
until its replacement is ready: one pod down at a time, whatever the strategy.

The flow takes the release's lock as deploy does, hands typed events to the
reporters (terminal, ``--json`` journal, webhook) and never prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from lain_cli import events as ev
from lain_cli.context import AppContext
from lain_cli.errors import EXIT_FAILED, EXIT_OK, OperationFailed, UsageError
from lain_cli.interrupts import as_interrupted
from lain_cli.labels import COMPONENT, app_selector
from lain_cli.reporters import Journal, Reporters, TerminalReporter

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RESTARTABLE = {"deployment": "deployments", "statefulset": "statefulsets"}


@dataclass(frozen=True)
class Target:
    """One workload to restart."""

    proc: str
    kind: str  # deployment | statefulset
    name: str  # the object's name: <release>-<proc>

    @property
    def resource(self) -> str:
        return RESTARTABLE[self.kind]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class RestartOptions:
    timeout: float = 300.0
    graceful: bool = False
    journal: Journal | None = None


def restartable_procs(ctx: AppContext) -> list[str]:
    return sorted(name for name, kind in ctx.procs.items() if kind in RESTARTABLE)


def resolve_targets(ctx: AppContext, procs: Sequence[str]) -> list[Target]:
    """The workloads of ``procs`` (every Deployment and StatefulSet when none is named);
    a UsageError listing the procs that exist for a name that is not one."""
    known = restartable_procs(ctx)
    listing = ", ".join(known) or "none"
    unknown = [p for p in procs if p not in known]
    if unknown:
        others = [p for p in unknown if p in ctx.procs]
        hint = f"procs of {ctx.appname} that can be restarted: {listing}"
        if others:
            hint += f" ({', '.join(others)}: a {ctx.procs[others[0]]}, not a long-running proc)"
        raise UsageError(f"unknown proc{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}", hint=hint)
    if not known:
        raise UsageError(f"{ctx.appname} has no deployments or statefulSets to restart",
                         hint="restart works on the procs under deployments and statefulSets in chart/values.yaml")
    chosen = list(dict.fromkeys(procs)) or known
    return [Target(p, ctx.procs[p], f"{ctx.release_name}-{p}") for p in chosen]


def restart_stamp(now: datetime, current: str | None) -> str:
    """The restartedAt value: now, as kubectl writes it (RFC 3339, seconds); one second
    after ``current`` when that is not earlier (a second restart within the same second
    would otherwise change nothing)."""
    moment = now.astimezone(UTC).replace(microsecond=0)
    if current:
        try:
            previous = datetime.fromisoformat(current.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            previous = None
        if previous is not None and previous >= moment:
            moment = previous + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def restart_patch(stamp: str) -> dict[str, Any]:
    """The JSON merge patch that makes a workload's controller replace its pods."""
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def restarted_at(workload: Mapping[str, Any]) -> str | None:
    template = (workload.get("spec") or {}).get("template") or {}
    value = ((template.get("metadata") or {}).get("annotations") or {}).get(RESTARTED_AT)
    return str(value) if value else None


def procs_selector(ctx: AppContext, targets: Sequence[Target]) -> str:
    """The release's objects of these procs only."""
    return f"{app_selector(ctx)},{COMPONENT} in ({','.join(sorted(t.proc for t in targets))})"


class Restarter(Protocol):
    """What the restart asks of the cluster (the real :class:`ClusterRestarter`, or a fake)."""

    def get(self, target: Target) -> dict[str, Any] | None: ...

    def annotate(self, target: Target, stamp: str) -> None: ...

    def pods(self, target: Target) -> list[str]: ...

    def replace_pod(self, target: Target, pod: str, timeout: float, emit: ev.Emit) -> Any: ...

    def track(self, targets: Sequence[Target], timeout: float, emit: ev.Emit) -> Any: ...


class ClusterRestarter:
    """The restart on a real cluster: kubectl patches and deletes, watches for the verdicts."""

    def __init__(self, ctx: AppContext, kubectl: Any) -> None:
        self.ctx = ctx
        self.kubectl = kubectl
        self.cluster = ctx.require_cluster()

    def get(self, target: Target) -> dict[str, Any] | None:
        return self.kubectl.get_json(target.resource, target.name)  # type: ignore[no-any-return]

    def annotate(self, target: Target, stamp: str) -> None:
        self.kubectl.patch(target.resource, target.name, restart_patch(stamp))

    def pods(self, target: Target) -> list[str]:
        from lain_cli.tracking.objects import is_deleting, owned_by

        workload = self.get(target) or {}
        listing = self.kubectl.get_json("pods", selector=procs_selector(self.ctx, [target])) or {}
        sets: list[dict[str, Any]] = []
        if target.kind == "deployment":
            found = self.kubectl.get_json("replicasets", selector=procs_selector(self.ctx, [target])) or {}
            sets = found.get("items") or []
        owners = [workload, *(rs for rs in sets if owned_by(rs, workload))]
        pods = [p for p in listing.get("items") or []
                if not is_deleting(p) and any(owned_by(p, owner) for owner in owners)]
        return sorted(str(p["metadata"]["name"]) for p in pods)

    def replace_pod(self, target: Target, pod: str, timeout: float, emit: ev.Emit) -> Any:
        from lain_cli import rollout
        from lain_cli.watch import ReleaseWatch

        selector = procs_selector(self.ctx, [target])
        with ReleaseWatch(self.cluster, selector, kinds=rollout.TRACKED_KINDS, with_events=True,
                          list_timeout=max(2.0, min(30.0, timeout))) as watch:
            before = {_uid(p) for p in watch.objects("pods")}
            self.kubectl.delete("pod", pod)
            return wait_for_replacement(self.cluster, watch, pod, before, timeout, emit)

    def track(self, targets: Sequence[Target], timeout: float, emit: ev.Emit) -> Any:
        from lain_cli import rollout

        return rollout.track(self.cluster, self.ctx.release_name, timeout=timeout, emit=emit,
                             selector=procs_selector(self.ctx, targets))


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _ready(pod: Mapping[str, Any]) -> bool:
    from lain_cli.tracking.objects import condition_is

    return condition_is(pod, "Ready")


def replaced(pods: Sequence[Mapping[str, Any]], before: set[str]) -> bool:
    """Whether a pod created since the deletion (its uid is new) is ready.

    Enough to know the deleted pod is replaced: a ReplicaSet only makes the
    replacement once the pod is terminating, a StatefulSet once it is gone.  The
    deleted pod's own removal is not waited for: a watch can miss that event."""
    from lain_cli.tracking.objects import is_deleting

    return any(_uid(p) not in before and not is_deleting(p) and _ready(p) for p in pods)


def wait_for_replacement(cluster: Any, watch: Any, victim: str, before: set[str], timeout: float,
                         emit: ev.Emit) -> Any:
    """Follow ``watch`` until ``victim`` is replaced by a ready pod and the workload is ready,
    the workload fails (its new pod crash-loops: the reason, events and logs), or ``timeout``."""
    from lain_cli import rollout, tracking

    tolerances = tracking.Tolerances()
    printer = rollout.ProgressPrinter(emit)
    started = time.monotonic()
    while True:
        since = watch.generation
        snapshot = rollout.snapshot_of(watch)
        events = watch.events()
        verdict = rollout.evaluate(snapshot, events, rollout.utcnow(), tolerances)
        printer.update(verdict)
        if watch.error is not None:
            raise watch.error
        elapsed = time.monotonic() - started
        if verdict.state == tracking.State.FAILED:
            report = rollout.failure_report(cluster, verdict, snapshot, events)
            return rollout.Outcome(False, False, report, verdict, elapsed, watch.stats)
        if replaced(snapshot.get("pods", []), before) and verdict.state in (tracking.State.READY, tracking.State.SUCCEEDED):
            return rollout.Outcome(True, False, [verdict.summary], verdict, elapsed, watch.stats)
        if elapsed >= timeout:
            report = [f"pod {victim} was not replaced by a ready pod within {timeout:g}s",
                      *rollout.timeout_report(verdict, timeout)[1:]]
            return rollout.Outcome(False, True, report, verdict, elapsed, watch.stats)
        watch.wait_for_change(min(rollout.TICK, timeout - elapsed), since=since)


def restart(ctx: AppContext, procs: Sequence[str], options: RestartOptions, tools: Any = None,
            restarter: Restarter | None = None) -> int:
    """Restart ``procs`` (all long-running ones by default) under the release's lock, and
    track them until ready or failed.  Returns the exit code."""
    from lain_cli import deploy as flow
    from lain_cli import release
    from lain_cli.release_plan import Images

    targets = resolve_targets(ctx, procs)
    cluster = ctx.require_cluster()
    tools = tools or flow.Tools.for_context(ctx, options.timeout)
    restarter = restarter or ClusterRestarter(ctx, tools.kubectl)
    terminal = TerminalReporter()
    lock_options = flow.DeployOptions(timeout=options.timeout)
    with flow.locked(ctx, tools, lock_options, "restart", terminal) as held:
        if release.last_deployed(held.history) is None:
            raise OperationFailed(f"release {ctx.release_name} is not deployed on cluster {cluster.name}",
                                  hint="`lain deploy` first; `lain history` shows the release's revisions")
        if options.journal is not None:
            options.journal.facts["procs"] = [t.proc for t in targets]
            options.journal.facts["graceful"] = options.graceful
        emit = Reporters(ctx, Images(action="restart"), options.journal)
        try:
            return RestartRun(ctx, targets, options, tools.deadline, restarter, emit).run()
        finally:
            emit.flush()


class RestartRun:
    """One restart: annotate (or delete pod by pod), track, report."""

    def __init__(self, ctx: AppContext, targets: Sequence[Target], options: RestartOptions, deadline: Any,
                 restarter: Restarter, emit: Reporters) -> None:
        self.ctx = ctx
        self.targets = list(targets)
        self.options = options
        self.deadline = deadline
        self.restarter = restarter
        self.emit = emit
        self.what = ", ".join(t.proc for t in targets)
        self.started = False

    def run(self) -> int:
        how = "one pod at a time (--graceful)" if self.options.graceful else "rolling"
        try:
            self.check_deployed()
            self.emit(ev.Notice("restart-start", f"restart of {self.what}, {how}"))
            self.started = True
            outcome = self.graceful() if self.options.graceful else self.rolling()
        except KeyboardInterrupt as exc:
            signal_ = as_interrupted(exc)
            if self.started:
                self.emit(ev.Warning(f"interrupted ({signal_.what}): the pods already being replaced go on; "
                                     "`lain wait` follows them"))
                self.emit(ev.Notice("restart-failure", f"restart of {self.what} interrupted ({signal_.what})"))
            else:
                self.emit(ev.Warning(f"interrupted ({signal_.what}) before anything was restarted"))
            return signal_.exit_code
        return self.report(outcome)

    def check_deployed(self) -> None:
        missing = [t for t in self.targets if self.restarter.get(t) is None]
        if missing:
            names = ", ".join(t.label for t in missing)
            raise OperationFailed(
                f"not on cluster {self.ctx.require_cluster().name}: {names}",
                hint="the proc is in the values but was not deployed yet: `lain deploy` creates it",
            )

    def rolling(self) -> Any:
        now = datetime.now(UTC)
        for target in self.targets:
            stamp = restart_stamp(now, restarted_at(self.restarter.get(target) or {}))
            self.emit(ev.Step(f"restarting {target.label} (restartedAt {stamp})"))
            self.restarter.annotate(target, stamp)
        remaining = self.deadline.remaining()
        self.emit(ev.Step(f"tracking the restart of {self.what} until every new pod is ready "
                          f"(timeout {remaining:.0f}s)"))
        return self.restarter.track(self.targets, remaining, self.emit)

    def graceful(self) -> Any:
        for target in self.targets:
            pods = self.restarter.pods(target)
            if not pods:
                self.emit(ev.Info(f"{target.proc}: no running pod to restart"))
            for number, pod in enumerate(pods, 1):
                self.emit(ev.Step(f"{target.proc}: restarting pod {pod} ({number}/{len(pods)}), waiting "
                                  f"until its replacement is ready (timeout {self.deadline.remaining():.0f}s)"))
                outcome = self.restarter.replace_pod(target, pod, self.deadline.remaining(), self.emit)
                if not outcome.ok:
                    return outcome
        return self.restarter.track(self.targets, self.deadline.remaining(), self.emit)

    def report(self, outcome: Any) -> int:
        if outcome.ok:
            summary = outcome.verdict.summary if outcome.verdict is not None else "ready"
            self.emit(ev.Success(f"restart of {self.what} is ready ({outcome.duration:.1f}s): {summary}"))
            self.emit(ev.Notice("restart", f"restarted {self.what}: {summary}"))
            return EXIT_OK
        headline = "timed out" if outcome.timed_out else "failed"
        self.emit(ev.Failure(f"restart of {self.what} {headline}"))
        self.emit(ev.Failure(outcome.report[0], tuple(outcome.report[1:])))
        self.emit(ev.Notice("restart-failure", f"restart of {self.what} {headline}", tuple(outcome.report)))
        self.emit(ev.Info("`lain logs PROC` shows more logs; `lain rollback` goes back to the previous "
                          "revision if the image is at fault"))
        return EXIT_FAILED
