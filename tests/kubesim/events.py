"""core/v1 Events like the kubelet, scheduler and controllers write them (deduplicated by count)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from .resources import REGISTRY
from .store import Store, now_rfc3339

Obj = dict[str, Any]


class EventRecorder:
    """Writes Events; a repeat of the same reason and message bumps ``count`` instead."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rt = REGISTRY.get("", "events")
        self._seen: dict[tuple[str, str, str, str, str], str] = {}

    def record(self, obj: Obj, type_: str, reason: str, message: str, *,
               component: str = "kubelet", field_path: str | None = None) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (namespace, meta.get("uid", ""), reason, message, field_path or "")
        now = now_rfc3339()
        existing_name = self._seen.get(key)
        if existing_name:
            existing = self.store.get(self.rt, namespace, existing_name)
            if existing is not None:
                existing["count"] = existing.get("count", 1) + 1
                existing["lastTimestamp"] = now
                self.store.update(self.rt, existing, check_rv=False)
                return
        involved: Obj = {
            "kind": obj.get("kind"),
            "namespace": namespace,
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        name = f"{meta.get('name')}.{uuid.uuid4().hex[:16]}"
        event = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "source": {"component": component, **({"host": "kubesim-node-1"} if component == "kubelet" else {})},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": "kubesim-node-1" if component == "kubelet" else "",
        }
        try:
            self.store.create(self.rt, event)
        except Exception:  # noqa: BLE001 - the namespace may be gone; events are best effort
            return
        self._seen[key] = name


def micro_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
