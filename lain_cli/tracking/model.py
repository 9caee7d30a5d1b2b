"""The values the tracker returns: tolerances, states, problems and statuses.

All of them are frozen dataclasses, so a verdict computed from one snapshot of
the cluster can be kept, compared with the next one and printed later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

#: Waiting reasons that no amount of waiting fixes.  The two ``Create*`` reasons
#: first get :attr:`Tolerances.config_grace`.
DEFAULT_FATAL_REASONS = frozenset(
    {
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ImageInspectError",
        "SignatureValidationFailed",
    }
)


@dataclass(frozen=True)
class Tolerances:
    """How long, or how often, a rollout may look bad before lain calls it failed.

    ``max_restarts``
        A container that keeps crashing (CrashLoopBackOff, an exit, an
        OOMKilled) fails the rollout once its ``restartCount`` exceeds this.
        A container that restarted and is now running is never a failure.
    ``pull_grace``
        Seconds of image pull errors tolerated (registry hiccups, timeouts),
        counted from the first failed pull.  A pull error that says the image
        or tag does not exist (``not found``, ``manifest unknown``,
        ``NotFound``, ``repository does not exist``, ``pull access denied``,
        ``name unknown``) fails at once.
    ``unschedulable_grace``
        Seconds a pod may stay unschedulable (PodScheduled False,
        ``Unschedulable``) before it fails; also how long a Deployment's
        ``ReplicaFailure`` condition may last.  A pod for which the cluster
        autoscaler has triggered a scale-up is never failed for this.
    ``readiness_grace``
        Seconds a running container may stay not ready.  ``None`` derives it
        from the container's probes (see :func:`readiness_budget`).
    ``no_probe_readiness_grace``
        The derived grace for a container without a readinessProbe.
    ``config_grace``
        Seconds a ``CreateContainerConfigError`` or ``CreateContainerError``
        may last: with helm, a Secret or ConfigMap of the same release often
        appears a moment after the pod that needs it.
    ``fatal_reasons``
        Container waiting reasons that fail at once (after ``config_grace``
        for the two ``Create*`` reasons).
    """

    max_restarts: int = 3
    pull_grace: float = 30.0
    unschedulable_grace: float = 20.0
    readiness_grace: float | None = None
    no_probe_readiness_grace: float = 60.0
    config_grace: float = 10.0
    fatal_reasons: frozenset[str] = DEFAULT_FATAL_REASONS


#: The tolerances used when none are given.
DEFAULT_TOLERANCES = Tolerances()


class State(enum.Enum):
    """Where a pod, a workload or a whole release stands.

    ``PENDING``: waiting for something outside itself to begin (a pod not yet
    placed on a node, a suspended Job).  ``PROGRESSING``: on its way, possibly
    with non-fatal problems.  ``READY``: running and ready (Deployments,
    StatefulSets, DaemonSets, long-running pods).  ``SUCCEEDED``: ran to
    completion (Jobs, test pods).  ``FAILED``: will not get better by waiting.
    """

    PENDING = "pending"
    PROGRESSING = "progressing"
    READY = "ready"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        """True for the states a rollout stops waiting on (READY, SUCCEEDED, FAILED)."""
        return self in (State.READY, State.SUCCEEDED, State.FAILED)


@dataclass(frozen=True)
class Problem:
    """Something wrong with one object, fatal or still within tolerance.

    ``reason`` is the Kubernetes reason where there is one (``ImagePullBackOff``,
    ``CrashLoopBackOff``, ``OOMKilled``, ``Unschedulable``,
    ``BackoffLimitExceeded``, ``ProgressDeadlineExceeded``) and ``NotReady``
    for a container that never passed its readiness probe.  ``message`` is the
    kubelet's or controller's own message on one line, sometimes followed by
    what lain adds (``; last terminated: Error, exit code 1``).  ``fatal``
    means the rollout has failed; otherwise it is a warning.  ``since`` is when
    the condition began, when that is known.  ``exit_code`` is the exit code of
    the container's last termination, if it has one.  ``crash`` is true when
    the container or pod ran and then failed (non-zero exit, OOM, eviction):
    its logs (``--previous``) likely explain it, and a Job retries it within
    its ``backoffLimit``.
    """

    object_kind: str
    object_name: str
    container: str | None
    reason: str
    message: str
    fatal: bool
    since: datetime | None = None
    exit_code: int | None = None
    crash: bool = False

    def describe(self) -> str:
        """One line: ``Pod web-1 (container web): CrashLoopBackOff: back-off 40s ...``."""
        where = f"{self.object_kind} {self.object_name}"
        if self.container:
            where += f" (container {self.container})"
        return f"{where}: {self.reason}: {self.message}" if self.message else f"{where}: {self.reason}"


@dataclass(frozen=True)
class PodStatus:
    """One pod as lain sees it.

    ``restarts`` sums ``restartCount`` over init and app containers.
    ``short_status`` is what the STATUS column of ``kubectl get pods`` shows.
    ``owner`` is ``Kind/name`` of the controlling ownerReference.  ``images``
    maps each app container to its image (from the spec).  ``ready_containers``
    / ``total_containers`` is kubectl's READY column.
    """

    name: str
    phase: str
    ready: bool
    restarts: int
    state: State
    problems: list[Problem]
    age_seconds: float | None
    node: str | None
    component: str | None
    owner: str | None
    images: dict[str, str]
    short_status: str
    ready_containers: int = 0
    total_containers: int = 0

    @property
    def fatal_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]


@dataclass(frozen=True)
class WorkloadStatus:
    """One Deployment, StatefulSet, DaemonSet, Job or bare (test) Pod.

    ``pods`` are the pods of the revision being rolled out; ``old_pods`` those
    of earlier revisions, still present while they are replaced; their
    problems never fail the rollout and are not in ``problems``.  For a Job,
    ``ready`` and ``available`` count succeeded pods and ``updated`` equals
    ``desired`` (``spec.completions``).  ``ready`` counts the new version's
    ready pods only (while old ones still run, the controller's readyReplicas
    mixes both); ``old`` is how many old pods still run.  ``progress_text`` is a
    short human phrase such as ``2/3 ready, 3/3 updated, 1 old still running``:
    every report (the tracker's lines, the status summary, the panel, --json)
    shows these same counts.
    """

    kind: str
    name: str
    component: str | None
    desired: int
    ready: int
    updated: int
    available: int
    state: State
    problems: list[Problem]
    pods: list[PodStatus]
    progress_text: str
    old_pods: list[PodStatus] = field(default_factory=list)
    old: int = 0

    @property
    def label(self) -> str:
        """``Deployment dummy-web`` - how reports name the workload."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Failure:
    """The first fatal problem of a release, with the workload it belongs to."""

    workload: WorkloadStatus
    problem: Problem

    def describe(self) -> str:
        """``Deployment dummy-web: Pod dummy-web-5d4f-x2k4p (container web): ImagePullBackOff: ...``."""
        problem = self.problem
        if (problem.object_kind, problem.object_name) == (self.workload.kind, self.workload.name):
            return problem.describe()
        return f"{self.workload.label}: {problem.describe()}"

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class Verdict:
    """The state of a whole release: FAILED if any problem is fatal, READY when
    every workload is READY or SUCCEEDED, else PROGRESSING.  ``problems`` lists
    fatal ones first."""

    state: State
    problems: list[Problem]
    summary: str
    workloads: list[WorkloadStatus] = field(default_factory=list)

    def first_failure(self) -> Failure | None:
        """The first fatal problem and its workload, for the failure report; None if none."""
        for workload in self.workloads:
            for problem in workload.problems:
                if problem.fatal:
                    return Failure(workload, problem)
        return None
