"""Rollout verdicts over recorded Kubernetes objects (tests/data/tracking/*.json).

Each fixture is a ``kind: List`` as ``kubectl get pod,events -o json`` prints
it.  "Now" in all fixtures is 2025-06-12T10:00:00Z unless a test moves it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from lain_cli.tracking import (
    DEFAULT_TOLERANCES,
    PodStatus,
    Problem,
    State,
    Tolerances,
    WorkloadStatus,
    current_replicaset_name,
    failure_details,
    image_missing,
    pod_status,
    readiness_budget,
    release_verdict,
    short_status,
    workload_status,
)

DATA = Path(__file__).parent / "data" / "tracking"
NOW = datetime(2025, 6, 12, 10, 0, 0, tzinfo=UTC)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


@cache
def _load(name: str) -> str:
    return (DATA / f"{name}.json").read_text()


def load(name: str) -> dict[str, list[dict]]:
    """A fixture's items grouped by kind (fresh copies, tests may change them)."""
    by_kind: dict[str, list[dict]] = {}
    for item in json.loads(_load(name))["items"]:
        by_kind.setdefault(item["kind"], []).append(item)
    return by_kind


def at(clock: str) -> datetime:
    """``"09:59:45"`` on the fixtures' day."""
    hours, minutes, seconds = (int(x) for x in clock.split(":"))
    return NOW.replace(hour=hours, minute=minutes, second=seconds)


def pod_of(name: str, now: datetime = NOW, tol: Tolerances = DEFAULT_TOLERANCES,
           with_events: bool = True) -> PodStatus:
    objs = load(name)
    return pod_status(objs["Pod"][0], now, tol, objs.get("Event", []) if with_events else [])


def workload_of(name: str, now: datetime = NOW, tol: Tolerances = DEFAULT_TOLERANCES,
                with_replicasets: bool = True, patch=None) -> WorkloadStatus:
    objs = load(name)
    if patch:
        patch(objs)
    kind = next(k for k in WORKLOAD_KINDS if k in objs)
    return workload_status(objs[kind][0], objs.get("Pod", []), now, tol, objs.get("Event", []),
                           objs.get("ReplicaSet", []) if with_replicasets else [])


def summary(problems: list[Problem]) -> list[tuple]:
    return [(p.object_kind, p.container, p.reason, p.fatal) for p in problems]


# Pods -----------------------------------------------------------------------

POD_CASES = [
    # fixture, now, state, kubectl STATUS, [(kind, container, reason, fatal)]
    ("pod-running-ready", NOW, State.READY, "Running", []),
    ("pod-restarted-once-ready", NOW, State.READY, "Running", []),
    ("pod-errimagepull-notfound", NOW, State.FAILED, "ErrImagePull",
     [("Pod", "web", "ErrImagePull", True)]),
    ("pod-imagepullbackoff-events", NOW, State.FAILED, "ImagePullBackOff",
     [("Pod", "web", "ImagePullBackOff", True)]),
    ("pod-imagepullbackoff-denied", NOW, State.FAILED, "ImagePullBackOff",
     [("Pod", "web", "ImagePullBackOff", True)]),
    ("pod-errimagepull-timeout", NOW, State.PROGRESSING, "ErrImagePull",
     [("Pod", "web", "ErrImagePull", False)]),
    ("pod-errimagepull-timeout", at("10:00:21"), State.PROGRESSING, "ErrImagePull",
     [("Pod", "web", "ErrImagePull", False)]),
    ("pod-errimagepull-timeout", at("10:00:22"), State.FAILED, "ErrImagePull",
     [("Pod", "web", "ErrImagePull", True)]),
    ("pod-crashloop-2-restarts", NOW, State.PROGRESSING, "CrashLoopBackOff",
     [("Pod", "worker", "CrashLoopBackOff", False)]),
    ("pod-crashloop-4-restarts", NOW, State.FAILED, "CrashLoopBackOff",
     [("Pod", "worker", "CrashLoopBackOff", True)]),
    ("pod-oomkilled", NOW, State.FAILED, "CrashLoopBackOff", [("Pod", "web", "OOMKilled", True)]),
    ("pod-createcontainerconfigerror", at("09:59:51"), State.PROGRESSING, "CreateContainerConfigError",
     [("Pod", "web", "CreateContainerConfigError", False)]),
    ("pod-createcontainerconfigerror", at("09:59:52"), State.FAILED, "CreateContainerConfigError",
     [("Pod", "web", "CreateContainerConfigError", True)]),
    ("pod-invalidimagename", at("09:59:59"), State.FAILED, "InvalidImageName",
     [("Pod", "web", "InvalidImageName", True)]),
    ("pod-runcontainererror", at("09:59:53"), State.FAILED, "RunContainerError",
     [("Pod", "web", "RunContainerError", True)]),
    ("pod-unschedulable", at("09:59:55"), State.PENDING, "Pending", [("Pod", None, "Unschedulable", False)]),
    ("pod-unschedulable", at("09:59:56"), State.FAILED, "Pending", [("Pod", None, "Unschedulable", True)]),
    ("pod-unschedulable-scale-up", at("10:05:00"), State.PENDING, "Pending",
     [("Pod", None, "Unschedulable", False)]),
    ("pod-readiness-failing", at("09:58:23"), State.PROGRESSING, "Running", [("Pod", "web", "NotReady", False)]),
    ("pod-readiness-failing", at("09:58:24"), State.FAILED, "Running", [("Pod", "web", "NotReady", True)]),
    ("pod-init-crashloop", NOW, State.FAILED, "Init:CrashLoopBackOff",
     [("Pod", "migrate", "CrashLoopBackOff", True)]),
    ("pod-init-running", NOW, State.PROGRESSING, "Init:0/1", []),
    ("pod-containercreating-failedmount", NOW, State.PROGRESSING, "ContainerCreating",
     [("Pod", None, "FailedMount", False)]),
    ("pod-test-succeeded", NOW, State.SUCCEEDED, "Completed", []),
    ("pod-evicted", NOW, State.FAILED, "Error", [("Pod", None, "Evicted", True), ("Pod", "web", "Error", True)]),
]


@pytest.mark.parametrize(("fixture", "now", "state", "status", "problems"), POD_CASES,
                         ids=[f"{c[0]}@{c[1]:%H:%M:%S}" for c in POD_CASES])
def test_pod_status(fixture, now, state, status, problems):
    result = pod_of(fixture, now)
    assert (result.state, result.short_status, summary(result.problems)) == (state, status, problems)


def test_pod_status_fields_of_a_healthy_pod():
    result = pod_of("pod-running-ready", NOW)
    assert result == PodStatus(
        name="dummy-web-6b8f9d7c54-x2k4p", phase="Running", ready=True, restarts=0, state=State.READY,
        problems=[], age_seconds=120.0, node="node-2", component="web",
        owner="ReplicaSet/dummy-web-6b8f9d7c54", images={"web": "registry.example.com/team/dummy:3f2a9c1"},
        short_status="Running", ready_containers=1, total_containers=1,
    )


def test_a_pod_that_restarted_once_and_is_ready_is_not_a_failure():
    result = pod_of("pod-restarted-once-ready", NOW)
    assert (result.state, result.restarts, result.problems) == (State.READY, 1, [])


def test_image_not_found_fails_at_once_with_the_kubelet_message():
    [problem] = pod_of("pod-errimagepull-notfound", at("09:59:52")).problems
    image = "registry.example.com/team/dummy:9e8d7c6"
    assert problem == Problem(
        "Pod", "dummy-web-6b8f9d7c54-m4n8r", "web", "ErrImagePull",
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": {image}: not found',
        fatal=True, since=at("09:59:52"),
    )


def test_bare_back_off_message_is_completed_from_the_pull_events():
    [problem] = pod_of("pod-imagepullbackoff-events", NOW).problems
    image = "registry.example.com/team/dummy:9e8d7c6"
    assert problem.message == (
        f'Back-off pulling image "{image}": rpc error: code = NotFound desc = failed to pull and unpack '
        f'image "{image}": failed to resolve reference "{image}": {image}: not found'
    )
    assert (problem.fatal, problem.since) == (True, at("09:59:32"))


def test_bare_back_off_without_events_is_a_transient_pull_error_from_pod_start():
    # Started 09:59:30: the back-off message alone does not say "not found".
    within = pod_of("pod-imagepullbackoff-events", at("10:00:00"), with_events=False)
    beyond = pod_of("pod-imagepullbackoff-events", at("10:00:01"), with_events=False)
    assert [(p.reason, p.fatal, p.since) for p in within.problems] == [("ImagePullBackOff", False, at("09:59:30"))]
    assert (within.state, beyond.state) == (State.PROGRESSING, State.FAILED)


def test_transient_pull_grace_counts_from_the_first_failed_pull():
    [problem] = pod_of("pod-errimagepull-timeout", NOW).problems
    assert problem.since == at("09:59:51")
    assert pod_of("pod-errimagepull-timeout", at("10:00:05"), Tolerances(pull_grace=10)).state is State.FAILED


def test_crash_loop_message_carries_the_last_exit_and_termination_message():
    [problem] = pod_of("pod-crashloop-4-restarts", NOW).problems
    name = "dummy-worker-7f6d5c4b3a-k5d9s"
    assert problem.message == (
        f"back-off 1m20s restarting failed container=worker pod={name}_default"
        "(769e091c-c6a8-5d5f-ac85-9a4646513e34); last terminated: Error, exit code 1: KeyError: 'DATABASE_URL'"
    )
    assert (problem.exit_code, problem.crash, problem.since) == (1, True, at("09:59:22"))


@pytest.mark.parametrize(("restarts", "max_restarts", "fatal"), [
    (2, 3, False), (3, 3, False), (4, 3, True), (4, 4, False), (1, 0, True),
])
def test_crash_loop_fails_once_restarts_exceed_max(restarts, max_restarts, fatal):
    objs = load("pod-crashloop-2-restarts")
    objs["Pod"][0]["status"]["containerStatuses"][0]["restartCount"] = restarts
    result = pod_status(objs["Pod"][0], NOW, Tolerances(max_restarts=max_restarts))
    assert [(p.reason, p.fatal) for p in result.problems] == [("CrashLoopBackOff", fatal)]
    assert result.state is (State.FAILED if fatal else State.PROGRESSING)


def _between_crashes(fixture: str, state: dict, restarts: int = 4) -> PodStatus:
    """A crash-looping pod seen in one of the moments between its back-offs."""
    objs = load(fixture)
    cs = objs["Pod"][0]["status"]["containerStatuses"][0]
    cs["state"], cs["restartCount"] = state, restarts
    return pod_status(objs["Pod"][0], NOW, DEFAULT_TOLERANCES, objs.get("Event", []))


@pytest.mark.parametrize(("fixture", "reason"), [
    ("pod-crashloop-4-restarts", "CrashLoopBackOff"), ("pod-oomkilled", "OOMKilled")])
def test_a_crash_loop_past_max_restarts_stays_failed_while_running_again(fixture, reason):
    result = _between_crashes(fixture, {"running": {"startedAt": "2025-06-12T09:59:58Z"}})
    [problem] = result.problems
    assert (result.state, problem.reason, problem.fatal, problem.crash) == (State.FAILED, reason, True, True)
    assert problem.message.startswith(f"container {problem.container} restarted 4 times, running again for 2s, "
                                      "not ready; last terminated: ")


def test_a_crash_loop_past_max_restarts_stays_failed_the_moment_it_exits():
    result = _between_crashes("pod-crashloop-4-restarts", {"terminated": {
        "exitCode": 1, "reason": "Error", "finishedAt": "2025-06-12T09:59:59Z"}})
    [problem] = result.problems
    assert (result.state, problem.reason, problem.exit_code, problem.since) == (
        State.FAILED, "CrashLoopBackOff", 1, at("09:59:59"))
    assert problem.message == "container worker restarted 4 times and exited again: Error, exit code 1"


def test_restarts_within_max_leave_a_running_container_to_its_readiness_budget():
    result = _between_crashes("pod-crashloop-4-restarts", {"running": {"startedAt": "2025-06-12T09:59:58Z"}},
                              restarts=3)
    assert (result.state, result.problems) == (State.PROGRESSING, [])


def test_a_container_ready_again_after_many_restarts_is_ready():
    objs = load("pod-crashloop-4-restarts")
    pod = objs["Pod"][0]
    cs = pod["status"]["containerStatuses"][0]
    cs.update(state={"running": {"startedAt": "2025-06-12T09:59:40Z"}}, ready=True, restartCount=9)
    pod["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert pod_status(pod, NOW).state is State.READY


def test_oomkilled_is_reported_as_such_with_the_memory_limit():
    [problem] = pod_of("pod-oomkilled", NOW).problems
    assert problem.reason == "OOMKilled"
    assert problem.message.endswith("; last terminated: OOMKilled, exit code 137 (memory limit 256Mi)")
    assert problem.exit_code == 137


def test_oomkilled_within_max_restarts_is_a_warning():
    objs = load("pod-oomkilled")
    objs["Pod"][0]["status"]["containerStatuses"][0]["restartCount"] = 1
    result = pod_status(objs["Pod"][0], NOW)
    assert (result.state, summary(result.problems)) == (State.PROGRESSING, [("Pod", "web", "OOMKilled", False)])


def test_missing_command_fails_at_once_even_before_max_restarts():
    [problem] = pod_of("pod-runcontainererror", at("09:59:53")).problems
    assert problem.message.endswith(
        'exec: "gunicorn": executable file not found in $PATH: unknown; last terminated: StartError, exit code 128'
    )
    assert (problem.fatal, problem.exit_code) == (True, 128)


def test_config_error_grace_is_counted_from_the_first_failed_event():
    [problem] = pod_of("pod-createcontainerconfigerror", NOW).problems
    assert (problem.message, problem.since) == ('secret "dummy-env" not found', at("09:59:41"))
    assert pod_of("pod-createcontainerconfigerror", at("09:59:41"), Tolerances(config_grace=0)).state is State.PROGRESSING
    immediate = pod_of("pod-createcontainerconfigerror", at("09:59:42"), Tolerances(config_grace=0))
    assert immediate.state is State.FAILED


def test_fatal_reasons_are_configurable():
    lenient = Tolerances(fatal_reasons=frozenset())
    result = pod_of("pod-invalidimagename", NOW, lenient)
    assert (result.state, summary(result.problems)) == (State.PROGRESSING, [("Pod", "web", "InvalidImageName", False)])


def test_unschedulable_message_and_since():
    [problem] = pod_of("pod-unschedulable", NOW).problems
    assert problem.message == (
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod."
    )
    assert problem.since == at("09:59:35")


def test_unschedulable_pod_waiting_for_the_cluster_autoscaler_is_never_failed():
    [problem] = pod_of("pod-unschedulable-scale-up", at("10:30:00")).problems
    assert problem.message.endswith(
        "; cluster autoscaler: pod triggered scale-up: [{eks-dummy-ng-1a2b3c 3->4 (max: 10)}]"
    )
    assert not problem.fatal


def test_never_ready_past_the_probe_grace_fails_with_the_last_probe_failure():
    # readinessProbe: initialDelay 5 + period 5 * failureThreshold 3 + timeout 1 = 21 s from 09:58:02.
    [problem] = pod_of("pod-readiness-failing", NOW).problems
    assert problem == Problem(
        "Pod", "dummy-web-6b8f9d7c54-r8d4f", "web", "NotReady",
        "Readiness probe failed: HTTP probe failed with statuscode: 503 (not ready for 118s, readiness grace 21s)",
        fatal=True, since=at("09:58:02"),
    )


def test_never_ready_without_probe_events_says_how_long():
    [problem] = pod_of("pod-readiness-failing", NOW, with_events=False).problems
    assert problem.message == (
        "container web has been running 118s without becoming ready (not ready for 118s, readiness grace 21s)"
    )


def test_not_ready_within_grace_and_without_probe_failures_is_no_problem():
    result = pod_of("pod-readiness-failing", at("09:58:10"), with_events=False)
    assert (result.state, result.problems) == (State.PROGRESSING, [])


def test_readiness_grace_override():
    assert pod_of("pod-readiness-failing", NOW, Tolerances(readiness_grace=300)).state is State.PROGRESSING


PROBE = {"httpGet": {"path": "/healthz", "port": 5000}}


@pytest.mark.parametrize(("container", "tol", "budget"), [
    ({"readinessProbe": PROBE}, DEFAULT_TOLERANCES, 31.0),
    ({"readinessProbe": {**PROBE, "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3,
                         "timeoutSeconds": 1}}, DEFAULT_TOLERANCES, 21.0),
    ({}, DEFAULT_TOLERANCES, 60.0),
    ({}, Tolerances(no_probe_readiness_grace=90), 90.0),
    ({"readinessProbe": PROBE, "startupProbe": {**PROBE, "periodSeconds": 10, "failureThreshold": 30}},
     DEFAULT_TOLERANCES, 31.0 + 301.0),
    ({"readinessProbe": PROBE}, Tolerances(readiness_grace=5), 5.0),
])
def test_readiness_budget(container, tol, budget):
    assert readiness_budget(container, tol) == budget


def test_init_container_crash_loop_names_the_init_container():
    [problem] = pod_of("pod-init-crashloop", NOW).problems
    assert (problem.container, problem.exit_code, problem.since) == ("migrate", 1, at("09:59:30"))
    assert pod_of("pod-init-crashloop", NOW).restarts == 4


def test_evicted_pod_problems():
    result = pod_of("pod-evicted", NOW)
    evicted, container = result.problems
    assert evicted.message.startswith("The node was low on resource: memory.")
    assert (container.message, container.exit_code) == ("container web exited with code 137", 137)


def test_terminating_pod_has_no_problems():
    objs = load("deployment-rollout-complete")
    old = next(p for p in objs["Pod"] if "deletionTimestamp" in p["metadata"])
    result = pod_status(old, NOW)
    assert (result.state, result.short_status, result.problems, result.restarts) == (
        State.PROGRESSING, "Terminating", [], 7)


def test_pod_without_status_is_pending():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "creationTimestamp": "2025-06-12T09:59:59Z"},
           "spec": {"containers": [{"name": "web", "image": "x"}]}}
    result = pod_status(pod, NOW)
    assert (result.state, result.short_status, result.problems, result.age_seconds) == (
        State.PENDING, "Pending", [], 1.0)


def test_naive_now_is_taken_as_utc():
    assert pod_of("pod-running-ready", NOW.replace(tzinfo=None)).age_seconds == 120.0


def test_restart_policy_never_container_failure_is_fatal_at_once():
    objs = load("job-retrying")
    running = objs["Pod"][1]
    running["status"]["containerStatuses"][0]["state"] = {
        "terminated": {"exitCode": 3, "reason": "Error", "startedAt": "2025-06-12T09:59:07Z",
                       "finishedAt": "2025-06-12T09:59:58Z"}}
    result = pod_status(running, NOW)
    assert summary(result.problems) == [("Pod", "migrate", "Error", True)]
    assert result.problems[0].message == "container migrate terminated: Error, exit code 3"


@pytest.mark.parametrize(("message", "missing"), [
    ('rpc error: code = NotFound desc = failed to pull and unpack image "r/x:1": r/x:1: not found', True),
    ("manifest unknown: manifest unknown", True),
    ("pull access denied, repository does not exist or may require authorization", True),
    ("name unknown: repository name not known to registry", True),
    ('failed to do request: Head "https://r/v2/x/manifests/1": dial tcp 10.0.0.1:443: i/o timeout', False),
    ("unexpected status code 503 Service Unavailable", False),
    ('Back-off pulling image "registry.example.com/team/dummy:notfoundish"', False),
])
def test_image_missing(message, missing):
    assert image_missing(message) is missing


@pytest.mark.parametrize(("patch", "expected"), [
    (lambda s: s.update(phase="Failed", reason="NodeLost") or None, "NodeLost"),
    (lambda s: s.update(containerStatuses=[{"name": "web", "ready": False, "state": {
        "terminated": {"exitCode": 2, "signal": 0}}}]) or None, "ExitCode:2"),
    (lambda s: s.update(containerStatuses=[{"name": "web", "ready": False, "state": {
        "terminated": {"exitCode": 137, "signal": 9}}}]) or None, "Signal:9"),
    (lambda s: s.update(containerStatuses=[{"name": "web", "ready": True, "state": {"running": {}}},
                                           {"name": "side", "ready": False, "state": {
                                               "terminated": {"exitCode": 0, "reason": "Completed"}}}]) or None,
     "Running"),
])
def test_short_status_edge_cases(patch, expected):
    objs = load("pod-running-ready")
    pod = objs["Pod"][0]
    patch(pod["status"])
    assert short_status(pod) == expected


def test_short_status_of_a_failed_init_container_with_restart_policy_never():
    objs = load("pod-init-crashloop")
    pod = objs["Pod"][0]
    pod["spec"]["restartPolicy"] = "Never"
    pod["status"]["initContainerStatuses"][0]["state"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    assert short_status(pod) == "Init:Error"


# Workloads ------------------------------------------------------------------

WORKLOAD_CASES = [
    # fixture, now, state, progress, current pods, old pods, [(kind, container, reason, fatal)]
    ("deployment-rollout-complete", NOW, State.READY, "3/3 ready, 3/3 updated", 3, 1, []),
    ("deployment-rollout-midway", NOW, State.PROGRESSING, "1/2 ready, 2/2 updated, 2 old still running", 2, 2, []),
    ("deployment-progress-deadline", NOW, State.FAILED, "0/2 ready, 1/2 updated, 2 old still running", 1, 2,
     [("Deployment", None, "ProgressDeadlineExceeded", True), ("Pod", "web", "NotReady", True)]),
    ("deployment-image-not-found", NOW, State.FAILED, "0/3 ready, 1/3 updated, 3 old still running", 1, 3,
     [("Pod", "web", "ErrImagePull", True)]),
    ("deployment-replica-failure", at("09:59:50"), State.PROGRESSING, "0/2 ready, 0/2 updated, 2 old still running", 0, 2,
     [("Deployment", None, "FailedCreate", False)]),
    ("deployment-replica-failure", at("09:59:51"), State.FAILED, "0/2 ready, 0/2 updated, 2 old still running", 0, 2,
     [("Deployment", None, "FailedCreate", True)]),
    ("statefulset-update-crashing", NOW, State.FAILED, "2/3 ready, 1/3 updated, 2 old still running", 1, 2,
     [("Pod", "web", "CrashLoopBackOff", True)]),
    ("statefulset-ready", NOW, State.READY, "3/3 ready, 3/3 updated", 3, 0, []),
    ("daemonset-updated", NOW, State.READY, "2/2 ready, 2/2 updated", 2, 1, []),
    ("job-backoff-limit-exceeded", NOW, State.FAILED, "0/1 complete, 3 failed (backoff limit 2)", 3, 0,
     [("Job", None, "BackoffLimitExceeded", True)] + [("Pod", "migrate", "Error", True)] * 3),
    ("job-retrying", NOW, State.PROGRESSING, "0/1 complete, 1 active, 1 failed (backoff limit 6)", 2, 0,
     [("Pod", "migrate", "Error", False)]),
    ("job-complete", NOW, State.SUCCEEDED, "1/1 complete", 1, 0, []),
    ("job-deadline-exceeded", NOW, State.FAILED, "0/1 complete, 1 failed (backoff limit 6)", 1, 0,
     [("Job", None, "DeadlineExceeded", True)]),
]


@pytest.mark.parametrize(("fixture", "now", "state", "progress", "current", "old", "problems"), WORKLOAD_CASES,
                         ids=[f"{c[0]}@{c[1]:%H:%M:%S}" for c in WORKLOAD_CASES])
def test_workload_status(fixture, now, state, progress, current, old, problems):
    result = workload_of(fixture, now)
    assert (result.state, result.progress_text, len(result.pods), len(result.old_pods), summary(result.problems)) == (
        state, progress, current, old, problems)


def test_deployment_fields():
    result = workload_of("deployment-rollout-midway")
    assert (result.kind, result.name, result.component, result.desired, result.ready, result.updated,
            result.available) == ("Deployment", "dummy-web", "web", 2, 1, 2, 1)
    assert [p.name for p in result.pods] == ["dummy-web-6b8f9d7c54-k8d3s", "dummy-web-6b8f9d7c54-n6r2t"]


def test_old_replicaset_crash_looping_does_not_fail_the_rollout():
    result = workload_of("deployment-rollout-midway")
    old_problems = [p for pod in result.old_pods for p in pod.problems]
    assert [(p.reason, p.fatal) for p in old_problems] == [("CrashLoopBackOff", True)] * 2
    assert result.state is State.PROGRESSING and result.problems == []


@pytest.mark.parametrize("fixture", ["deployment-rollout-midway", "deployment-image-not-found",
                                     "deployment-rollout-complete"])
def test_current_replicaset_without_replicasets_comes_from_the_progressing_condition(fixture):
    with_rs = workload_of(fixture)
    without = workload_of(fixture, with_replicasets=False)
    assert without == with_rs


def test_current_replicaset_from_the_newest_pod_as_a_last_resort():
    objs = load("deployment-rollout-midway")
    deployment = objs["Deployment"][0]
    deployment["status"]["conditions"] = []
    assert current_replicaset_name(deployment, objs["Pod"], []) == "dummy-web-6b8f9d7c54"


def test_highest_revision_wins_even_for_an_older_replicaset():
    # A rollback re-uses the old ReplicaSet and gives it the newest revision.
    objs = load("deployment-rollout-midway")
    new_rs, old_rs = objs["ReplicaSet"]
    old_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "6"
    assert current_replicaset_name(objs["Deployment"][0], objs["Pod"], objs["ReplicaSet"]) == "dummy-web-5c7d8f6b49"


def test_deployment_not_yet_observed_counts_no_pod_as_current():
    def bump(objs):
        objs["Deployment"][0]["metadata"]["generation"] = 6

    result = workload_of("deployment-rollout-midway", patch=bump)
    assert (result.state, result.pods, len(result.old_pods), result.progress_text) == (
        State.PROGRESSING, [], 4, "1/2 ready, 2/2 updated, 2 old still running, waiting for the controller")


def test_stale_progress_deadline_of_the_previous_generation_is_ignored():
    def bump(objs):
        objs["Deployment"][0]["metadata"]["generation"] = 3

    assert workload_of("deployment-progress-deadline", patch=bump).state is State.PROGRESSING


def test_progress_deadline_problem():
    # Even when the pod itself is still within its readiness grace, the deadline fails the rollout.
    result = workload_of("deployment-progress-deadline", tol=Tolerances(readiness_grace=3600))
    assert result.problems[0] == Problem(
        "Deployment", "dummy-web", None, "ProgressDeadlineExceeded",
        'ReplicaSet "dummy-web-6b8f9d7c54" has timed out progressing.', fatal=True, since=at("09:59:40"))
    assert summary(result.problems[1:]) == [("Pod", "web", "NotReady", False)]
    assert result.state is State.FAILED


def test_evicted_pod_of_a_deployment_is_a_warning():
    def add_evicted(objs):
        objs["Pod"].append(load("pod-evicted")["Pod"][0])

    result = workload_of("deployment-rollout-complete", patch=add_evicted)
    assert result.state is State.READY
    assert summary(result.problems) == [("Pod", None, "Evicted", False), ("Pod", "web", "Error", False)]


def test_statefulset_crash_within_tolerance_is_progressing():
    def soften(objs):
        objs["Pod"][2]["status"]["containerStatuses"][0]["restartCount"] = 1

    result = workload_of("statefulset-update-crashing", patch=soften)
    assert (result.state, summary(result.problems)) == (State.PROGRESSING, [("Pod", "web", "CrashLoopBackOff", False)])


@pytest.mark.parametrize(("strategy", "state"), [
    ({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}, State.PROGRESSING),  # 1 updated >= 3 - 2 but 2/3 ready
    ({"type": "OnDelete"}, State.PROGRESSING),
])
def test_statefulset_strategies_wait_for_ready_replicas(strategy, state):
    def change(objs):
        objs["StatefulSet"][0]["spec"]["updateStrategy"] = strategy
        objs["Pod"][2]["status"]["containerStatuses"][0]["restartCount"] = 0

    assert workload_of("statefulset-update-crashing", patch=change).state is state


def test_statefulset_partition_is_done_when_the_partitioned_pods_are_updated():
    def change(objs):
        sts = objs["StatefulSet"][0]
        sts["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
        sts["status"]["readyReplicas"] = 3
        objs["Pod"].pop()

    assert workload_of("statefulset-update-crashing", patch=change).state is State.READY


def test_job_failure_names_the_last_pod_and_its_exit_code():
    result = workload_of("job-backoff-limit-exceeded")
    job_problem = result.problems[0]
    assert job_problem == Problem(
        "Job", "dummy-migrate", None, "BackoffLimitExceeded",
        "Job has reached the specified backoff limit; pod dummy-migrate-c9t3w: container migrate exited with "
        'code 1: django.db.utils.OperationalError: could not translate host name "db" to address: '
        "Name or service not known",
        fatal=True, since=at("09:59:40"), exit_code=1,
    )


def test_job_pod_that_cannot_pull_its_image_fails_the_job_early():
    def break_image(objs):
        pull = load("pod-errimagepull-notfound")["Pod"][0]
        pull["metadata"]["ownerReferences"] = objs["Pod"][1]["metadata"]["ownerReferences"]
        objs["Pod"][1] = pull

    result = workload_of("job-retrying", patch=break_image)
    assert (result.state, summary(result.problems)) == (
        State.FAILED, [("Pod", "migrate", "Error", False), ("Pod", "web", "ErrImagePull", True)])


def test_job_ignores_pods_of_other_jobs():
    def foreign(objs):
        other = copy.deepcopy(objs["Pod"][0])
        other["metadata"]["name"] = "dummy-other-x1"
        other["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] = "not-this-job"
        other["metadata"]["labels"]["controller-uid"] = "not-this-job"
        other["metadata"]["ownerReferences"][0].update(name="dummy-other", uid="not-this-job")
        objs["Pod"].append(other)

    assert len(workload_of("job-retrying", patch=foreign).pods) == 2


def test_suspended_job_is_pending():
    def suspend(objs):
        objs["Job"][0]["spec"]["suspend"] = True
        objs["Pod"] = []

    result = workload_of("job-retrying", patch=suspend)
    assert (result.state, result.progress_text) == (
        State.PENDING, "0/1 complete, 1 active, 1 failed (backoff limit 6), suspended")


def test_test_pod_as_a_workload():
    pod = load("pod-test-succeeded")["Pod"][0]
    result = workload_status(pod, [], NOW)
    assert (result.kind, result.name, result.component, result.state, result.ready, result.progress_text) == (
        "Pod", "dummy-test-healthz", "healthz", State.SUCCEEDED, 1, "Completed")


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="cannot track a CronJob"):
        workload_status({"kind": "CronJob", "metadata": {"name": "x"}}, [], NOW)


# Release verdict --------------------------------------------------------------


def test_release_ready_when_everything_is_ready_or_succeeded():
    verdict = release_verdict([workload_of("deployment-rollout-complete"), workload_of("job-complete")])
    assert (verdict.state, verdict.summary, verdict.problems, verdict.first_failure()) == (
        State.READY, "ready: 1/1 proc ready, 1/1 job complete", [], None)


def test_release_progressing_names_what_it_waits_for():
    verdict = release_verdict([workload_of("deployment-rollout-midway"), workload_of("job-retrying"),
                               workload_of("statefulset-ready")])
    assert verdict.state is State.PROGRESSING
    assert verdict.summary == (
        "progressing: 1/2 procs ready, 0/1 job complete; waiting for web (1/2 ready, 2/2 updated, 2 old still running), "
        "migrate (0/1 complete, 1 active, 1 failed (backoff limit 6))"
    )
    assert summary(verdict.problems) == [("Pod", "migrate", "Error", False)]


def test_release_failed_and_first_failure():
    verdict = release_verdict([workload_of("job-retrying"), workload_of("deployment-image-not-found"),
                               workload_of("statefulset-update-crashing")])
    assert verdict.state is State.FAILED
    assert [p.fatal for p in verdict.problems] == [True, True, False]
    failure = verdict.first_failure()
    assert failure is not None
    assert (failure.workload.name, failure.problem.object_name) == ("dummy-web", "dummy-web-6b8f9d7c54-m4n8r")
    assert str(failure).startswith(
        "Deployment dummy-web: Pod dummy-web-6b8f9d7c54-m4n8r (container web): ErrImagePull: rpc error: code = NotFound")
    assert verdict.summary == f"failed: {failure.describe()}"


def test_first_failure_of_a_workload_problem_does_not_repeat_the_workload():
    verdict = release_verdict([workload_of("job-deadline-exceeded")])
    assert verdict.summary == "failed: Job dummy-migrate: DeadlineExceeded: Job was active longer than specified deadline"


def test_empty_release_is_ready():
    assert release_verdict([]).state is State.READY


# Failure details ----------------------------------------------------------------


def test_failure_details_lists_the_pods_events_oldest_first():
    objs = load("pod-imagepullbackoff-events")
    noise = load("pod-running-ready")["Event"]
    lines = failure_details(objs["Pod"][0], [*noise, *reversed(objs["Event"])], NOW)
    image = "registry.example.com/team/dummy:9e8d7c6"
    assert lines == [
        "Normal Scheduled (29s ago): Successfully assigned default/dummy-web-6b8f9d7c54-h5t2v to node-2",
        f'Normal Pulling (x2, last 14s ago): Pulling image "{image}"',
        f'Warning Failed (x2, last 13s ago): Failed to pull image "{image}": rpc error: code = NotFound desc = '
        f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": {image}: not found',
        "Warning Failed (x2, last 13s ago): Error: ErrImagePull",
        f'Normal BackOff (x3, last 2s ago): Back-off pulling image "{image}"',
        "Warning Failed (x3, last 2s ago): Error: ImagePullBackOff",
    ]


def test_failure_details_reads_events_k8s_io_series_and_absolute_times():
    objs = load("pod-unschedulable")
    assert failure_details(objs["Pod"][0], objs["Event"]) == [
        "Warning FailedScheduling (x3, last at 2025-06-12T09:59:58Z): 0/3 nodes are available: 3 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    ]
    assert failure_details(objs["Pod"][0], objs["Event"], at("10:02:05"))[0].startswith(
        "Warning FailedScheduling (x3, last 2m6s ago): ")


def test_failure_details_of_a_pod_without_uid_match_by_name():
    objs = load("pod-crashloop-4-restarts")
    pod = objs["Pod"][0]
    del pod["metadata"]["uid"]
    assert len(failure_details(pod, objs["Event"], NOW)) == 5


# Purity and cost ----------------------------------------------------------------


def test_verdicts_are_pure_functions_of_their_inputs():
    objs = load("deployment-rollout-midway")
    before = copy.deepcopy(objs)
    first = workload_of("deployment-rollout-midway")
    workload_status(objs["Deployment"][0], objs["Pod"], NOW, events=objs.get("Event", []),
                    replicasets=objs["ReplicaSet"])
    assert objs == before
    assert workload_of("deployment-rollout-midway") == first


def test_results_are_frozen():
    result = pod_of("pod-running-ready")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.state = State.FAILED  # type: ignore[misc]


def test_a_large_release_is_judged_quickly():
    objs = load("deployment-rollout-complete")
    template = objs["Pod"][0]
    pods, events = [], []
    for i in range(500):
        pod = copy.deepcopy(template)
        pod["metadata"]["name"] = f"dummy-web-6b8f9d7c54-{i:05d}"
        pod["metadata"]["uid"] = f"uid-{i}"
        pods.append(pod)
        for reason in ("Scheduled", "Pulled", "Created", "Started"):
            events.append({"involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"], "uid": f"uid-{i}"},
                           "reason": reason, "message": reason, "type": "Normal",
                           "lastTimestamp": "2025-06-12T09:58:00Z"})
    deployment = objs["Deployment"][0]
    started = time.perf_counter()
    result = workload_status(deployment, pods, NOW + timedelta(seconds=1), events=events,
                             replicasets=objs["ReplicaSet"])
    elapsed = time.perf_counter() - started
    assert len(result.pods) == 500
    assert elapsed < 0.5, f"{elapsed:.3f}s for 500 pods and 2000 events"


def test_release_counts_procs_and_jobs_apart_and_nothing_is_not_ready_by_count():
    assert release_verdict([workload_of("deployment-rollout-complete")]).summary == "ready: 1/1 proc ready"
    assert release_verdict([]).summary == "ready: nothing to roll out"


def test_a_deployment_mid_rollout_counts_the_new_versions_ready_pods_and_the_old_apart():
    status = workload_of("deployment-rollout-midway")
    assert (status.ready, status.old) == (1, 2)
    assert status.progress_text == "1/2 ready, 2/2 updated, 2 old still running"


def test_a_crashed_container_not_ready_past_its_budget_is_named_by_its_crash():
    result = _between_crashes("pod-oomkilled", {"running": {"startedAt": "2025-06-12T09:59:00Z"}}, restarts=1)
    [problem] = result.problems
    assert (result.state, problem.reason, problem.fatal, problem.exit_code) == (State.FAILED, "OOMKilled", True, 137)
    assert problem.message.startswith("container web restarted 1 times and is not ready (for 60s, readiness grace ")


def test_owner_index_and_live_pods_decide_as_owned_by_does() -> None:
    """The indexes (one pass over the pods for a whole release) find exactly the
    objects owned_by finds, in list order, uids or not on either side."""
    import random

    from lain_cli.tracking.objects import OwnerIndex, live_pods, owned_by

    rng = random.Random(7)
    owners = []
    for i in range(12):
        metadata = {"name": f"rs{i % 6}"}  # names repeat: only uids tell them apart
        if rng.random() < 0.7:
            metadata["uid"] = f"uid-{i}"
        owners.append({"kind": "ReplicaSet", "metadata": metadata})
    pods = []
    for i in range(200):
        refs = []
        if rng.random() < 0.9:
            ref = {"kind": rng.choice(["ReplicaSet", "Job"]), "name": f"rs{rng.randrange(8)}", "controller": True}
            if rng.random() < 0.7:
                ref["uid"] = f"uid-{rng.randrange(14)}"
            refs.append(ref)
        pods.append({"kind": "Pod", "metadata": {"name": f"p{i}", "ownerReferences": refs}})
    index = OwnerIndex(pods)
    for owner in owners:
        assert index.of(owner) == [p for p in pods if owned_by(p, owner)]
    chosen = owners[::3]
    assert index.of(*chosen) == [p for p in pods if any(owned_by(p, o) for o in chosen)]
    objects = {"pods": pods, "replicasets": owners}
    expected = [p for p in pods
                if not (p["metadata"]["ownerReferences"] and p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
                        and not any(owned_by(p, o) for o in owners))]
    assert live_pods(objects) == expected
