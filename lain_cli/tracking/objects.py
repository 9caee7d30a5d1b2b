"""Reading Kubernetes JSON objects: timestamps, conditions, labels, owners, events.

Everything tolerates missing fields: watches deliver objects in every state of
completeness, from a pod without status to one being deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lain_cli.labels import COMPONENT as COMPONENT_LABEL

Obj = Mapping[str, Any]

_FRACTION = re.compile(r"(\.\d{6})\d+")
_MESSAGE_LIMIT = 500
_FIELD_PATH = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]*)\}")


def aware(moment: datetime) -> datetime:
    """``moment`` with a timezone; a naive datetime is taken to be UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp or MicroTime from the API (``2025-06-12T09:58:00Z``), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return aware(datetime.fromisoformat(_FRACTION.sub(r"\1", value)))
    except ValueError:
        return None


def seconds_since(start: datetime | None, now: datetime) -> float | None:
    return None if start is None else (now - start).total_seconds()


def trim(message: Any, limit: int = _MESSAGE_LIMIT) -> str:
    """A message on one line, whitespace collapsed, at most ``limit`` characters."""
    text = " ".join(str(message or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def status_of(obj: Obj) -> Obj:
    return obj.get("status") or {}


def labels(obj: Obj) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: Obj) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def component_of(obj: Obj) -> str | None:
    """The proc name from ``app.kubernetes.io/component``, also on the pod template."""
    found = labels(obj).get(COMPONENT_LABEL)
    if found is None:
        template = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
        found = (template.get("labels") or {}).get(COMPONENT_LABEL)
    return found


def condition(obj: Obj, type_: str) -> Obj | None:
    for cond in status_of(obj).get("conditions") or ():
        if cond.get("type") == type_:
            return cond
    return None


def condition_is(obj: Obj, type_: str, value: str = "True") -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == value


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true`` (else the only one), or None."""
    refs = meta(obj).get("ownerReferences") or []
    for ref in refs:
        if ref.get("controller"):
            return ref
    return refs[0] if len(refs) == 1 else None


def owned_by(obj: Obj, owner: Obj) -> bool:
    """Whether ``owner`` controls ``obj`` (by uid, else kind and name)."""
    ref = controller_ref(obj)
    if ref is None:
        return False
    owner_uid = meta(owner).get("uid")
    if ref.get("uid") and owner_uid:
        return ref["uid"] == owner_uid
    return ref.get("kind") == owner.get("kind") and ref.get("name") == meta(owner).get("name")


def is_deleting(obj: Obj) -> bool:
    return meta(obj).get("deletionTimestamp") is not None


_OWNER_KINDS = {"ReplicaSet": "replicasets", "Job": "jobs", "StatefulSet": "statefulsets",
                "DaemonSet": "daemonsets"}


def live_pods(objects: Mapping[str, Sequence[Obj]]) -> list[Obj]:
    """The pods in ``objects`` (by plural kind) that are the release as it is now.

    Left out: pods being deleted, and pods whose controller is gone.  A deleted Job's
    pods linger until the garbage collector removes them (seconds on a busy cluster);
    they are the previous run, not this one.  A pod whose owner's kind was not listed
    at all is kept: there is nothing to tell.
    """
    owners = {plural: _Owners(objects[plural]) for plural in _OWNER_KINDS.values()
              if objects.get(plural) is not None}
    kept = []
    for pod in objects.get("pods") or ():
        if is_deleting(pod):
            continue
        ref = controller_ref(pod)
        owner_list = owners.get(_OWNER_KINDS.get(str(ref.get("kind")), "")) if ref else None
        if ref is not None and owner_list is not None and not owner_list.controls(ref):
            continue
        kept.append(pod)
    return kept


class _Owners:
    """Whether some object of a list is the one an ownerReference names (:func:`owned_by`)."""

    def __init__(self, owners: Iterable[Obj]) -> None:
        self.uids: set[Any] = set()
        self.names: set[tuple[Any, Any]] = set()  # of every owner
        self.names_without_uid: set[tuple[Any, Any]] = set()
        for owner in owners:
            key = (owner.get("kind"), meta(owner).get("name"))
            self.names.add(key)
            if meta(owner).get("uid"):
                self.uids.add(meta(owner)["uid"])
            else:
                self.names_without_uid.add(key)

    def controls(self, ref: Obj) -> bool:
        key = (ref.get("kind"), ref.get("name"))
        if ref.get("uid"):
            return ref["uid"] in self.uids or key in self.names_without_uid
        return key in self.names


def started_containers(pod: Obj) -> list[tuple[str, bool]]:
    """``(container, is_init)`` for every container of ``pod`` that has run, in start
    order (init containers first): those are the ones ``kubectl logs`` can read."""
    status = pod.get("status") or {}
    started = []
    for key, is_init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            if "running" in state or "terminated" in state or (cs.get("lastState") or {}).get("terminated"):
                started.append((str(cs.get("name", "")), is_init))
    return started


class OwnerIndex:
    """The objects of a list by the owner that controls them, decided as :func:`owned_by`
    decides (by uid, else by kind and name), built once: finding the pods of every
    workload of a release then costs one pass over them, not one per workload."""

    def __init__(self, objects: Iterable[Obj]) -> None:
        self._by_uid: dict[str, list[tuple[int, Obj]]] = {}
        self._by_name: dict[tuple[Any, Any], list[tuple[int, Obj, bool]]] = {}
        for position, obj in enumerate(objects):
            ref = controller_ref(obj)
            if ref is None:
                continue
            uid = ref.get("uid")
            if uid:
                self._by_uid.setdefault(uid, []).append((position, obj))
            self._by_name.setdefault((ref.get("kind"), ref.get("name")), []).append((position, obj, bool(uid)))

    def _children(self, owner: Obj) -> list[tuple[int, Obj]]:
        uid = meta(owner).get("uid")
        named = self._by_name.get((owner.get("kind"), meta(owner).get("name")), [])
        if uid:  # by uid; a reference without a uid still matches by kind and name
            return [*self._by_uid.get(uid, []), *((p, o) for p, o, has_uid in named if not has_uid)]
        return [(p, o) for p, o, _ in named]

    def of(self, *owners: Obj) -> list[Obj]:
        """The objects any of ``owners`` controls, in the order of the list."""
        found = {position: obj for owner in owners for position, obj in self._children(owner)}
        return [found[position] for position in sorted(found)]


def pods_of(workload: Obj, pods: Iterable[Obj], replicasets: Iterable[Obj] = (), *,
            pod_index: OwnerIndex | None = None, set_index: OwnerIndex | None = None) -> list[Obj]:
    """The pods ``workload`` controls, by owner uid (through its ReplicaSets for a
    Deployment).  ``pod_index`` / ``set_index``: the pods and ReplicaSets indexed once
    by the caller that asks for many workloads."""
    return pods_and_sets_of(workload, pod_index or OwnerIndex(pods), set_index or OwnerIndex(replicasets))[0]


def pods_and_sets_of(workload: Obj, pod_index: OwnerIndex, set_index: OwnerIndex) -> tuple[list[Obj], list[Obj]]:
    """(pods, ReplicaSets) that ``workload`` controls: a Deployment's pods through its
    ReplicaSets, any other workload's directly (and no ReplicaSets)."""
    if workload.get("kind") != "Deployment":
        return pod_index.of(workload), []
    sets = set_index.of(workload)
    return pod_index.of(*sets), sets


# Events ---------------------------------------------------------------------


def event_first_time(event: Obj) -> datetime | None:
    return (
        parse_time(event.get("firstTimestamp"))
        or parse_time(event.get("eventTime"))
        or parse_time(event.get("lastTimestamp"))
        or parse_time(meta(event).get("creationTimestamp"))
    )


def event_last_time(event: Obj) -> datetime | None:
    """When the event last happened: ``series.lastObservedTime``, ``lastTimestamp``,
    ``eventTime`` (events written through events.k8s.io), ``firstTimestamp``."""
    series = event.get("series") or {}
    return (
        parse_time(series.get("lastObservedTime"))
        or parse_time(event.get("lastTimestamp"))
        or parse_time(event.get("eventTime"))
        or event_first_time(event)
    )


def event_count(event: Obj) -> int:
    series = event.get("series") or {}
    return int(series.get("count") or event.get("count") or 1)


def event_container(event: Obj) -> str | None:
    """The container an event is about, from ``involvedObject.fieldPath``
    (``spec.containers{web}``), or None for the pod as a whole."""
    involved = event.get("involvedObject") or event.get("regarding") or {}
    match = _FIELD_PATH.fullmatch(involved.get("fieldPath") or "")
    return match.group(1) if match else None


def _involves(event: Obj, kind: str, uid: str | None, name: str | None, namespace: str | None) -> bool:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    if involved.get("uid") and uid:
        return involved["uid"] == uid
    if involved.get("kind") != kind or involved.get("name") != name:
        return False
    return not namespace or involved.get("namespace") in (None, "", namespace)


def events_for(obj: Obj, events: Iterable[Obj]) -> list[Obj]:
    """The events about ``obj`` (by involvedObject uid, else kind and name), oldest first."""
    md = meta(obj)
    kind = obj.get("kind") or "Pod"
    found = [
        e for e in events if _involves(e, kind, md.get("uid"), md.get("name"), md.get("namespace"))
    ]
    found.sort(key=_event_order)
    return found


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _event_order(event: Obj) -> tuple[datetime, datetime, int]:
    # Timestamps have one-second resolution; the resourceVersion (an opaque
    # string, in practice etcd's increasing revision) keeps creation order.
    version = str(meta(event).get("resourceVersion") or "")
    return (
        event_last_time(event) or _EPOCH,
        event_first_time(event) or _EPOCH,
        int(version) if version.isdigit() else 0,
    )


def index_events(events: Iterable[Obj]) -> dict[str, list[Obj]]:
    """Events grouped by involved object (``uid:<uid>`` and ``name:<Kind>/<name>``), so
    that finding each pod's events costs one lookup instead of a scan."""
    index: dict[str, list[Obj]] = {}
    for event in events:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        keys = [f"name:{involved.get('kind')}/{involved.get('name')}"]
        if involved.get("uid"):
            keys.append(f"uid:{involved['uid']}")
        for key in keys:
            index.setdefault(key, []).append(event)
    return index


def indexed_events_for(obj: Obj, index: dict[str, list[Obj]]) -> list[Obj]:
    """The candidates for :func:`events_for` out of an :func:`index_events` index."""
    md = meta(obj)
    by_uid = index.get(f"uid:{md.get('uid')}", []) if md.get("uid") else []
    by_name = index.get(f"name:{obj.get('kind') or 'Pod'}/{md.get('name')}", [])
    if not by_uid:
        return by_name
    seen = {id(e) for e in by_uid}
    return by_uid + [e for e in by_name if id(e) not in seen]
