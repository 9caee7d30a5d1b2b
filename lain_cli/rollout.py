"""Following a release as it rolls out: hook jobs while helm runs, then every workload.

Both followers read one :class:`~lain_cli.watch.ReleaseWatch` (one kubectl
watch per kind, whatever the number of pods) and hand its snapshots to the
pure verdicts of :mod:`lain_cli.tracking`.  Nothing here decides whether a pod
is broken; this module only chooses what to look at, prints progress, streams
hook logs and gathers the failure report (events, last log lines).

* :class:`HookFollower` runs while ``helm upgrade`` waits on pre-upgrade hooks:
  it streams each hook pod's logs (``kubectl logs -f``, one per hook pod, as it
  starts) and notices a hook that cannot succeed (image not found, ...) so the
  deploy can stop helm at once instead of waiting for helm's timeout.
* :func:`track` follows the Deployments, StatefulSets and (non-hook) Jobs of
  the release until all are ready, one fails, or the timeout passes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lain_cli import events as ev
from lain_cli.errors import ClusterError, LainError
from lain_cli.logs import release_selector
from lain_cli.tracking.objects import (
    OwnerIndex,
    is_deleting,
    meta,
    owned_by,
    parse_time,
    pods_and_sets_of,
    pods_of,
    started_containers,
)

if TYPE_CHECKING:
    from lain_cli.clusters import Cluster

Obj = Mapping[str, Any]

HOOK_ANNOTATION = "helm.sh/hook"
RUN_ID_ANNOTATION = "lain.dev/run-id"  # set by the chart on hook Jobs: which lain run made them
TRACKED_KINDS = ("deployments", "statefulsets", "replicasets", "jobs", "pods")
LOG_LINES = 50
TICK = 0.25  # seconds between re-evaluations when nothing changes (time-based tolerances)


# ---------------------------------------------------------------- pure selection


def _name(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def _uid(obj: Obj) -> str:
    return str(meta(obj).get("uid", ""))


def is_hook(obj: Obj) -> bool:
    return HOOK_ANNOTATION in (meta(obj).get("annotations") or {})


def run_id_of(obj: Obj) -> str:
    return str((meta(obj).get("annotations") or {}).get(RUN_ID_ANNOTATION, ""))


def _made_by_cronjob(job: Obj) -> bool:
    return any(ref.get("kind") == "CronJob" for ref in meta(job).get("ownerReferences") or [])


def tracked_workloads(
    deployments: Sequence[Obj], statefulsets: Sequence[Obj], jobs: Sequence[Obj]
) -> list[Obj]:
    """What a rollout waits for: Deployments, StatefulSets and the Jobs that are
    neither helm hooks (helm waited for those) nor spawned by a CronJob."""
    plain_jobs = [j for j in jobs if not is_hook(j) and not _made_by_cronjob(j)]
    return [*sorted(deployments, key=_name), *sorted(statefulsets, key=_name), *sorted(plain_jobs, key=_name)]


def job_of(pod: Obj, jobs: Sequence[Obj]) -> Obj | None:
    return next((job for job in jobs if owned_by(pod, job)), None)


def live_pods_of_job(job: Obj, pods: Sequence[Obj]) -> list[Obj]:
    """The pods of ``job`` (by its uid) that are not being deleted."""
    return [p for p in pods_of(job, pods) if not is_deleting(p)]


def events_about(events: Iterable[Obj], names: Iterable[str]) -> list[Obj]:
    wanted = set(names)
    return [e for e in events if (e.get("involvedObject") or {}).get("name") in wanted]


# ---------------------------------------------------------------- verdicts over a snapshot


def _tracking() -> Any:
    from lain_cli import tracking

    return tracking


def evaluate(
    snapshot: Mapping[str, Sequence[Obj]],
    events: Sequence[Obj],
    now: datetime,
    tolerances: Any,
) -> Any:
    """The release verdict for one snapshot of the watch (pure)."""
    tracking = _tracking()
    statuses = []
    workloads = tracked_workloads(
        snapshot.get("deployments", ()), snapshot.get("statefulsets", ()), snapshot.get("jobs", ())
    )
    pod_index, set_index = OwnerIndex(snapshot.get("pods", ())), OwnerIndex(snapshot.get("replicasets", ()))
    for workload in workloads:
        pods, sets = pods_and_sets_of(workload, pod_index, set_index)
        names = [_name(workload), *(_name(p) for p in pods)]
        statuses.append(
            tracking.workload_status(
                workload, pods, now, tolerances, events=events_about(events, names), replicasets=sets
            )
        )
    return tracking.release_verdict(statuses)


def snapshot_of(watch: Any) -> dict[str, list[Obj]]:
    return {kind: watch.objects(kind) for kind in TRACKED_KINDS}


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- logs


def last_log_lines(cluster: Cluster, pod: Obj, container: str | None, lines: int = LOG_LINES) -> list[str]:
    """The last ``lines`` log lines of a pod's container; the previous run's if it crashed."""
    from lain_cli import kube, proc, tools

    name = _name(pod)
    statuses = {
        cs.get("name"): cs
        for key in ("initContainerStatuses", "containerStatuses")
        for cs in (pod.get("status") or {}).get(key) or []
    }
    container = container or next(iter(statuses), None)
    status = statuses.get(container, {}) if container else {}
    running = "running" in (status.get("state") or {}) or "terminated" in (status.get("state") or {})
    if status and not running and not status.get("restartCount") and not (status.get("lastState") or {}).get("terminated"):
        return []  # it never ran (its image cannot be pulled, say): there is no log to read, nor a kubectl to wait for
    attempts = [False, True] if running or not status.get("restartCount") else [True, False]
    for previous in attempts:
        argv = kube.logs_argv(
            tools.kubectl().path, cluster.kubectl_args(), pod=name, container=container, prefix=False,
            tail=lines, previous=previous,
        )
        result = proc.run(argv, timeout=30, check=False)
        if result.ok and result.stdout.strip():
            return result.stdout.rstrip("\n").splitlines()[-lines:]
    return []


# ---------------------------------------------------------------- the failure report


def failure_report(cluster: Cluster, verdict: Any, snapshot: Mapping[str, Sequence[Obj]], events: Sequence[Obj]) -> list[str]:
    """Lines naming the failed resource, the reason, its events and its last log lines."""
    failure = verdict.first_failure()
    if failure is None:
        return [verdict.summary]
    problem = failure.problem
    lines = [f"{failure.workload.label} failed: {problem.reason}", f"  {failure.describe()}"]
    pod = None
    if problem.object_kind == "Pod":
        pod = next((p for p in snapshot.get("pods", ()) if _name(p) == problem.object_name), None)
    elif failure.workload.pods:
        name = failure.workload.pods[0].name
        pod = next((p for p in snapshot.get("pods", ()) if _name(p) == name), None)
    tracking = _tracking()
    owner = next(
        (o for kind in ("deployments", "statefulsets", "jobs") for o in snapshot.get(kind, ())
         if _name(o) == failure.workload.name),
        None,
    )
    related = [*(tracking.failure_details(owner, events) if owner else []),
               *(tracking.failure_details(pod, events) if pod is not None else [])]
    if related:
        lines.append("events:")
        lines += [f"  {ln}" for ln in related[-10:]]
    if pod is not None:
        logs = last_log_lines(cluster, pod, problem.container)
        pod_name = _name(pod)
        if logs:
            lines.append(f"last {len(logs)} log lines of {pod_name}:")
            lines += [f"  {ln}" for ln in logs]
        else:
            lines.append(f"no log lines from {pod_name}")
    return lines


# ---------------------------------------------------------------- tracking


@dataclass
class Outcome:
    """How a rollout ended: ``state`` is READY, FAILED or (on timeout) PROGRESSING."""

    ok: bool
    timed_out: bool
    report: list[str]
    verdict: Any = None
    duration: float = 0.0
    stats: Any = None


class ProgressPrinter:
    """Emits a :class:`~lain_cli.events.Progress` per workload when its progress or problems change."""

    def __init__(self, emit: ev.Emit = ev.ignore) -> None:
        self._last: dict[str, str] = {}
        self._emit = emit

    def update(self, verdict: Any) -> None:
        for workload in verdict.workloads:
            name = workload.component or workload.name
            text = workload.progress_text
            warnings = sorted({p.reason for p in workload.problems if not p.fatal})
            if warnings:
                text += f" ({', '.join(warnings)})"
            fatal = [p.reason for p in workload.problems if p.fatal]
            if fatal:
                text += f" [failed: {fatal[0]}]"
            if self._last.get(workload.label) != text:
                self._last[workload.label] = text
                self._emit(ev.Progress(name, text))


def track(
    cluster: Cluster,
    release: str,
    *,
    timeout: float,
    tolerances: Any = None,
    emit: ev.Emit = ev.ignore,
    selector: str | None = None,
) -> Outcome:
    """Follow every workload of ``release`` until all are ready, one fails, or ``timeout``.

    Progress goes to ``emit``; a lost cluster raises its :class:`ClusterError`.
    ``selector`` (default: ``instance=<release>``) is lain_cli.labels.app_selector for an
    app whose procs may keep lain4's selectors."""
    from lain_cli.watch import ReleaseWatch

    tracking = _tracking()
    tolerances = tolerances or tracking.Tolerances()
    printer = ProgressPrinter(emit)
    started = time.monotonic()
    deadline = started + timeout
    with ReleaseWatch(cluster, selector or release_selector(release), kinds=TRACKED_KINDS, with_events=True,
                      list_timeout=max(2.0, min(30.0, timeout))) as watch:
        while True:
            since = watch.generation
            snapshot = snapshot_of(watch)
            events = watch.events()
            verdict = evaluate(snapshot, events, utcnow(), tolerances)
            printer.update(verdict)
            if watch.error is not None:
                raise watch.error
            if verdict.state == tracking.State.FAILED:
                verdict_at = time.monotonic()
                settled = _settle_events(watch, verdict)
                report = failure_report(cluster, verdict, snapshot, settled)
                return Outcome(False, False, report, verdict, verdict_at - started, watch.stats)
            if verdict.state in (tracking.State.READY, tracking.State.SUCCEEDED):
                return Outcome(True, False, [verdict.summary], verdict, time.monotonic() - started, watch.stats)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                report = timeout_report(verdict, timeout)
                return Outcome(False, True, report, verdict, time.monotonic() - started, watch.stats)
            watch.wait_for_change(min(TICK, remaining), since=since)


def _settle_events(watch: Any, verdict: Any, patience: float = 1.0) -> list[Obj]:
    """The namespace's events, after waiting briefly for those about the failed pod.

    A verdict can come from a pod's status a moment before the kubelet's
    events about it reach the watch; the report is worth that moment.
    """
    failure = verdict.first_failure()
    if failure is None or failure.problem.object_name == failure.workload.name:
        return watch.events()
    deadline = time.monotonic() + patience
    while True:
        since = watch.generation
        events = watch.events()
        if any((e.get("involvedObject") or {}).get("name") == failure.problem.object_name for e in events):
            return events
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return events
        watch.wait_for_change(min(TICK, remaining), since=since)


def timeout_report(verdict: Any, timeout: float) -> list[str]:
    lines = [f"not ready after {timeout:g}s:"]
    for workload in verdict.workloads:
        if workload.state.done:
            continue
        lines.append(f"  {workload.label}: {workload.progress_text}")
        for problem in workload.problems:
            lines.append(f"    {problem.describe()}")
        for pod in workload.pods:
            if not pod.ready:
                lines.append(f"    pod {pod.name}: {pod.short_status}")
    return lines


# ---------------------------------------------------------------- hook jobs while helm runs


@dataclass
class HookFailure:
    job: str
    reason: str
    message: str
    events: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


class HookFollower:
    """Streams hook pods' logs while helm runs and notices hooks that cannot succeed.

    When a hook pod fails in a way that waiting cannot fix (image not found,
    unschedulable past tolerance), the follower sets :attr:`cancel`, which the
    process runner polls to stop helm cleanly (helm then records the release as
    failed); ``aborted`` holds the reason.  It never signals lain itself.

    Which hook Jobs are this run's: with ``run_id`` (the chart stamps it on every
    hook Job lain renders), exactly those carrying it; without (a rollback
    re-creates an old revision's hooks), those absent from the first listing and
    created since the follower started.  A Job or pod being deleted never counts:
    the previous run's Job and its pods linger while garbage collection removes them.
    """

    def __init__(self, cluster: Cluster, release: str, *, tolerances: Any = None, run_id: str = "",
                 emit: ev.Emit = ev.ignore) -> None:
        self.cluster = cluster
        self.release = release
        self.run_id = run_id
        self.emit = emit
        self.lost: ClusterError | None = None  # the cluster stopped answering while helm ran
        self.started_at = utcnow()
        self.tolerances = tolerances
        self.cancel = threading.Event()
        self.aborted: HookFailure | None = None
        self._preexisting: set[str] = set()
        self.logs: dict[str, deque[str]] = {}
        self._followed: set[tuple[str, str]] = set()  # (pod, container)
        self._threads: list[threading.Thread] = []
        self._streams: list[Any] = []
        self._stop = threading.Event()
        self._watch: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started = threading.Event()

    def __enter__(self) -> HookFollower:
        from lain_cli.watch import ReleaseWatch

        self._watch = ReleaseWatch(self.cluster, release_selector(self.release), kinds=("jobs", "pods"))
        # Started off the main thread so helm starts at once; helm needs longer than
        # kubectl to get to the hooks, and kubectl's watch lists before it watches.
        self._thread = threading.Thread(target=self._run, name="hook-follower", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:

        try:
            self._watch.start()
        except LainError as exc:
            self.emit(ev.Warning(f"cannot follow hook jobs: {exc.message}"))
            self._watch.error = exc
            return
        self._preexisting = {_uid(j) for j in self._watch.objects("jobs")}
        self._started.set()
        self._loop()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._started.is_set() and self._watch.error is None:
            self._final_sweep()
        # Give each running `kubectl logs -f` a moment to print what its container wrote last
        # (a kubectl started late on a busy machine needs it).
        for thread in list(self._threads):
            thread.join(timeout=2)
        for stream in list(self._streams):
            stream.stop()
        if self._watch is not None:
            self._watch.stop()  # also wakes the loop thread
        if self._thread is not None:
            self._thread.join(timeout=5)

    def hook_jobs(self) -> list[Obj]:
        if not self._started.is_set():
            return []
        return [j for j in self._watch.objects("jobs") if is_hook(j) and not is_deleting(j) and self._is_ours(j)]

    def _is_ours(self, job: Obj) -> bool:
        if self.run_id:
            return run_id_of(job) == self.run_id
        if _uid(job) in self._preexisting:
            return False
        created = parse_time(meta(job).get("creationTimestamp"))
        # second-resolution timestamps: allow for the truncation
        return created is None or created.timestamp() >= self.started_at.timestamp() - 1.5

    def _follow_started(self, jobs: Sequence[Obj], pods: Sequence[Obj]) -> None:
        # One `kubectl logs -f` per container as it starts: following the whole pod
        # would stop at a main container still waiting for its init containers.
        for pod in pods:
            job = job_of(pod, jobs)
            if job is None or is_deleting(pod):
                continue
            for container, is_init in started_containers(pod):
                self._follow(_name(job), pod, container, is_init)

    def _final_sweep(self, patience: float = 1.0) -> None:
        """helm can finish a fast hook before the watch reports its pod: catch up on those."""
        deadline = time.monotonic() + patience
        while True:
            since = self._watch.generation
            jobs = self.hook_jobs()
            pods = self._watch.objects("pods")
            self._follow_started(jobs, pods)
            waiting = [j for j in jobs if not any(owned_by(p, j) and started_containers(p) for p in pods)]
            remaining = deadline - time.monotonic()
            if not waiting or remaining <= 0:
                return
            self._watch.wait_for_change(min(TICK, remaining), since=since)

    def _loop(self) -> None:
        tracking = _tracking()
        tolerances = self.tolerances or tracking.Tolerances()
        while not self._stop.is_set():
            if self._watch.error is not None:
                # The cluster stopped answering: helm would wait out its whole timeout.
                self.lost = self._watch.error
                self.cancel.set()
                return
            since = self._watch.generation
            jobs = self.hook_jobs()
            pods = self._watch.objects("pods")
            self._follow_started(jobs, pods)
            if self.aborted is None:
                for job in jobs:
                    job_pods = live_pods_of_job(job, pods)
                    names = [_name(job), *(_name(p) for p in job_pods)]
                    status = tracking.workload_status(
                        job, job_pods, utcnow(), tolerances, events=events_about(self._watch.events(), names)
                    )
                    fatal = [p for p in status.problems if p.fatal]
                    # A crashed hook pod is helm's to judge (the Job's backoffLimit);
                    # what lain cuts short is a pod that can never run at all.
                    if fatal and not fatal[0].crash and status.state != tracking.State.SUCCEEDED:
                        self.aborted = HookFailure(status.name, fatal[0].reason, fatal[0].describe())
                        self.cancel.set()
                        break
            self._watch.wait_for_change(TICK, since=since)

    def _follow(self, job: str, pod: Obj, container: str, is_init: bool) -> None:
        from lain_cli import kube, proc, tools

        name = _name(pod)
        with self._lock:
            if (name, container) in self._followed:
                return
            first = not any(pod_name == name for pod_name, _ in self._followed)
            self._followed.add((name, container))
        buffer = self.logs.setdefault(job, deque(maxlen=LOG_LINES))
        if first:
            self.emit(ev.HookPodStarted(job, name))
        label = f"{job}:{container}" if is_init else job
        argv = kube.logs_argv(
            tools.kubectl().path, self.cluster.kubectl_args(), pod=name, container=container, prefix=False,
            follow=True,
        )

        def pump() -> None:
            try:
                stream = proc.stream(argv, merge_stderr=False)
            except Exception:  # noqa: BLE001 - log streaming is best effort
                return
            self._streams.append(stream)
            with stream:
                for line in stream.lines():
                    with self._lock:
                        buffer.append(line)
                    self.emit(ev.HookLogLine(job, label, line))

        thread = threading.Thread(target=pump, name=f"logs-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def logs_of(self, job: str) -> list[str]:
        """The last log lines streamed from ``job``'s pods."""
        with self._lock:
            return list(self.logs.get(job, ()))[-LOG_LINES:]

    def wait_for_failure(self, patience: float) -> HookFailure | None:
        """The failed hook job, waiting up to ``patience`` seconds for the watch to
        report it (helm can see a Job fail a moment before lain's watch does)."""
        deadline = time.monotonic() + patience
        while True:
            since = self._watch.generation if self._started.is_set() else 0
            failed = self.failure()
            remaining = deadline - time.monotonic()
            if failed is not None or remaining <= 0:
                return failed
            if self._started.is_set():
                self._watch.wait_for_change(min(TICK, remaining), since=since)
            else:
                time.sleep(min(TICK, remaining))

    def failure(self, job_name: str | None = None) -> HookFailure | None:
        """The failed hook job (or the one the follower aborted), with events and last log lines."""
        if self.aborted is not None and job_name is None:
            failed = self.aborted
        else:
            failed = None
            for job in self.hook_jobs():
                name = _name(job)
                if job_name and name != job_name:
                    continue
                for cond in (job.get("status") or {}).get("conditions") or []:
                    if cond.get("type") == "Failed" and cond.get("status") == "True":
                        failed = HookFailure(name, str(cond.get("reason", "Failed")), str(cond.get("message", "")))
                        break
                if failed:
                    break
            if failed is None:
                failed = self.aborted
        if failed is None:
            return None
        if not self._started.is_set():
            return failed
        failed_job: Obj | None = next((j for j in self.hook_jobs() if _name(j) == failed.job), None)
        pods = live_pods_of_job(failed_job, self._watch.objects("pods")) if failed_job is not None else []
        events = self._watch.events()
        tracking = _tracking()
        found = [*(tracking.failure_details(failed_job, events) if failed_job else [])]
        for pod in pods:
            found += tracking.failure_details(pod, events)
        failed.events = found[-10:]
        with self._lock:
            logs = list(self.logs.get(failed.job, ()))
        if not logs and pods:
            logs = last_log_lines(self.cluster, pods[-1], None)
        failed.logs = logs[-LOG_LINES:]
        return failed


def hook_failure_report(failure: HookFailure) -> list[str]:
    lines = [f"hook job {failure.job} failed: {failure.reason}"]
    if failure.message:
        lines.append(f"  {failure.message}")
    if failure.events:
        lines.append("events:")
        lines += [f"  {ln}" for ln in failure.events]
    if failure.logs:
        lines.append(f"last {len(failure.logs)} log lines of {failure.job}:")
        lines += [f"  {ln}" for ln in failure.logs]
    else:
        lines.append(f"no log lines from {failure.job}")
    return lines
