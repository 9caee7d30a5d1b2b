"""``meta.k8s.io/v1`` Table replies, so plain ``kubectl get`` prints useful columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]


def _age(obj: Obj) -> str:
    stamp = obj["metadata"].get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    seconds = int((datetime.now(UTC) - datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)).total_seconds())
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def pod_status_reason(pod: Obj) -> str:
    """What ``kubectl get pods`` shows in STATUS: a waiting/terminated reason or the phase."""
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "Pending")
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return "Pending"
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state", {})
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return "Init:" + state["waiting"]["reason"]
        if "running" in state or "waiting" in state:
            return "Init:0/1"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state", {})
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or f"ExitCode:{state['terminated'].get('exitCode')}"
    return reason


def _pod_row(pod: Obj) -> list[Any]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    total = len(pod["spec"].get("containers") or [])
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    return [pod["metadata"]["name"], f"{ready}/{total}", pod_status_reason(pod), restarts, _age(pod),
            pod.get("status", {}).get("podIP", "<none>"), pod["spec"].get("nodeName", "<none>")]


def _deploy_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    return [obj["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _age(obj)]


def _column(name: str, type_: str = "string", priority: int = 0) -> Obj:
    return {"name": name, "type": type_, "format": "name" if name == "Name" else "", "description": name,
            "priority": priority}


COLUMNS = {
    ("", "Pod"): ([_column("Name"), _column("Ready"), _column("Status"), _column("Restarts", "integer"),
                   _column("Age"), _column("IP", priority=1), _column("Node", priority=1)], _pod_row),
    ("apps", "Deployment"): ([_column("Name"), _column("Ready"), _column("Up-to-date", "integer"),
                              _column("Available", "integer"), _column("Age")], _deploy_row),
}


def as_table(rt: ResourceType, items: list[Obj], resource_version: str, include_object: str = "Metadata") -> Obj:
    columns, row_fn = COLUMNS.get((rt.group, rt.kind), ([_column("Name"), _column("Age")],
                                                        lambda o: [o["metadata"]["name"], _age(o)]))
    rows = []
    for obj in items:
        if include_object == "Object":
            embedded = obj
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": row_fn(obj), "object": embedded})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns, "rows": rows}
