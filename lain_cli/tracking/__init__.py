"""Rollout tracking: pure verdicts over Kubernetes objects, no I/O.

The deploy command and the status panel feed these functions the objects they
get from ``kubectl get -o json`` or watches (:mod:`lain_cli.watch`) and print
what comes back; nothing here reads the clock, the cluster or the terminal.
``now`` is always an argument, so a verdict is a function of its inputs and
tests are exact.

* :func:`pod_status` - one pod: state, problems, kubectl's STATUS column.
* :func:`workload_status` - a Deployment, StatefulSet, DaemonSet, Job or test
  Pod with its pods; only pods of the revision being rolled out count.
* :func:`release_verdict` - all workloads of a release: FAILED, READY or
  PROGRESSING, with a one-line summary and :meth:`Verdict.first_failure`.
* :func:`failure_details` - a pod's events as lines for the failure report.
* :class:`Tolerances` - what is still normal: early restarts, pull hiccups,
  a pod waiting for a node, a slow readiness probe.

What lain calls failed, for users, is in ``docs/tracking.rst``.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import (
        DEFAULT_FATAL_REASONS,
        DEFAULT_TOLERANCES,
        Failure,
        PodStatus,
        Problem,
        State,
        Tolerances,
        Verdict,
        WorkloadStatus,
    )
    from .pods import failure_details, image_missing, pod_status, readiness_budget, short_status
    from .workloads import current_replicaset_name, release_verdict, workload_status

# name -> the submodule that defines it; loaded on first use, so that importing
# lain_cli.tracking.objects (the watch, the hook follower) does not load the verdicts
_SUBMODULE = {
    **dict.fromkeys(("DEFAULT_FATAL_REASONS", "DEFAULT_TOLERANCES", "Failure", "PodStatus", "Problem", "State",
                     "Tolerances", "Verdict", "WorkloadStatus"), "model"),
    **dict.fromkeys(("failure_details", "image_missing", "pod_status", "readiness_budget", "short_status"), "pods"),
    **dict.fromkeys(("current_replicaset_name", "release_verdict", "workload_status"), "workloads"),
}


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_FATAL_REASONS",
    "DEFAULT_TOLERANCES",
    "Failure",
    "PodStatus",
    "Problem",
    "State",
    "Tolerances",
    "Verdict",
    "WorkloadStatus",
    "current_replicaset_name",
    "failure_details",
    "image_missing",
    "pod_status",
    "readiness_budget",
    "release_verdict",
    "short_status",
    "workload_status",
]
