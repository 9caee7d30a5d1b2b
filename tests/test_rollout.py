"""What the rollout tracker looks at, and its verdicts over recorded objects."""

from __future__ import annotations

from datetime import UTC, datetime

from lain_cli import rollout, tracking
from lain_cli.events import Progress
from lain_cli.tracking.objects import OwnerIndex, pods_and_sets_of

NOW = datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)


def _meta(name: str, uid: str, owner: str | None = None, kind: str = "ReplicaSet", **extra: object) -> dict:
    meta: dict = {"name": name, "uid": uid, "namespace": "default",
                  "labels": {"app.kubernetes.io/instance": "dummy", "app.kubernetes.io/component": name.split("-")[1]},
                  "creationTimestamp": "2026-11-25T12:00:00Z"}
    if owner:
        meta["ownerReferences"] = [{"kind": kind, "name": "x", "uid": owner, "controller": True}]
    meta.update(extra)
    return meta


def _deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {**_meta("dummy-web", "d1"), "generation": 2},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "r/dummy:notfound"}]}}},
            "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}}


def _replicaset() -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {**_meta("dummy-web-abc", "rs1", "d1", "Deployment"),
                         "annotations": {"deployment.kubernetes.io/revision": "2"},
                         "labels": {"pod-template-hash": "abc", "app.kubernetes.io/instance": "dummy"}},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}


def _pod_pull_not_found() -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {**_meta("dummy-web-abc-x1", "p1", "rs1"),
                         "labels": {"pod-template-hash": "abc", "app.kubernetes.io/instance": "dummy",
                                    "app.kubernetes.io/component": "web"}},
            "spec": {"containers": [{"name": "web", "image": "r/dummy:notfound"}]},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "web", "ready": False, "restartCount": 0, "image": "r/dummy:notfound",
                "state": {"waiting": {"reason": "ErrImagePull",
                                      "message": 'failed to pull "r/dummy:notfound": not found'}}}]}}


def test_tracked_workloads_skip_hooks_and_cronjob_jobs() -> None:
    hook = {"kind": "Job", "metadata": _meta("dummy-migrate", "j1", annotations={"helm.sh/hook": "pre-upgrade"})}
    cron = {"kind": "Job", "metadata": _meta("dummy-nightly-1", "j2", "c1", "CronJob")}
    plain = {"kind": "Job", "metadata": _meta("dummy-seed", "j3")}
    chosen = rollout.tracked_workloads([_deployment()], [], [hook, cron, plain])
    assert [w["metadata"]["name"] for w in chosen] == ["dummy-web", "dummy-seed"]


def test_pods_of_a_deployment_go_through_its_replicasets() -> None:
    other = {"kind": "Pod", "metadata": _meta("dummy-worker-1", "p9", "rs9")}
    pods, sets = pods_and_sets_of(_deployment(), OwnerIndex([_pod_pull_not_found(), other]),
                                  OwnerIndex([_replicaset()]))
    assert [p["metadata"]["name"] for p in pods] == ["dummy-web-abc-x1"]
    assert [s["metadata"]["name"] for s in sets] == ["dummy-web-abc"]


def test_evaluate_fails_fast_on_missing_image() -> None:
    snapshot = {"deployments": [_deployment()], "replicasets": [_replicaset()], "pods": [_pod_pull_not_found()]}
    verdict = rollout.evaluate(snapshot, [], NOW, tracking.Tolerances())
    assert verdict.state == tracking.State.FAILED
    failure = verdict.first_failure()
    assert failure.workload.label == "Deployment dummy-web"
    assert failure.problem.reason == "ErrImagePull"


def test_progress_printer_prints_changes_once_and_names_the_failure() -> None:
    events: list = []
    printer = rollout.ProgressPrinter(events.append)
    snapshot = {"deployments": [_deployment()], "replicasets": [_replicaset()], "pods": [_pod_pull_not_found()]}
    verdict = rollout.evaluate(snapshot, [], NOW, tracking.Tolerances())
    printer.update(verdict)
    printer.update(verdict)
    [event] = events
    assert isinstance(event, Progress) and event.workload == "web" and event.text.endswith("[failed: ErrImagePull]")


def test_started_containers() -> None:
    pod = _pod_pull_not_found()
    assert not rollout.started_containers(pod)
    assert rollout.started_containers(pod) == []
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0}}
    name = pod["status"]["containerStatuses"][0]["name"]
    assert rollout.started_containers(pod) == [(name, False)]
    pod["status"]["initContainerStatuses"] = [
        {"name": "backup", "state": {"terminated": {"exitCode": 0}}},
        {"name": "wait-db", "state": {"waiting": {"reason": "PodInitializing"}}},
    ]
    assert rollout.started_containers(pod) == [("backup", True), (name, False)]
