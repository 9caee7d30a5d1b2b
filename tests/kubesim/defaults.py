"""What the API server does to objects on write: defaulting, a few validations, immutability.

Only what helm, kubectl and the controllers here rely on: workload and pod defaults, Service
cluster IPs, Secret ``stringData``, Job selectors, and the immutable fields users trip on
(a StatefulSet's spec beyond what an update may change, selectors, a Job's template), and
requests above limits.  Every check runs on dry runs too (``dryRun=All``): the server
validates and then stores nothing, as ``lain deploy --dry-run`` relies on.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
import uuid
from typing import Any

from . import errors
from .resources import ResourceType

Obj = dict[str, Any]
_ip_counter = itertools.count(10)
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _pod_spec_defaults(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        image = container.get("image", "")
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        container.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
        for port in container.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _template_defaults(obj: Obj) -> None:
    template = obj.setdefault("spec", {}).setdefault("template", {})
    template.setdefault("metadata", {})
    _pod_spec_defaults(template.setdefault("spec", {}))


_SUFFIXES = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+))?([a-zA-Z]*)$")


def _quantity(value: Any) -> float | None:
    match = _QUANTITY_RE.match(str(value).strip())
    if not match or match.group(3) not in _SUFFIXES:
        return None
    try:
        number = float(match.group(1)) * (10 ** int(match.group(2)) if match.group(2) else 1)
    except ValueError:
        return None
    return number * _SUFFIXES[match.group(3)]


def validate_pod_spec(kind: str, group: str, name: str, spec: Obj, path: str) -> None:
    """What the API server checks in every pod (template) that lain's values can get wrong:
    a container's requests may not exceed its limits."""
    for field in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(field) or []):
            resources = container.get("resources") or {}
            limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
            for resource, request in requests.items():
                if resource not in limits:
                    continue
                wanted, limit = _quantity(request), _quantity(limits[resource])
                if wanted is not None and limit is not None and wanted > limit:
                    where = f"{path}.{field}[{i}].resources.requests"
                    raise errors.invalid(f"{kind}.{group}" if group else kind, group, name,
                                         f"{where}: Invalid value: {json.dumps(str(request))}: must be less "
                                         f"than or equal to {resource} limit of {limits[resource]}", where)


# What a StatefulSet update may change (k8s.io/kubernetes pkg/apis/apps/validation, ValidateStatefulSetUpdate).
_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                        "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _statefulset_update(obj: Obj, live: Obj) -> None:
    def fixed(o: Obj) -> Obj:
        return {k: v for k, v in (o.get("spec") or {}).items() if k not in _STATEFULSET_MUTABLE}

    if fixed(obj) != fixed(live):
        raise errors.invalid(
            "StatefulSet.apps", "apps", obj["metadata"]["name"],
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
            "'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
            "and 'minReadySeconds' are forbidden", "spec")


def _require_selector_matches(rt: ResourceType, obj: Obj) -> None:
    spec = obj.get("spec", {})
    selector = spec.get("selector")
    name = obj["metadata"].get("name", "")
    if not selector:
        raise errors.invalid(rt.kind + "." + rt.group, rt.group, name,
                             "spec.selector: Required value", "spec.selector")
    labels = spec.get("template", {}).get("metadata", {}).get("labels") or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            raise errors.invalid(
                f"{rt.kind}.{rt.group}", rt.group, name,
                f"spec.template.metadata.labels: Invalid value: {json.dumps(labels)}: "
                "`selector` does not match template `labels`",
                "spec.template.metadata.labels",
            )


def _immutable(rt: ResourceType, obj: Obj, live: Obj, path: str) -> None:
    def get(o: Obj) -> Any:
        node: Any = o
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    if get(obj) is not None and get(obj) != get(live):
        kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
        raise errors.invalid(kind, rt.group, obj["metadata"]["name"],
                             f"{path}: Invalid value: {json.dumps(get(obj))}: field is immutable", path)


def prepare(rt: ResourceType, obj: Obj, live: Obj | None) -> Obj:
    """Default and validate ``obj`` about to be created (``live`` None) or to replace ``live``."""
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    name = meta.get("name") or ""
    if name and not _NAME_RE.match(name) and rt.kind not in ("Event",):
        kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
        raise errors.invalid(kind, rt.group, name,
                             f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
                             "consist of lower case alphanumeric characters, '-' or '.', and must start "
                             "and end with an alphanumeric character", "metadata.name")
    key = (rt.group, rt.kind)
    if key in {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet")}:
        spec = obj.setdefault("spec", {})
        if rt.kind != "DaemonSet":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        _template_defaults(obj)
        _require_selector_matches(rt, obj)
        if rt.kind == "Deployment":
            strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
            if strategy.get("type", "RollingUpdate") == "RollingUpdate":
                strategy["type"] = "RollingUpdate"
                strategy.setdefault("rollingUpdate", {}).setdefault("maxUnavailable", "25%")
                strategy["rollingUpdate"].setdefault("maxSurge", "25%")
            spec.setdefault("progressDeadlineSeconds", 600)
        if rt.kind == "StatefulSet":
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            spec.setdefault("persistentVolumeClaimRetentionPolicy",
                            {"whenDeleted": "Retain", "whenScaled": "Retain"})
        validate_pod_spec(rt.kind, rt.group, name, spec["template"]["spec"], "spec.template.spec")
        if live is not None:
            _immutable(rt, obj, live, "spec.selector")
            if rt.kind == "StatefulSet":
                _statefulset_update(obj, live)
    elif key == ("batch", "Job"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        _template_defaults(obj)
        validate_pod_spec(rt.kind, rt.group, name, spec["template"]["spec"], "spec.template.spec")
        restart = spec["template"]["spec"].get("restartPolicy")
        if restart not in ("Never", "OnFailure"):
            raise errors.invalid("Job.batch", "batch", name,
                                 f'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never" (got {restart!r})',
                                 "spec.template.spec.restartPolicy")
        if live is None:
            uid = meta["uid"] = str(uuid.uuid4())
            uid_label = "batch.kubernetes.io/controller-uid"
            spec.setdefault("selector", {"matchLabels": {uid_label: uid}})
            labels = spec["template"]["metadata"].setdefault("labels", {})
            labels.setdefault("batch.kubernetes.io/job-name", name)
            labels.setdefault("job-name", name)
            labels.setdefault("controller-uid", uid)
            labels.setdefault(uid_label, uid)
        else:
            for path in ("spec.template", "spec.selector", "spec.completions"):
                _immutable(rt, obj, live, path)
    elif key == ("batch", "CronJob"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    elif key == ("", "Pod"):
        _pod_spec_defaults(obj.setdefault("spec", {}))
        validate_pod_spec(rt.kind, rt.group, name, obj["spec"], "spec")
        obj["spec"].setdefault("serviceAccountName", "default")
        if live is None:
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        else:
            for path in ("spec.containers", "spec.nodeName"):
                if path == "spec.containers":
                    images = [(c.get("name"), c.get("image")) for c in obj["spec"].get("containers", [])]
                    live_images = [(c.get("name"), c.get("image")) for c in live["spec"].get("containers", [])]
                    if [n for n, _ in images] != [n for n, _ in live_images]:
                        _immutable(rt, obj, live, path)
                elif live["spec"].get("nodeName"):
                    obj["spec"].setdefault("nodeName", live["spec"]["nodeName"])
    elif key == ("", "Service"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        live_ip = (live or {}).get("spec", {}).get("clusterIP")
        if spec.get("clusterIP") != "None":
            if live_ip and not spec.get("clusterIP"):
                spec["clusterIP"] = live_ip
            if not spec.get("clusterIP"):
                n = next(_ip_counter)
                spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
            spec["clusterIPs"] = [spec["clusterIP"]]
        obj.setdefault("status", {"loadBalancer": {}})
    elif key == ("", "Secret"):
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
        if live is not None and obj.get("type") != live.get("type"):
            _immutable(rt, obj, live, "type")
    elif key == ("", "PersistentVolumeClaim"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        if live is None:
            obj["status"] = {"phase": "Pending"}
    elif key == ("", "Namespace"):
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = (live or {}).get("status") or {"phase": "Active"}
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    return obj

