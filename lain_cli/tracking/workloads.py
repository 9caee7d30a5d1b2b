"""Verdicts over workloads (Deployment, StatefulSet, DaemonSet, Job, bare Pod)
and over a whole release."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from datetime import datetime

from .model import (
    DEFAULT_TOLERANCES,
    PodStatus,
    Problem,
    State,
    Tolerances,
    Verdict,
    WorkloadStatus,
)
from .objects import (
    Obj,
    annotations_of,
    aware,
    component_of,
    condition,
    index_events,
    indexed_events_for,
    labels,
    meta,
    owned_by,
    parse_time,
    seconds_since,
    status_of,
    trim,
)
from .pods import pod_status

_REVISION = "deployment.kubernetes.io/revision"
_TEMPLATE_HASH = "pod-template-hash"
_REVISION_HASH = "controller-revision-hash"
_DS_GENERATION = "deprecated.daemonset.template.generation"
_POD_TEMPLATE_GENERATION = "pod-template-generation"
# Every reason of a Deployment's Progressing condition names the new ReplicaSet
# in quotes: 'ReplicaSet "web-5d4f8c7b9" is progressing.', 'Created new replica set "..."'.
_RS_IN_MESSAGE = re.compile(r'[Rr]eplica ?[Ss]et "([^"]+)"')
_JOB_OWNER_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")


def _int(value: object, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) else default


def _observed(obj: Obj) -> bool:
    generation = meta(obj).get("generation")
    observed = status_of(obj).get("observedGeneration")
    return generation is None or (observed is not None and observed >= generation)


def _evaluate(pods: Sequence[Obj], now: datetime, tol: Tolerances, events: Sequence[Obj]) -> list[PodStatus]:
    index = index_events(events)
    return [pod_status(p, now, tol, indexed_events_for(p, index)) for p in pods]


def _partition(pods: Sequence[Obj], is_current: Callable[[Obj], bool]) -> tuple[list[Obj], list[Obj]]:
    current: list[Obj] = []
    old: list[Obj] = []
    for pod in pods:
        (current if is_current(pod) else old).append(pod)
    return current, old


def _replaced_by_controller(statuses: Sequence[PodStatus]) -> list[Problem]:
    """Problems of a controller's current pods; a pod in phase Failed (evicted, node
    lost) is replaced by its controller, so its problems are only warnings."""
    problems: list[Problem] = []
    for status in statuses:
        if status.phase == "Failed":
            problems += [dataclasses.replace(p, fatal=False) for p in status.problems]
        else:
            problems += status.problems
    return problems


def _state(problems: Sequence[Problem], complete: bool) -> State:
    if any(p.fatal for p in problems):
        return State.FAILED
    return State.READY if complete else State.PROGRESSING


def _workload_problem(obj: Obj, reason: str, message: str, fatal: bool, since: datetime | None,
                      *, exit_code: int | None = None) -> Problem:
    return Problem(obj.get("kind") or "", meta(obj).get("name") or "", None, reason, trim(message),
                   fatal, since, exit_code)


# Deployments ----------------------------------------------------------------


def current_replicaset_name(deployment: Obj, pods: Sequence[Obj], replicasets: Sequence[Obj]) -> str | None:
    """The name of the ReplicaSet the Deployment is rolling out, or None if unknown.

    In order: the owned ReplicaSet with the highest ``deployment.kubernetes.io/revision``
    annotation; else the ReplicaSet named in the Progressing condition's message
    (every reason of that condition names it); else the ReplicaSet of the newest pod.
    None while the controller has not observed the Deployment's latest generation:
    the new ReplicaSet may not exist yet, and every pod present is old.
    """
    if not _observed(deployment):
        return None
    owned = [rs for rs in replicasets if owned_by(rs, deployment)]
    if owned:
        newest = max(owned, key=lambda rs: (_to_int(annotations_of(rs).get(_REVISION)) or 0,
                                            meta(rs).get("creationTimestamp") or ""))
        return meta(newest).get("name")
    progressing = condition(deployment, "Progressing") or {}
    match = _RS_IN_MESSAGE.search(progressing.get("message") or "")
    if match:
        return match.group(1)
    if pods and _int(status_of(deployment).get("updatedReplicas")) > 0:
        newest_pod = max(pods, key=lambda p: meta(p).get("creationTimestamp") or "")
        owner = next((r for r in meta(newest_pod).get("ownerReferences") or () if r.get("controller")), None)
        if owner:
            return owner.get("name")
    return None


def _to_int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _rs_of(pod: Obj) -> str | None:
    for ref in meta(pod).get("ownerReferences") or ():
        if ref.get("kind") == "ReplicaSet" and ref.get("controller"):
            return ref.get("name")
    return None


def _deployment(obj: Obj, pods: Sequence[Obj], now: datetime, tol: Tolerances,
                events: Sequence[Obj], replicasets: Sequence[Obj]) -> WorkloadStatus:
    spec, st = obj.get("spec") or {}, status_of(obj)
    name = meta(obj).get("name") or ""
    desired = _int(spec.get("replicas"), 1)
    updated = _int(st.get("updatedReplicas"))
    ready = _int(st.get("readyReplicas"))
    available = _int(st.get("availableReplicas"))
    total = _int(st.get("replicas"))
    observed = _observed(obj)

    rs_name = current_replicaset_name(obj, pods, replicasets)
    rs_hash = rs_name[len(name) + 1:] if rs_name and rs_name.startswith(name + "-") else None
    current, old = _partition(
        pods,
        lambda p: rs_name is not None
        and (_rs_of(p) == rs_name or (rs_hash is not None and labels(p).get(_TEMPLATE_HASH) == rs_hash)),
    )
    current_statuses = _evaluate(current, now, tol, events)

    problems: list[Problem] = []
    if observed:
        progressing = condition(obj, "Progressing") or {}
        if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
            problems.append(_workload_problem(
                obj, "ProgressDeadlineExceeded", progressing.get("message") or "", True,
                parse_time(progressing.get("lastTransitionTime"))))
        failure = condition(obj, "ReplicaFailure") or {}
        if failure.get("status") == "True":
            since = parse_time(failure.get("lastTransitionTime"))
            elapsed = seconds_since(since, now) or 0.0
            problems.append(_workload_problem(
                obj, failure.get("reason") or "ReplicaFailure", failure.get("message") or "",
                elapsed > tol.unschedulable_grace, since))
    problems += _replaced_by_controller(current_statuses)

    complete = observed and updated >= desired and total <= updated and available >= updated
    # Progress of the new version: while old replicas remain, readyReplicas mixes
    # old and new, so count the new version's ready pods (a rollout whose new pods
    # fail must not read as "2/2 ready"); without old replicas the controller's
    # count is the new version's and agrees with the verdict even when pod events
    # arrive after the Deployment's.
    mid_rollout = total > updated and rs_name is not None
    new_ready = sum(1 for p in current_statuses if p.ready) if mid_rollout else ready
    text = f"{new_ready}/{desired} ready, {updated}/{desired} updated"
    if total > updated:
        text += f", {total - updated} old still running"
    if not observed:
        text += ", waiting for the controller"
    return WorkloadStatus(
        kind="Deployment", name=name, component=component_of(obj), desired=desired, ready=new_ready,
        updated=updated, available=available, state=_state(problems, complete), problems=problems,
        pods=current_statuses, progress_text=text, old_pods=_evaluate(old, now, tol, events),
        old=max(0, total - updated),
    )


# StatefulSets and DaemonSets ------------------------------------------------


def _statefulset(obj: Obj, pods: Sequence[Obj], now: datetime, tol: Tolerances,
                 events: Sequence[Obj]) -> WorkloadStatus:
    spec, st = obj.get("spec") or {}, status_of(obj)
    desired = _int(spec.get("replicas"), 1)
    ready = _int(st.get("readyReplicas"))
    updated = _int(st.get("updatedReplicas"))
    available = _int(st.get("availableReplicas"), ready)
    observed = _observed(obj)
    update_revision = st.get("updateRevision")

    current, old = _partition(
        pods,
        lambda p: observed and (update_revision is None or labels(p).get(_REVISION_HASH) == update_revision),
    )
    current_statuses = _evaluate(current, now, tol, events)
    problems = _replaced_by_controller(current_statuses)

    strategy = spec.get("updateStrategy") or {}
    partition = _int((strategy.get("rollingUpdate") or {}).get("partition"))
    if not observed or ready < desired:
        complete = False
    elif strategy.get("type") == "OnDelete":
        complete = True
    elif partition > 0:
        complete = updated >= desired - partition
    else:
        complete = update_revision is None or st.get("currentRevision") == update_revision
    text = f"{ready}/{desired} ready, {updated}/{desired} updated"
    if old:
        text += f", {len(old)} old still running"
    if not observed:
        text += ", waiting for the controller"
    return WorkloadStatus(
        kind="StatefulSet", name=meta(obj).get("name") or "", component=component_of(obj),
        desired=desired, ready=ready, updated=updated, available=available,
        state=_state(problems, complete), problems=problems, pods=current_statuses,
        progress_text=text, old_pods=_evaluate(old, now, tol, events), old=len(old),
    )


def _daemonset(obj: Obj, pods: Sequence[Obj], now: datetime, tol: Tolerances,
               events: Sequence[Obj]) -> WorkloadStatus:
    st = status_of(obj)
    desired = _int(st.get("desiredNumberScheduled"))
    ready = _int(st.get("numberReady"))
    updated = _int(st.get("updatedNumberScheduled"))
    available = _int(st.get("numberAvailable"))
    observed = _observed(obj)
    generation = annotations_of(obj).get(_DS_GENERATION)

    current, old = _partition(
        pods,
        lambda p: observed and (generation is None or labels(p).get(_POD_TEMPLATE_GENERATION) == generation),
    )
    current_statuses = _evaluate(current, now, tol, events)
    problems = _replaced_by_controller(current_statuses)
    on_delete = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type") == "OnDelete"
    complete = observed and ready >= desired and (on_delete or (updated >= desired and available >= desired))
    return WorkloadStatus(
        kind="DaemonSet", name=meta(obj).get("name") or "", component=component_of(obj),
        desired=desired, ready=ready, updated=updated, available=available,
        state=_state(problems, complete), problems=problems, pods=current_statuses,
        progress_text=f"{ready}/{desired} ready, {updated}/{desired} updated",
        old_pods=_evaluate(old, now, tol, events),
    )


# Jobs and bare pods ---------------------------------------------------------


def _job_pod(pod: Obj, job: Obj) -> bool:
    uid = meta(job).get("uid")
    if uid and any(labels(pod).get(key) == uid for key in _JOB_OWNER_UID_LABELS):
        return True
    return owned_by(pod, job) or not meta(pod).get("ownerReferences")


def _job(obj: Obj, pods: Sequence[Obj], now: datetime, tol: Tolerances,
         events: Sequence[Obj]) -> WorkloadStatus:
    spec, st = obj.get("spec") or {}, status_of(obj)
    name = meta(obj).get("name") or ""
    desired = _int(spec.get("completions"), 1)
    succeeded, failed, active = (_int(st.get(k)) for k in ("succeeded", "failed", "active"))
    mine = [p for p in pods if _job_pod(p, obj)]
    statuses = _evaluate(mine, now, tol, events)

    def true(type_: str) -> Obj | None:
        cond = condition(obj, type_)
        return cond if cond and cond.get("status") == "True" else None

    failed_cond = true("Failed") or true("FailureTarget")
    pod_problems = [p for s in statuses for p in s.problems]
    problems: list[Problem] = []
    if failed_cond:
        last_crash = _newest_crash(pod_problems)
        message = failed_cond.get("message") or ""
        if last_crash:
            message += f"; pod {last_crash.object_name}: {last_crash.message}"
        problems.append(_workload_problem(
            obj, failed_cond.get("reason") or "Failed", message, True,
            parse_time(failed_cond.get("lastTransitionTime")),
            exit_code=last_crash.exit_code if last_crash else None))
        problems += pod_problems
        state = State.FAILED
    else:
        # The Job controller retries crashed pods within backoffLimit: only
        # problems waiting cannot fix (no image, unschedulable) fail it early.
        problems += [dataclasses.replace(p, fatal=False) if p.crash else p for p in pod_problems]
        if any(p.fatal for p in problems):
            state = State.FAILED
        elif true("Complete") or true("SuccessCriteriaMet"):
            state = State.SUCCEEDED
        elif spec.get("suspend"):
            state = State.PENDING
        else:
            state = State.PROGRESSING

    text = f"{succeeded}/{desired} complete"
    if active:
        text += f", {active} active"
    if failed:
        text += f", {failed} failed (backoff limit {_int(spec.get('backoffLimit'), 6)})"
    if spec.get("suspend") and state is State.PENDING:
        text += ", suspended"
    return WorkloadStatus(
        kind="Job", name=name, component=component_of(obj), desired=desired, ready=succeeded,
        updated=desired, available=succeeded, state=state, problems=problems, pods=statuses,
        progress_text=text,
    )


def _newest_crash(problems: Sequence[Problem]) -> Problem | None:
    crashes = [p for p in problems if p.crash and p.exit_code is not None] or [p for p in problems if p.crash]
    if not crashes:
        return None
    return max(crashes, key=lambda p: p.since.timestamp() if p.since else 0.0)


def _bare_pod(obj: Obj, now: datetime, tol: Tolerances, events: Sequence[Obj]) -> WorkloadStatus:
    status = pod_status(obj, now, tol, events)
    done = 1 if status.state in (State.READY, State.SUCCEEDED) else 0
    return WorkloadStatus(
        kind="Pod", name=status.name, component=status.component, desired=1, ready=done,
        updated=1, available=done, state=status.state, problems=status.problems, pods=[status],
        progress_text=status.short_status,
    )


def workload_status(
    obj: Obj,
    pods: Sequence[Obj],
    now: datetime,
    tol: Tolerances = DEFAULT_TOLERANCES,
    events: Sequence[Obj] = (),
    replicasets: Sequence[Obj] = (),
) -> WorkloadStatus:
    """The rollout state of one workload at ``now``.

    ``pods`` are the workload's pods (select them by the instance and component
    labels; pods of other revisions may be included and are sorted out here);
    ``events`` may be the namespace's Events; ``replicasets`` the Deployment's
    ReplicaSets, which pin down the current revision exactly (without them it
    is read from the Progressing condition).

    * Deployment: READY once the controller observed the latest generation and
      ``updatedReplicas >= spec.replicas``, no old replicas remain and
      ``availableReplicas >= updatedReplicas`` (as ``kubectl rollout status``).
      FAILED on Progressing False ``ProgressDeadlineExceeded``, on
      ``ReplicaFailure`` lasting past ``unschedulable_grace``, or on any fatal
      problem of a pod of the current ReplicaSet.  Pods of older ReplicaSets
      never fail it.
    * StatefulSet: the same with ``updateRevision``/``currentRevision``
      (partitions and OnDelete respected); current pods by ``controller-revision-hash``.
    * DaemonSet: ``updatedNumberScheduled``/``numberAvailable`` against
      ``desiredNumberScheduled``; current pods by ``pod-template-generation``.
    * Job: SUCCEEDED on Complete (or SuccessCriteriaMet), FAILED on Failed (or
      FailureTarget) with the condition's reason (``BackoffLimitExceeded``,
      ``DeadlineExceeded``) and the last failed pod's exit code; a crashed pod
      while retries remain is a warning; PENDING while suspended.
    * Pod (a helm test pod): the pod's own state.

    A pod in phase Failed under a Deployment, StatefulSet or DaemonSet is
    replaced by its controller, so its problems are warnings.
    """
    now = aware(now)
    kind = obj.get("kind")
    if kind == "Deployment":
        return _deployment(obj, pods, now, tol, events, replicasets)
    if kind == "StatefulSet":
        return _statefulset(obj, pods, now, tol, events)
    if kind == "DaemonSet":
        return _daemonset(obj, pods, now, tol, events)
    if kind == "Job":
        return _job(obj, pods, now, tol, events)
    if kind == "Pod":
        return _bare_pod(obj, now, tol, events)
    raise ValueError(f"cannot track a {kind or 'kindless object'}: only Deployment, StatefulSet, "
                     "DaemonSet, Job and Pod")


def release_verdict(workloads: Sequence[WorkloadStatus]) -> Verdict:
    """One verdict over all workloads of a release.

    FAILED if any problem is fatal; READY when every workload is READY or
    SUCCEEDED (also when there are none); else PROGRESSING.  ``problems`` are
    all workloads' problems, fatal ones first.  ``summary`` is one line:
    ``failed: Deployment dummy-web: Pod ...: ImagePullBackOff: ...``,
    ``ready: 3/3 procs ready``, or
    ``progressing: 1/2 procs ready; waiting for web (2/3 ready, 3/3 updated)``.
    Procs are the long-running workloads; jobs are counted apart.
    """
    workloads = list(workloads)
    problems = [p for w in workloads for p in w.problems]
    problems.sort(key=lambda p: not p.fatal)
    done = [w.state in (State.READY, State.SUCCEEDED) for w in workloads]
    verdict = Verdict(State.PROGRESSING, problems, "", workloads)
    if any(p.fatal for p in problems):
        failure = verdict.first_failure()
        state, summary = State.FAILED, f"failed: {failure.describe() if failure else ''}"
    elif all(done):
        state, summary = State.READY, f"ready: {_counts(workloads, done)}" if workloads else "ready: nothing to roll out"
    else:
        waiting = [w for w, ok in zip(workloads, done, strict=True) if not ok]
        parts = ", ".join(f"{w.component or w.name} ({w.progress_text})" for w in waiting)
        state = State.PROGRESSING
        summary = f"progressing: {_counts(workloads, done)}; waiting for {parts}"
    return dataclasses.replace(verdict, state=state, summary=summary)


_PROC_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def _counts(workloads: Sequence[WorkloadStatus], done: Sequence[bool]) -> str:
    """``2/2 procs ready``, ``1/2 procs ready, 0/1 jobs complete``: procs and jobs apart."""
    procs = [ok for w, ok in zip(workloads, done, strict=True) if w.kind in _PROC_KINDS]
    others = [ok for w, ok in zip(workloads, done, strict=True) if w.kind not in _PROC_KINDS]
    parts = []
    if procs or not others:
        parts.append(f"{sum(procs)}/{len(procs)} proc{'' if len(procs) == 1 else 's'} ready")
    if others:
        parts.append(f"{sum(others)}/{len(others)} job{'' if len(others) == 1 else 's'} complete")
    return ", ".join(parts)
