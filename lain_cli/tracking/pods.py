"""Verdicts over single pods: what state each is in, what is wrong, and whether
that is still within tolerance."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from .model import DEFAULT_TOLERANCES, PodStatus, Problem, State, Tolerances
from .objects import (
    Obj,
    aware,
    component_of,
    condition,
    controller_ref,
    event_container,
    event_count,
    event_first_time,
    event_last_time,
    events_for,
    meta,
    parse_time,
    seconds_since,
    status_of,
    trim,
)

PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "RegistryUnavailable"})
# Kubelet messages for images that do not exist (or that we may not see, which,
# for a deploy, is the same: waiting will not help).
_IMAGE_MISSING = re.compile(
    r"not found|manifest unknown|repository does not exist|pull access denied|name unknown",
    re.IGNORECASE,
)
_IMAGE_MISSING_CODE = re.compile(r"\bNotFound\b")
# runc cannot start the command at all: the image is wrong, a restart cannot fix it.
_COMMAND_MISSING = re.compile(
    r'exec: "[^"]*": .*(?:executable file not found|no such file or directory|permission denied)'
)
# Before Kubernetes 1.32 the back-off message does not say why the pull failed.
_BARE_PULL_BACKOFF = re.compile(r'Back-off pulling image "[^"]*"')
_CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError"})
_STARTING_REASONS = frozenset({"", "ContainerCreating", "PodInitializing"})
# Pod events worth a warning while containers are still being created.
_SETUP_WARNINGS = frozenset({"FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox"})

_DEFAULT_PERIOD = 10
_DEFAULT_FAILURE_THRESHOLD = 3
_DEFAULT_TIMEOUT = 1


def image_missing(message: str) -> bool:
    """Whether a pull error says the image or tag does not exist (or may not be pulled)."""
    return bool(_IMAGE_MISSING.search(message) or _IMAGE_MISSING_CODE.search(message))


def _probe_budget(probe: Obj | None) -> float:
    if not probe:
        return 0.0
    return float(
        (probe.get("initialDelaySeconds") or 0)
        + (probe.get("periodSeconds") or _DEFAULT_PERIOD)
        * (probe.get("failureThreshold") or _DEFAULT_FAILURE_THRESHOLD)
        + (probe.get("timeoutSeconds") or _DEFAULT_TIMEOUT)
    )


def readiness_budget(container: Obj, tol: Tolerances = DEFAULT_TOLERANCES) -> float:
    """Seconds a running container may stay not ready before lain fails it.

    ``tol.readiness_grace`` if set; otherwise the readinessProbe's own budget,
    ``initialDelaySeconds + periodSeconds * failureThreshold + timeoutSeconds``
    (Kubernetes defaults 0, 10, 3, 1: 31 s), or ``tol.no_probe_readiness_grace``
    without a readinessProbe; plus the startupProbe's budget computed the same
    way, since readiness probing only begins once the startup probe passed.
    """
    if tol.readiness_grace is not None:
        return tol.readiness_grace
    readiness = container.get("readinessProbe")
    base = _probe_budget(readiness) if readiness else tol.no_probe_readiness_grace
    return base + _probe_budget(container.get("startupProbe"))


def _describe_termination(term: Obj, already_said: str = "") -> str:
    """``Error, exit code 1: <termination message>``; the termination message is left
    out when ``already_said`` contains it (a StartError repeats the waiting message)."""
    reason = term.get("reason") or "Error"
    text = f"{reason}, exit code {term.get('exitCode', '?')}"
    if term.get("signal"):
        text += f", signal {term['signal']}"
    message = trim(term.get("message"))
    if message and message not in already_said:
        text += f": {trim(message, 200)}"
    return text


def _memory_limit(spec: Obj) -> str | None:
    return ((spec.get("resources") or {}).get("limits") or {}).get("memory")


class _PodReader:
    """The inputs of one pod verdict, with the lookups the rules share."""

    def __init__(self, pod: Obj, now: datetime, tol: Tolerances, events: Iterable[Obj]) -> None:
        self.pod = pod
        self.now = aware(now)
        self.tol = tol
        self.md = meta(pod)
        self.spec = pod.get("spec") or {}
        self.status = status_of(pod)
        self.name = self.md.get("name") or ""
        self.events = events_for(pod, events)
        self.restart_policy = self.spec.get("restartPolicy") or "Always"
        self.specs = {
            c.get("name"): c
            for c in [*(self.spec.get("initContainers") or ()), *(self.spec.get("containers") or ())]
        }

    # helpers ---------------------------------------------------------------

    def elapsed(self, since: datetime | None) -> float:
        seconds = seconds_since(since, self.now)
        return 0.0 if seconds is None else seconds

    def pod_started(self) -> datetime | None:
        return parse_time(self.status.get("startTime")) or parse_time(self.md.get("creationTimestamp"))

    def container_events(self, container: str, reason: str | None = None) -> list[Obj]:
        return [
            e
            for e in self.events
            if event_container(e) == container and (reason is None or e.get("reason") == reason)
        ]

    def problem(self, container: str | None, reason: str, message: str, fatal: bool,
                since: datetime | None, *, exit_code: int | None = None, crash: bool = False) -> Problem:
        return Problem("Pod", self.name, container, reason, trim(message), fatal, since, exit_code, crash)

    # rules -----------------------------------------------------------------

    def scheduling(self) -> list[Problem]:
        cond = condition(self.pod, "PodScheduled")
        if not cond or cond.get("status") != "False" or cond.get("reason") != "Unschedulable":
            return []
        since = parse_time(cond.get("lastTransitionTime")) or parse_time(self.md.get("creationTimestamp"))
        message = cond.get("message") or ""
        if not message:
            failed = [e for e in self.events if e.get("reason") == "FailedScheduling"]
            message = failed[-1].get("message", "") if failed else "no node fits the pod"
        scale_ups = [e for e in self.events if e.get("reason") == "TriggeredScaleUp"]
        if scale_ups:
            message += f"; cluster autoscaler: {scale_ups[-1].get('message', '')}"
        fatal = not scale_ups and self.elapsed(since) > self.tol.unschedulable_grace
        return [self.problem(None, "Unschedulable", message, fatal, since)]

    def setup_warnings(self) -> list[Problem]:
        found: dict[str, Obj] = {}
        for event in self.events:
            if event.get("reason") in _SETUP_WARNINGS:
                found[event["reason"]] = event
        return [
            self.problem(None, reason, e.get("message", ""), False, event_first_time(e))
            for reason, e in found.items()
        ]

    def container(self, cs: Obj, init: bool) -> list[Problem]:
        state = cs.get("state") or {}
        if "waiting" in state:
            return self.waiting(cs, state["waiting"] or {})
        if self.between_crashes(cs, init):
            return [self.crash_loop_between(cs, state)]
        if "terminated" in state:
            return self.terminated(cs, state["terminated"] or {}, init)
        if "running" in state and not init and not cs.get("ready"):
            return self.not_ready(cs, state["running"] or {})
        return []

    def waiting(self, cs: Obj, waiting: Obj) -> list[Problem]:
        reason = waiting.get("reason") or ""
        message = waiting.get("message") or ""
        name = cs.get("name") or ""
        if reason in _STARTING_REASONS:
            return []
        if reason in PULL_REASONS:
            return [self.pull(name, reason, message)]
        if reason in ("CrashLoopBackOff", "RunContainerError"):
            return [self.crash(cs, reason, message)]
        if reason in self.tol.fatal_reasons:
            failed = self.container_events(name, "Failed")
            since = event_first_time(failed[0]) if failed else self.waiting_since(cs)
            fatal = reason not in _CONFIG_REASONS or self.elapsed(since) > self.tol.config_grace
            return [self.problem(name, reason, message, fatal, since)]
        return [self.problem(name, reason, message, False, self.waiting_since(cs))]

    def waiting_since(self, cs: Obj) -> datetime | None:
        last = (cs.get("lastState") or {}).get("terminated") or {}
        return parse_time(last.get("finishedAt")) or self.pod_started()

    def pull(self, name: str, reason: str, message: str) -> Problem:
        failures = [
            e
            for e in self.container_events(name, "Failed")
            if (e.get("message") or "").startswith("Failed to pull image")
        ]
        since = event_first_time(failures[0]) if failures else self.pod_started()
        if failures and (not message or _BARE_PULL_BACKOFF.fullmatch(message)):
            detail = failures[-1].get("message") or ""
            message = f"{message}: {detail.split(': ', 1)[-1]}" if message else detail
        missing = image_missing(message) or any(image_missing(e.get("message") or "") for e in failures[-1:])
        fatal = missing or self.elapsed(since) > self.tol.pull_grace
        return self.problem(name, reason, message, fatal, since)

    def crash(self, cs: Obj, reason: str, message: str) -> Problem:
        """A container waiting to be restarted after it exited or could not start."""
        name = cs.get("name") or ""
        restarts = int(cs.get("restartCount") or 0)
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if last:
            message = f"{message}; last terminated: {_describe_termination(last, trim(message))}"
            if last.get("reason") == "OOMKilled":
                reason = "OOMKilled"
        message += self.crash_notes(name, reason)
        command_missing = bool(_COMMAND_MISSING.search(message))
        fatal = command_missing or restarts > self.tol.max_restarts
        since = parse_time(last.get("finishedAt")) or self.pod_started()
        return self.problem(name, reason, message, fatal, since,
                            exit_code=last.get("exitCode"), crash=True)

    def between_crashes(self, cs: Obj, init: bool) -> bool:
        """Whether a container past ``max_restarts`` that is not ready is only between
        two crashes: just exited, or started again and not yet ready.  The kubelet
        shows CrashLoopBackOff for most of the loop, and Error or Running for the
        moments around each restart; the verdict must not flicker with them."""
        # A failed init container is retried unless the pod's policy is Never.
        restarted = self.restart_policy != "Never" if init else self.restart_policy == "Always"
        return (
            restarted
            and not cs.get("ready")
            and int(cs.get("restartCount") or 0) > self.tol.max_restarts
            and bool((cs.get("lastState") or {}).get("terminated"))
        )

    def crash_loop_between(self, cs: Obj, state: Obj) -> Problem:
        """A crash loop seen between its back-offs (see :meth:`between_crashes`)."""
        name = cs.get("name") or ""
        restarts = int(cs.get("restartCount") or 0)
        current = state.get("terminated") or {}
        last = current or (cs.get("lastState") or {}).get("terminated") or {}
        reason = "OOMKilled" if last.get("reason") == "OOMKilled" else "CrashLoopBackOff"
        if current:
            message = f"container {name} restarted {restarts} times and exited again: {_describe_termination(current)}"
        else:
            started = parse_time((state.get("running") or {}).get("startedAt"))
            message = (
                f"container {name} restarted {restarts} times, running again for "
                f"{self.elapsed(started):.0f}s, not ready; last terminated: {_describe_termination(last)}"
            )
        message += self.crash_notes(name, reason)
        since = parse_time(last.get("finishedAt")) or self.pod_started()
        return self.problem(name, reason, message, True, since, exit_code=last.get("exitCode"), crash=True)

    def crash_notes(self, name: str, reason: str) -> str:
        """What a crash message adds: the memory limit of an OOMKilled container, the
        liveness probe's last failure."""
        notes = ""
        if reason == "OOMKilled":
            limit = _memory_limit(self.specs.get(name) or {})
            if limit:
                notes += f" (memory limit {limit})"
        liveness = self.liveness_failure(name)
        if liveness:
            notes += f"; {liveness}"
        return notes

    def liveness_failure(self, name: str) -> str | None:
        unhealthy = [
            e
            for e in self.container_events(name, "Unhealthy")
            if (e.get("message") or "").startswith("Liveness probe failed")
        ]
        return unhealthy[-1].get("message") if unhealthy else None

    def terminated(self, cs: Obj, term: Obj, init: bool) -> list[Problem]:
        """A container that is down right now, between a crash and its restart, or for good."""
        name = cs.get("name") or ""
        code = term.get("exitCode")
        will_restart = self.restart_policy == "Always" or (
            self.restart_policy == "OnFailure" and code != 0
        )
        if code == 0 and (init or self.restart_policy != "Always"):
            return []
        reason = "OOMKilled" if term.get("reason") == "OOMKilled" else (term.get("reason") or "Error")
        message = f"container {name} terminated: {_describe_termination(term)}"
        restarts = int(cs.get("restartCount") or 0)
        fatal = not will_restart or restarts > self.tol.max_restarts
        since = parse_time(term.get("finishedAt"))
        return [self.problem(name, reason, message, fatal, since, exit_code=code, crash=True)]

    def not_ready(self, cs: Obj, running: Obj) -> list[Problem]:
        name = cs.get("name") or ""
        ready_cond = condition(self.pod, "Ready") or {}
        candidates = [parse_time(running.get("startedAt")), parse_time(ready_cond.get("lastTransitionTime"))]
        known = [c for c in candidates if c is not None]
        since = max(known) if known else self.pod_started()
        budget = readiness_budget(self.specs.get(name) or {}, self.tol)
        probe = "Startup probe failed" if cs.get("started") is False else "Readiness probe failed"
        unhealthy = [
            e
            for e in self.container_events(name, "Unhealthy")
            if (e.get("message") or "").startswith(probe)
        ]
        elapsed = self.elapsed(since)
        if elapsed > budget:
            last = (cs.get("lastState") or {}).get("terminated") or {}
            if last and int(cs.get("restartCount") or 0) > 0:
                # It crashed before and is not ready since it came back: the crash is the
                # news (OOMKilled, an exit code), not the readiness probe.
                reason = "OOMKilled" if last.get("reason") == "OOMKilled" else "CrashLoopBackOff"
                message = (f"container {name} restarted {cs.get('restartCount')} times and is not ready "
                           f"(for {elapsed:.0f}s, readiness grace {budget:g}s); last terminated: "
                           f"{_describe_termination(last)}")
                return [self.problem(name, reason, message, True, since, exit_code=last.get("exitCode"),
                                     crash=True)]
            message = (
                unhealthy[-1].get("message", "")
                if unhealthy
                else f"container {name} has been running {elapsed:.0f}s without becoming ready"
            )
            message += f" (not ready for {elapsed:.0f}s, readiness grace {budget:g}s)"
            return [self.problem(name, "NotReady", message, True, since)]
        if unhealthy:
            return [self.problem(name, "NotReady", unhealthy[-1].get("message", ""), False, since)]
        return []

    def failed_pod(self) -> list[Problem]:
        """Why a pod in phase Failed failed: the pod's reason (Evicted, DeadlineExceeded)
        and every container that exited non-zero."""
        problems = []
        if self.status.get("reason"):
            problems.append(
                self.problem(None, self.status["reason"], self.status.get("message") or "", True, None,
                             crash=True)
            )
        statuses = [*(self.status.get("initContainerStatuses") or ()),
                    *(self.status.get("containerStatuses") or ())]
        for cs in statuses:
            term = (cs.get("state") or {}).get("terminated") or {}
            if term and term.get("exitCode") != 0:
                name = cs.get("name") or ""
                reason = term.get("reason") or "Error"
                message = f"container {name} exited with code {term.get('exitCode', '?')}"
                if term.get("message"):
                    message += f": {term['message']}"
                problems.append(
                    self.problem(name, reason, message, True, parse_time(term.get("finishedAt")),
                                 exit_code=term.get("exitCode"), crash=True)
                )
        if not problems:
            problems.append(self.problem(None, "Failed", self.status.get("message") or "pod failed",
                                         True, None, crash=True))
        return problems


def _init_done(cs: Obj, spec: Obj) -> bool:
    term = (cs.get("state") or {}).get("terminated") or {}
    if term and term.get("exitCode") == 0:
        return True
    # A sidecar (an init container that restarts Always) counts once started.
    return spec.get("restartPolicy") == "Always" and bool(cs.get("started"))


def short_status(pod: Obj) -> str:
    """What the STATUS column of ``kubectl get pods`` shows for ``pod``.

    A port of kubectl's ``printPod``: ``Running``, ``Pending``,
    ``ContainerCreating``, ``ImagePullBackOff``, ``CrashLoopBackOff``,
    ``Init:0/1``, ``Init:CrashLoopBackOff``, ``Completed``, ``Error``,
    ``OOMKilled``, ``NotReady``, ``Terminating``, ``SchedulingGated``...
    """
    st = status_of(pod)
    spec = pod.get("spec") or {}
    reason = st.get("reason") or st.get("phase") or "Pending"
    if st.get("phase") == "Pending" and (condition(pod, "PodScheduled") or {}).get("reason") == "SchedulingGated":
        reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or ()}
    init_total = len(spec.get("initContainers") or ())
    initializing = False
    for index, cs in enumerate(st.get("initContainerStatuses") or ()):
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting") or {}
        if _init_done(cs, init_specs.get(cs.get("name")) or {}):
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{init_total}"
        initializing = True
        break
    initialized = (condition(pod, "Initialized") or {}).get("status") == "True"
    if not initializing or initialized:
        has_running = False
        for cs in reversed(st.get("containerStatuses") or ()):
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            term = state.get("terminated")
            if waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and "running" in state:
                has_running = True
        if reason == "Completed" and has_running:
            ready = (condition(pod, "Ready") or {}).get("status") == "True"
            reason = "Running" if ready else "NotReady"
    deleting = meta(pod).get("deletionTimestamp") is not None
    if deleting and st.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and st.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason


def pod_status(
    pod: Obj, now: datetime, tol: Tolerances = DEFAULT_TOLERANCES, events: Sequence[Obj] = ()
) -> PodStatus:
    """The state of one pod at ``now``, with its problems.

    ``events`` may be all Events of the namespace; those about this pod (by
    involvedObject uid, else name) are used: they say why an image pull failed
    when the back-off message does not, since when a pull has been failing,
    the readiness probe's last failure, and whether the cluster autoscaler is
    adding a node for an unschedulable pod.

    Rules, in short (see :class:`Tolerances`): a pod being deleted is
    PROGRESSING and has no problems; phase Succeeded is SUCCEEDED; phase Failed
    is FAILED with a fatal problem per failed container.  Otherwise every
    container not yet done is checked, init containers first, and the pod is
    FAILED if any problem is fatal, PENDING while not yet on a node, READY when
    its Ready condition is True, else PROGRESSING.
    """
    reader = _PodReader(pod, now, tol, events)
    st, md, spec = reader.status, reader.md, reader.spec
    phase = st.get("phase") or "Pending"
    init_statuses = st.get("initContainerStatuses") or []
    statuses = st.get("containerStatuses") or []
    restarts = sum(int(cs.get("restartCount") or 0) for cs in [*init_statuses, *statuses])
    ready = (condition(pod, "Ready") or {}).get("status") == "True"
    scheduled = bool(spec.get("nodeName")) or (condition(pod, "PodScheduled") or {}).get("status") == "True"

    problems: list[Problem] = []
    if md.get("deletionTimestamp") is not None and phase not in ("Succeeded", "Failed"):
        state = State.PROGRESSING
    elif phase == "Succeeded":
        state = State.SUCCEEDED
    elif phase == "Failed":
        state = State.FAILED
        problems = reader.failed_pod()
    else:
        problems += reader.scheduling()
        init_specs = {c.get("name"): c for c in spec.get("initContainers") or ()}
        initializing = False
        for cs in init_statuses:
            if not _init_done(cs, init_specs.get(cs.get("name")) or {}):
                problems += reader.container(cs, init=True)
                initializing = True
                break
        if not initializing:
            for cs in statuses:
                problems += reader.container(cs, init=False)
        if scheduled and phase == "Pending" and not any(p.fatal for p in problems):
            problems += reader.setup_warnings()
        if any(p.fatal for p in problems):
            state = State.FAILED
        elif not scheduled:
            state = State.PENDING
        elif ready:
            state = State.READY
        else:
            state = State.PROGRESSING

    created = parse_time(md.get("creationTimestamp"))
    owner = controller_ref(pod)
    return PodStatus(
        name=reader.name,
        phase=phase,
        ready=ready,
        restarts=restarts,
        state=state,
        problems=problems,
        age_seconds=seconds_since(created, reader.now),
        node=spec.get("nodeName"),
        component=component_of(pod),
        owner=f"{owner.get('kind')}/{owner.get('name')}" if owner else None,
        images={c.get("name", ""): c.get("image", "") for c in spec.get("containers") or ()},
        short_status=short_status(pod),
        ready_containers=sum(1 for cs in statuses if cs.get("ready")),
        total_containers=len(spec.get("containers") or ()),
    )


def _event_age(event: Obj, now: datetime | None) -> str:
    last = event_last_time(event)
    if last is None:
        return ""
    if now is None:
        return f"at {last.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    return f"{_duration((aware(now) - last).total_seconds())} ago"


def _duration(seconds: float) -> str:
    """kubectl-style short durations: ``3s``, ``2m5s``, ``1h4m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60}m" if rest >= 60 else f"{hours}h"


def failure_details(pod: Obj, events: Sequence[Obj], now: datetime | None = None) -> list[str]:
    """The events about ``pod``, oldest first, one line each, for failure output:
    ``Warning BackOff (x5, last 3s ago): Back-off restarting failed container ...``.

    With ``now`` ages are relative (``3s ago``); without it, absolute UTC times.
    """
    lines = []
    for event in events_for(pod, events):
        count = event_count(event)
        age = _event_age(event, now)
        when = age
        if count > 1:
            when = f"x{count}, last {age}" if age else f"x{count}"
        head = f"{event.get('type') or 'Normal'} {event.get('reason') or ''}".rstrip()
        if when:
            head += f" ({when})"
        lines.append(f"{head}: {trim(event.get('message'))}")
    return lines

