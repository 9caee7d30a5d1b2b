"""Store semantics and the watch protocol, over HTTP against a running simulator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.kubesim.errors import ApiError
from tests.kubesim.fixture import Cluster
from tests.kubesim.resources import REGISTRY
from tests.kubesim.store import Store

pytestmark = pytest.mark.backends("kubesim")  # the simulator's own store and watch


def cm(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels},
            "data": {"k": "v"}}


def request(cluster: Cluster, method: str, path: str, body: Any = None,
            content_type: str = "application/json") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(cluster.url + path, data=data, method=method,
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def watch_lines(cluster: Cluster, query: str) -> list[dict[str, Any]]:
    url = f"{cluster.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1&{query}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return [json.loads(line) for line in reply.read().splitlines() if line.strip()]


def test_store_resource_versions_conflicts_and_gc() -> None:
    store = Store()
    ns_rt, cm_rt, pod_rt = (REGISTRY.get("", p) for p in ("namespaces", "configmaps", "pods"))
    store.create(ns_rt, {"metadata": {"name": "default"}})
    first = store.create(cm_rt, {"metadata": {"name": "a", "namespace": "default"}, "data": {}})
    with pytest.raises(ApiError) as info:
        store.create(cm_rt, {"metadata": {"name": "a", "namespace": "default"}})
    assert info.value.reason == "AlreadyExists"
    changed = dict(first, data={"x": "1"})
    second = store.update(cm_rt, changed)
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    with pytest.raises(ApiError) as info:
        store.update(cm_rt, changed)  # stale resourceVersion
    assert (info.value.code, info.value.reason) == (409, "Conflict")
    owner_ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "a", "uid": first["metadata"]["uid"]}
    store.create(pod_rt, {"metadata": {"name": "p", "namespace": "default", "ownerReferences": [owner_ref]},
                          "spec": {}})
    store.delete(cm_rt, "default", "a")
    assert store.get(pod_rt, "default", "p") is None
    with pytest.raises(ApiError) as info:
        store.create(cm_rt, {"metadata": {"name": "b", "namespace": "missing"}})
    assert info.value.code == 404


def test_crud_status_errors_and_generate_name(cluster: Cluster) -> None:
    code, created = request(cluster, "POST", "/api/v1/namespaces/default/configmaps",
                            {"metadata": {"generateName": "gen-"}, "data": {}})
    assert code == 201 and created["metadata"]["name"].startswith("gen-")
    code, status = request(cluster, "GET", "/api/v1/namespaces/default/configmaps/nope")
    assert code == 404 and status["kind"] == "Status" and status["reason"] == "NotFound"
    code, listed = request(cluster, "GET", "/api/v1/configmaps")
    assert listed["kind"] == "ConfigMapList" and listed["metadata"]["resourceVersion"]
    code, dry = request(cluster, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All", cm("dry"))
    assert code == 201 and cluster.sim.get("configmaps", "dry") is None


def test_watch_resume_initial_events_and_selectors(cluster: Cluster) -> None:
    a = cluster.sim.create(cm("a", app="x"))
    cluster.sim.create(cm("b", app="y"))
    rv = a["metadata"]["resourceVersion"]
    events = watch_lines(cluster, f"resourceVersion={rv}")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "b")]

    events = watch_lines(cluster, "sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                                  "&allowWatchBookmarks=true&labelSelector=app%3Dx")
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}

    cluster.sim.patch("configmaps", "a", {"metadata": {"labels": {"app": "z"}}})
    events = watch_lines(cluster, f"resourceVersion={rv}&labelSelector=app%3Dx")
    assert [e["type"] for e in events] == ["DELETED"]


def test_watch_too_old_resource_version_is_410(cluster: Cluster) -> None:
    sim = cluster.sim.raw
    first = cluster.sim.create(cm("c0"))
    for i in range(1, 4):
        cluster.sim.create(cm(f"c{i}"))
    cluster.sim.call(lambda: sim.store.compact(1))
    events = watch_lines(cluster, f"resourceVersion={first['metadata']['resourceVersion']}")
    assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410
