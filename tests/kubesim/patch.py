"""PATCH semantics of the Kubernetes API for the simulator: JSON patch, merge patch,
strategic merge patch and server-side apply with managedFields.

What: pure functions over JSON-like dicts; inputs are never mutated, results are new objects.

* ``apply_json_patch``: RFC 6902 (``application/json-patch+json``).
* ``apply_merge_patch``: RFC 7386 (``application/merge-patch+json``); also what the API
  server does with a strategic merge patch on a custom resource.
* ``apply_strategic_merge_patch``: ``application/strategic-merge-patch+json`` as kubectl
  (``apply``, ``edit``, ``patch``) and helm 3's three-way merge send it, with the
  patchStrategy/patchMergeKey table of the built-in types in ``_TYPES`` and the
  directives ``$patch``, ``$retainKeys``, ``$setElementOrder/<field>`` and
  ``$deleteFromPrimitiveList/<field>``, following k8s.io/apimachinery's strategicpatch.
* ``apply_server_side``: ``application/apply-patch+yaml`` (helm 4, ``kubectl apply
  --server-side``): merges the applied configuration into the live object, removes what
  the manager applied before but no longer does, keeps ``metadata.managedFields`` in the
  ``FieldsV1`` notation (``f:``/``k:``/``v:``/``.``) and reports conflicts like the API.
* ``record_update``: ownership bookkeeping for non-apply writes (create, update, patch).

Why: the simulator must give helm and kubectl the same results a real API server would,
or their follow-up reads, diffs and upgrades go wrong.

Not modelled: SSA list keys made of several fields (container and Service ports are
keyed by the port alone), defaulting of applied values before comparison, the
``before-first-apply`` owner of objects that have no managedFields, and CRD OpenAPI
list types (CRD lists are atomic for SSA and replaced by patches).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ApplyConflict",
    "PatchError",
    "apply_json_patch",
    "apply_merge_patch",
    "apply_server_side",
    "apply_strategic_merge_patch",
    "managed_fields_paths",
    "record_update",
]


class PatchError(ValueError):
    """The patch is invalid, a JSON-patch ``test`` failed, or a path does not exist."""


class ApplyConflict(PatchError):  # noqa: N818 -- the name is part of the simulator's API
    """A server-side apply would change fields another manager owns (and force is off).

    ``conflicts`` holds one ``(manager description, path)`` string per field, e.g.
    ``conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas``; the
    message is the one the API server puts into its 409 Status.
    """

    def __init__(self, conflicts: list[str], message: str | None = None) -> None:
        if message is None:
            count = len(conflicts)
            message = (
                f"Apply failed with {count} conflict{'s' if count != 1 else ''}: "
                + "\n".join(conflicts)
            )
        super().__init__(message)
        self.conflicts = list(conflicts)


# =======================================================================================
# RFC 6902 JSON patch
# =======================================================================================
def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"JSON pointer must be a string, got {path!r}")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(token: str, size: int, allow_end: bool, path: str) -> int:
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"invalid array index {token!r} in {path!r}")
    index = int(token)
    if index > size or (index == size and not allow_end):
        raise PatchError(f"array index {index} out of range in {path!r}")
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise PatchError(f"path {path!r} does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), False, path)]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path {path!r} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(last, len(parent), False, path)]
    raise PatchError(f"path {path!r} does not exist")


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), True, path), value)
    else:
        raise PatchError(f"cannot add {path!r}: parent is not an object or array")
    return doc


def _remove(doc: Any, path: str) -> tuple[Any, Any]:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"cannot remove {path!r}: it does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(last, len(parent), False, path))
    raise PatchError(f"cannot remove {path!r}: it does not exist")


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, 1 equals 1.0, order matters in arrays only."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def apply_json_patch(obj: Any, ops: list) -> Any:
    """Apply an RFC 6902 JSON patch (a list of operations) to a copy of ``obj``."""
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(obj)
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"operation {i} needs 'op' and 'path': {op!r}")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {i} ({kind}) needs a 'value'")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc, _ = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # must exist
            if _pointer(path):
                doc, _ = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            if "from" not in op:
                raise PatchError(f"operation {i} ({kind}) needs a 'from'")
            source = op["from"]
            if kind == "move":
                if source == path:
                    continue
                if path.startswith(source + "/"):
                    raise PatchError(f"cannot move {source!r} into its own child {path!r}")
                doc, value = _remove(doc, source)
            else:
                value = copy.deepcopy(_get(doc, source))
            doc = _add(doc, path, value)
        elif kind == "test":
            if not _json_equal(_get(doc, path), op["value"]):
                raise PatchError(f"test operation {i} failed at {path!r}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# =======================================================================================
# RFC 7386 JSON merge patch
# =======================================================================================
def apply_merge_patch(obj: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch: objects merge recursively, null deletes, rest replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(obj) if isinstance(obj, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


# =======================================================================================
# Patch metadata of the built-in types
# =======================================================================================
@dataclass(frozen=True, slots=True)
class _Meta:
    """How one field patches.

    ``type``: the struct type of the field (or of its list items) for further lookups;
    ``strategy``: ``"merge"`` (associative list keyed by ``key``, or a set of scalars when
    ``key`` is None), ``"replace"`` (atomic) or ``""`` (structs merge, lists replace).
    """

    type: str | None = None
    strategy: str = ""
    key: str | None = None


def _m(key: str, type_: str | None = None) -> _Meta:
    return _Meta(type_, "merge", key)


_SET = _Meta(None, "merge", None)
_REPLACE = _Meta(None, "replace")

# patchStrategy/patchMergeKey struct tags of k8s.io/api (as of v1.34-1.36) and the struct
# types that lead to them.  Fields absent here: structs merge, lists are replaced.
_TYPES: dict[str, dict[str, _Meta]] = {
    "ObjectMeta": {"ownerReferences": _m("uid"), "finalizers": _SET},
    "PodTemplateSpec": {"metadata": _Meta("ObjectMeta"), "spec": _Meta("PodSpec")},
    "PodSpec": {
        "volumes": _m("name"),
        "containers": _m("name", "Container"),
        "initContainers": _m("name", "Container"),
        "ephemeralContainers": _m("name", "Container"),
        "imagePullSecrets": _m("name"),
        "hostAliases": _m("ip"),
        "topologySpreadConstraints": _m("topologyKey"),
        "schedulingGates": _m("name"),
        "resourceClaims": _m("name"),
    },
    "Container": {
        "ports": _m("containerPort"),
        "env": _m("name"),
        "volumeMounts": _m("mountPath"),
        "volumeDevices": _m("devicePath"),
    },
    "PodStatus": {
        "conditions": _m("type"),
        "podIPs": _m("ip"),
        "hostIPs": _m("ip"),
        "resourceClaimStatuses": _m("name"),
    },
    "Pod": {"spec": _Meta("PodSpec"), "status": _Meta("PodStatus")},
    "PodTemplate": {"template": _Meta("PodTemplateSpec")},
    "ReplicationController": {
        "spec": _Meta("ReplicationControllerSpec"),
        "status": _Meta("ConditionsStatus"),
    },
    "ReplicationControllerSpec": {"template": _Meta("PodTemplateSpec")},
    "ConditionsStatus": {"conditions": _m("type")},
    "Deployment": {"spec": _Meta("DeploymentSpec"), "status": _Meta("ConditionsStatus")},
    "DeploymentSpec": {"selector": _REPLACE, "template": _Meta("PodTemplateSpec")},
    "StatefulSet": {"spec": _Meta("StatefulSetSpec"), "status": _Meta("ConditionsStatus")},
    "StatefulSetSpec": {"selector": _REPLACE, "template": _Meta("PodTemplateSpec")},
    "DaemonSet": {"spec": _Meta("DaemonSetSpec"), "status": _Meta("ConditionsStatus")},
    "DaemonSetSpec": {"template": _Meta("PodTemplateSpec")},
    "ReplicaSet": {"spec": _Meta("ReplicaSetSpec"), "status": _Meta("ConditionsStatus")},
    "ReplicaSetSpec": {"selector": _REPLACE, "template": _Meta("PodTemplateSpec")},
    "Job": {"spec": _Meta("JobSpec"), "status": _Meta("ConditionsStatus")},
    "JobSpec": {"template": _Meta("PodTemplateSpec")},
    "CronJob": {"spec": _Meta("CronJobSpec")},
    "CronJobSpec": {"jobTemplate": _Meta("JobTemplateSpec")},
    "JobTemplateSpec": {"metadata": _Meta("ObjectMeta"), "spec": _Meta("JobSpec")},
    "Service": {"spec": _Meta("ServiceSpec"), "status": _Meta("ConditionsStatus")},
    "ServiceSpec": {"ports": _m("port")},
    "Namespace": {"status": _Meta("ConditionsStatus")},
    "PersistentVolumeClaim": {"status": _Meta("ConditionsStatus")},
    "ServiceAccount": {"secrets": _m("name")},
}

# (group, kind) -> root type; every root also has metadata: ObjectMeta.
_KINDS: dict[tuple[str, str], str] = {
    ("", "Pod"): "Pod",
    ("", "PodTemplate"): "PodTemplate",
    ("", "ReplicationController"): "ReplicationController",
    ("", "Service"): "Service",
    ("", "Namespace"): "Namespace",
    ("", "PersistentVolumeClaim"): "PersistentVolumeClaim",
    ("", "ServiceAccount"): "ServiceAccount",
    ("apps", "Deployment"): "Deployment",
    ("apps", "StatefulSet"): "StatefulSet",
    ("apps", "DaemonSet"): "DaemonSet",
    ("apps", "ReplicaSet"): "ReplicaSet",
    ("batch", "Job"): "Job",
    ("batch", "CronJob"): "CronJob",
}

# Groups served by kube-apiserver itself: strategic merge patch applies to every kind in
# them (ObjectMeta strategies at least); anything else is a custom resource.
_BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)

_ROOT = "__root__"


def _root_fields(gvk: tuple[str, str, str]) -> dict[str, _Meta] | None:
    """The field table of a kind's top level, or None for a custom resource."""
    group, _version, kind = gvk
    if group not in _BUILTIN_GROUPS:
        return None
    fields = dict(_TYPES.get(_KINDS.get((group, kind), ""), {}))
    fields["metadata"] = _Meta("ObjectMeta")
    return fields


def _fields_of(type_: str | None, root: dict[str, _Meta] | None) -> dict[str, _Meta]:
    if type_ == _ROOT:
        return root or {}
    return _TYPES.get(type_ or "", {})


def _gvk_of(obj: dict) -> tuple[str, str, str]:
    api_version = str(obj.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    return group, version, str(obj.get("kind") or "")


# =======================================================================================
# Strategic merge patch
# =======================================================================================
_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_ORDER_PREFIX = "$setElementOrder/"
_DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


def apply_strategic_merge_patch(obj: dict, patch: dict, gvk: tuple[str, str, str]) -> dict:
    """Apply a strategic merge patch to a copy of ``obj`` of kind ``gvk`` (group, version, kind).

    Custom resources (groups not served by kube-apiserver) get JSON merge patch semantics.
    """
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be a JSON object")
    root = _root_fields(gvk)
    if root is None:
        return apply_merge_patch(obj, patch)
    original = copy.deepcopy(obj) if isinstance(obj, dict) else {}
    return _smp_map(original, copy.deepcopy(patch), _ROOT, root)


def _smp_map(original: dict, patch: dict, type_: str | None, root: dict | None) -> dict:
    """mergeMap: merge ``patch`` into ``original`` (both already private copies)."""
    fields = _fields_of(type_, root)
    directive = patch.pop(_DIRECTIVE, None)
    if directive == "replace":
        return _smp_map({}, patch, type_, root)
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError(f"unknown $patch directive {directive!r} in a map")

    retain = patch.pop(_RETAIN_KEYS, None)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError("$retainKeys must be a list")
        for key, value in patch.items():
            if value is None or key.startswith(("$setElementOrder/", "$deleteFromPrimitiveList/")):
                continue
            if key not in retain:
                raise PatchError(f"$retainKeys does not list the patched key {key!r}")
        for key in list(original):
            if key not in retain:
                del original[key]

    # $deleteFromPrimitiveList/<field>: drop values from a scalar list first.
    for key in [k for k in patch if k.startswith(_DELETE_PRIMITIVE_PREFIX)]:
        name = key[len(_DELETE_PRIMITIVE_PREFIX) :]
        doomed = patch.pop(key)
        if not isinstance(doomed, list):
            raise PatchError(f"{key} must be a list")
        current = original.get(name)
        if isinstance(current, list):
            original[name] = [v for v in current if not any(_json_equal(v, d) for d in doomed)]

    orders = {
        k[len(_ORDER_PREFIX) :]: patch.pop(k)
        for k in [k for k in patch if k.startswith(_ORDER_PREFIX)]
    }

    for key, value in patch.items():
        if key.startswith("$"):
            raise PatchError(f"unknown directive {key!r}")
        meta = fields.get(key, _Meta())
        if value is None:
            original.pop(key, None)
            continue
        if key not in original:
            original[key] = _smp_value(_empty_like(value), value, meta, root)
            continue
        current = original[key]
        if isinstance(current, dict) and isinstance(value, dict):
            if meta.strategy == "replace":
                original[key] = _smp_map({}, value, meta.type, root)
            else:
                original[key] = _smp_map(current, value, meta.type, root)
        elif isinstance(current, list) and isinstance(value, list):
            original[key] = _smp_list(current, value, meta, root)
        else:
            original[key] = _smp_value(_empty_like(value), value, meta, root)

    for name, order in orders.items():
        if not isinstance(order, list):
            raise PatchError(f"$setElementOrder/{name} must be a list")
        current = original.get(name)
        if isinstance(current, list):
            original[name] = _apply_element_order(current, order, fields.get(name, _Meta()))
    return original


def _empty_like(value: Any) -> Any:
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return []
    return None


def _smp_value(original: Any, patch: Any, meta: _Meta, root: dict | None) -> Any:
    """Merge into an empty container: this drops directives and unmatched nulls."""
    if isinstance(patch, dict):
        return _smp_map({}, patch, meta.type, root)
    if isinstance(patch, list):
        return _smp_list([], patch, meta, root)
    return patch


def _item_key(item: Any, key: str) -> Any:
    return json.dumps(item.get(key), sort_keys=True) if isinstance(item, dict) else None


def _smp_list(original: list, patch: list, meta: _Meta, root: dict | None) -> list:
    """mergeSliceHandler / mergeSlice."""
    if meta.strategy != "merge":
        # Atomic list: the patch replaces it (its maps still lose directives).
        return [_smp_value(_empty_like(v), v, _Meta(meta.type), root) for v in patch]
    if not original and not patch:
        return original
    is_maps = any(isinstance(v, dict) for v in original + patch)
    if not is_maps:  # a set of scalars: union, deduplicated
        merged: list = []
        for v in original + patch:
            if not any(_json_equal(v, m) for m in merged):
                merged.append(v)
        return _normalize_order(merged, patch, original, None)
    key = meta.key
    if key is None:
        raise PatchError("cannot merge a list of objects without a merge key")

    replace = False
    plain: list = []
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"list item {item!r} is not an object")
        directive = item.get(_DIRECTIVE)
        if directive is None:
            if key not in item:
                raise PatchError(f"list item {item!r} has no merge key {key!r}")
            plain.append(item)
        elif directive == "delete":
            if key not in item:
                raise PatchError(f"$patch: delete item {item!r} has no merge key {key!r}")
            wanted = _item_key(item, key)
            original = [o for o in original if _item_key(o, key) != wanted]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown $patch directive {directive!r} in a list")
    item_meta = _Meta(meta.type)
    if replace:
        original = [_smp_map({}, item, meta.type, root) for item in plain]
        plain = []
    merged = list(original)
    for item in plain:
        wanted = _item_key(item, key)
        for i, existing in enumerate(merged):
            if _item_key(existing, key) == wanted:
                merged[i] = _smp_map(existing, item, item_meta.type, root)
                break
        else:
            merged.append(_smp_map({}, item, item_meta.type, root))
    return _normalize_order(merged, plain, original, key)


def _position(order: list, item: Any, key: str | None) -> int:
    for i, candidate in enumerate(order):
        if key is None:
            if _json_equal(candidate, item):
                return i
        elif _item_key(candidate, key) == _item_key(item, key):
            return i
    return -1


def _normalize_order(merged: list, patch_order: list, server_order: list, key: str | None) -> list:
    """normalizeElementOrder: patch items in patch order, server-only items kept in place."""
    patch_items = [m for m in merged if _position(patch_order, m, key) >= 0]
    server_only = [m for m in merged if _position(patch_order, m, key) < 0]
    patch_items.sort(key=lambda m: _position(patch_order, m, key))
    server_only.sort(
        key=lambda m: (_position(server_order, m, key) < 0, _position(server_order, m, key))
    )
    out: list = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            li = _position(server_order, server_only[i], key)
            ri = _position(server_order, patch_items[j], key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out


def _apply_element_order(current: list, order: list, meta: _Meta) -> list:
    """$setElementOrder: items named by the directive follow it; others keep their place."""
    key = meta.key
    if key is not None and any(not isinstance(o, dict) or key not in o for o in order):
        raise PatchError(f"$setElementOrder items need the merge key {key!r}")
    return _normalize_order(current, order, current, key)


# =======================================================================================
# Field sets and managedFields (server-side apply)
# =======================================================================================
# A path is a tuple of FieldsV1 path elements: "f:<field>", 'k:{"name":"web"}' (item of an
# associative list), 'v:"value"' (member of a set), "i:<n>" (item without its key).
Path = tuple[str, ...]
_ITEM = "."  # marks list items (and empty maps) as owned in their own right

# Fields the field manager never tracks: identity and server-populated metadata.
_UNTRACKED_TOP = {"apiVersion", "kind"}
_UNTRACKED_META = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
}


def _key_element(item: dict, key: str) -> str:
    return "k:" + json.dumps({key: item[key]}, separators=(",", ":"), sort_keys=True)


def _value_element(value: Any) -> str:
    return "v:" + json.dumps(value, separators=(",", ":"), sort_keys=True)


def _leaves(obj: Any, root: dict | None) -> dict[Path, Any]:
    """Map every owned path of ``obj`` to its value (list items and empty maps included)."""
    out: dict[Path, Any] = {}

    def walk(value: Any, path: Path, type_: str | None, top: bool, meta_level: bool) -> None:
        if isinstance(value, dict) and (value or path == ()):
            fields = _fields_of(type_, root)
            for k, v in value.items():
                if (
                    v is None
                    or (top and k in _UNTRACKED_TOP)
                    or (meta_level and k in _UNTRACKED_META)
                ):
                    continue
                meta = fields.get(k, _Meta())
                child = (*path, "f:" + k)
                if meta.strategy == "replace":
                    out[child] = v
                elif isinstance(v, list):
                    walk_list(v, child, meta)
                else:
                    walk(v, child, meta.type, False, top and k == "metadata")
            return
        out[path] = value

    def walk_list(items: list, path: Path, meta: _Meta) -> None:
        if meta.strategy != "merge" or not items:
            out[path] = items
            return
        for i, item in enumerate(items):
            if meta.key is None and not isinstance(item, dict | list):
                out[(*path, _value_element(item))] = item
            elif isinstance(item, dict) and meta.key is not None and item.get(meta.key) is not None:
                element = (*path, _key_element(item, meta.key))
                out[(*element, _ITEM)] = None
                walk({k: v for k, v in item.items()}, element, meta.type, False, False)
            else:
                out[(*path, f"i:{i}")] = item

    walk(obj, (), _ROOT, True, False)
    out.pop((), None)
    return out


def _owned(path: Path) -> Path:
    """The path as stored in a set: the item marker "." stands for its parent element."""
    return path[:-1] if path and path[-1] == _ITEM else path


def _paths_of(leaves: dict[Path, Any]) -> set[Path]:
    return {_owned(p) for p in leaves}


def _to_fields_v1(paths: set[Path]) -> dict:
    tree: dict = {}
    members: set[Path] = set()
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        members.add(path)

    def finish(node: dict, prefix: Path) -> dict:
        out: dict = {}
        if node and prefix in members:
            out[_ITEM] = {}
        for element in sorted(node):
            out[element] = finish(node[element], (*prefix, element))
        return out

    return finish(tree, ())


def _from_fields_v1(fields: Any) -> set[Path]:
    paths: set[Path] = set()

    def walk(node: Any, prefix: Path) -> None:
        if not isinstance(node, dict) or not node:
            if prefix:
                paths.add(prefix)
            return
        for element, child in node.items():
            if element == _ITEM:
                paths.add(prefix)
            else:
                walk(child, (*prefix, element))

    walk(fields, ())
    return paths


def managed_fields_paths(obj: dict, manager: str, operation: str | None = None) -> set[Path]:
    """The paths ``manager`` owns in ``obj`` (optionally only its ``Apply``/``Update`` entry)."""
    paths: set[Path] = set()
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and operation in (None, entry.get("operation")):
            paths |= _from_fields_v1(entry.get("fieldsV1"))
    return paths


def _path_string(path: Path) -> str:
    """fieldpath.Path.String(): .spec.containers[name="web"].image"""
    out = []
    for element in path:
        tag, _, rest = element.partition(":")
        if tag == "f":
            out.append("." + rest)
        elif tag == "k":
            keys = json.loads(rest)
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        elif tag == "v":
            out.append(f"[={rest}]")
        elif tag == "i":
            out.append(f"[{rest}]")
    return "".join(out)


def _describe_manager(entry: dict) -> str:
    """printManager of the API server's conflict error."""
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion', '')}"
        if entry.get("time"):
            text += f" at {entry['time']}"
    return text


def _now(now: str | None) -> str:
    return now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_version(gvk: tuple[str, str, str]) -> str:
    group, version, _kind = gvk
    return f"{group}/{version}" if group else version


def _entries(obj: dict | None) -> list[dict]:
    if not obj:
        return []
    return copy.deepcopy((obj.get("metadata") or {}).get("managedFields") or [])


def _set_entries(obj: dict, entries: list[dict]) -> dict:
    meta = obj.setdefault("metadata", {})
    entries = [e for e in entries if e.get("fieldsV1")]
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    return obj


def _same_entry(entry: dict, manager: str, operation: str) -> bool:
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and not entry.get("subresource")
    )


def _store_entry(
    entries: list[dict], manager: str, operation: str, api_version: str, paths: set[Path], now: str
) -> None:
    fields = _to_fields_v1(paths)
    for entry in entries:
        if _same_entry(entry, manager, operation):
            entry.update(apiVersion=api_version, time=now, fieldsType="FieldsV1", fieldsV1=fields)
            return
    entries.append(
        {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
    )


def _drop_paths(entry: dict, doomed: set[Path]) -> None:
    paths = _from_fields_v1(entry.get("fieldsV1"))
    kept = {p for p in paths if not any(p[: len(d)] == d for d in doomed)}
    if kept != paths:
        entry["fieldsV1"] = _to_fields_v1(kept) if kept else {}


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


# --- merging applied configuration into the live object --------------------------------
def _ssa_merge(live: Any, applied: Any, meta: _Meta, root: dict | None, type_: str | None) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict) and meta.strategy != "replace":
        fields = _fields_of(type_, root)
        out = dict(live)
        for k, v in applied.items():
            child = fields.get(k, _Meta())
            out[k] = (
                _ssa_merge(live[k], v, child, root, child.type) if k in live else copy.deepcopy(v)
            )
        return out
    if isinstance(live, list) and isinstance(applied, list) and meta.strategy == "merge":
        return _ssa_merge_list(live, applied, meta, root)
    return copy.deepcopy(applied)


def _ssa_merge_list(live: list, applied: list, meta: _Meta, root: dict | None) -> list:
    """Merge an associative list (or set) the way structured-merge-diff orders it.

    Items only in the live list keep their place, shared items follow the applied order,
    new items come where the applied list has them (mergingWalker.visitListItems).
    """

    def ident(item: Any) -> str:
        if meta.key is not None and isinstance(item, dict):
            return "k" + (_item_key(item, meta.key) or "")
        return "v" + json.dumps(item, sort_keys=True)

    lhs = [ident(x) for x in live]
    rhs = [ident(x) for x in applied]
    live_by = dict(zip(lhs, live, strict=True))
    applied_by = dict(zip(rhs, applied, strict=True))
    shared = [k for k in rhs if k in live_by]
    out: list = []
    done: set[str] = set()

    def take(key: str) -> None:
        done.add(key)
        if key in live_by and isinstance(live_by[key], dict):
            out.append(_ssa_merge(live_by[key], applied_by[key], _Meta(meta.type), root, meta.type))
        else:
            out.append(copy.deepcopy(applied_by[key]))
        if shared and shared[0] == key:
            shared.pop(0)

    i = j = 0
    while i < len(lhs) or j < len(rhs):
        if i < len(lhs) and j < len(rhs):
            if lhs[i] == rhs[j]:
                take(rhs[j])
                i += 1
                j += 1
                continue
            if lhs[i] in applied_by and shared and shared[0] != lhs[i]:
                i += 1  # a shared item, but not the next one in applied order
                continue
        if i < len(lhs):
            if lhs[i] not in applied_by:
                out.append(live[i])
                i += 1
                continue
            if lhs[i] in done:
                i += 1
                continue
        if j < len(rhs):
            if rhs[j] not in done:
                take(rhs[j])
            j += 1
    return out


def _remove_path(obj: Any, path: Path) -> None:
    """Delete the field or list item at ``path`` from ``obj`` in place, if present."""
    node = obj
    for i, element in enumerate(path):
        last = i == len(path) - 1
        tag, _, rest = element.partition(":")
        if tag == "f":
            if not isinstance(node, dict) or rest not in node:
                return
            if last:
                del node[rest]
                return
            node = node[rest]
            continue
        if not isinstance(node, list):
            return
        index = _find_element(node, tag, rest)
        if index is None:
            return
        if last:
            del node[index]
            return
        node = node[index]


def _find_element(items: list, tag: str, rest: str) -> int | None:
    if tag == "k":
        keys = json.loads(rest)
        for i, item in enumerate(items):
            if isinstance(item, dict) and all(_json_equal(item.get(k), v) for k, v in keys.items()):
                return i
    elif tag == "v":
        value = json.loads(rest)
        for i, item in enumerate(items):
            if _json_equal(item, value):
                return i
    elif tag == "i" and rest.isdigit() and int(rest) < len(items):
        return int(rest)
    return None


def apply_server_side(
    live: dict | None,
    applied: dict,
    manager: str,
    force: bool,
    gvk: tuple[str, str, str],
    *,
    now: str | None = None,
) -> dict:
    """Server-side apply ``applied`` (the request body) as ``manager`` onto ``live``.

    Returns the new object with ``metadata.managedFields`` updated; ``live`` None creates
    it.  Raises ``ApplyConflict`` when, without ``force``, the apply would change a value
    another manager owns; with ``force`` the fields change hands.  ``now`` (RFC 3339)
    stamps the managedFields entry, the current time by default.
    """
    if not isinstance(applied, dict):
        raise PatchError("an apply configuration must be an object")
    if not manager:
        raise PatchError("fieldManager is required for apply requests")
    root = _root_fields(gvk)
    applied = _strip_nulls(copy.deepcopy(applied))
    applied.get("metadata", {}).pop("managedFields", None)
    api_version = _api_version(gvk)
    stamp = _now(now)
    applied_leaves = _leaves(applied, root)
    applied_paths = _paths_of(applied_leaves)

    if live is None:
        result = copy.deepcopy(applied)
        entries: list[dict] = []
        _store_entry(entries, manager, "Apply", api_version, applied_paths, stamp)
        return _set_entries(result, entries)

    entries = _entries(live)
    live_leaves = _leaves(live, root)
    live_values = {_owned(p): v for p, v in live_leaves.items()}

    conflicts: list[tuple[dict, Path]] = []
    taken: dict[int, set[Path]] = {}
    for index, entry in enumerate(entries):
        if _same_entry(entry, manager, "Apply"):
            continue
        owned = _from_fields_v1(entry.get("fieldsV1"))
        for path, value in applied_leaves.items():
            if path[-1:] == (_ITEM,) or path not in owned:
                continue
            if path in live_values and _json_equal(live_values[path], value):
                continue  # same value: shared ownership
            conflicts.append((entry, path))
            taken.setdefault(index, set()).add(path)
    if conflicts and not force:
        conflicts.sort(key=lambda c: (_describe_manager(c[0]), c[1]))
        raise _conflict_error(conflicts)
    for index, paths in taken.items():
        _drop_paths(entries[index], paths)

    previous = managed_fields_paths(live, manager, "Apply")
    result = _ssa_merge(copy.deepcopy(live), applied, _Meta(), root, _ROOT)
    others: set[Path] = set()
    for entry in entries:
        if not _same_entry(entry, manager, "Apply"):
            others |= _from_fields_v1(entry.get("fieldsV1"))
    for path in sorted(previous - applied_paths, key=len):
        if any(p[: len(path)] == path for p in others):
            continue  # someone else still owns it (or something under it)
        if any(p[: len(path)] == path for p in applied_paths):
            continue  # still applied underneath (e.g. a map now applied key by key)
        _remove_path(result, path)
    _store_entry(entries, manager, "Apply", api_version, applied_paths, stamp)
    return _set_entries(result, entries)


def _conflict_error(conflicts: list[tuple[dict, Path]]) -> ApplyConflict:
    """The API server's message: getConflictMessage in fieldmanager/internal/conflict.go."""
    lines = [f"conflict with {_describe_manager(e)}: {_path_string(p)}" for e, p in conflicts]
    if len(conflicts) == 1:
        return ApplyConflict(lines, f"Apply failed with 1 conflict: {lines[0]}")
    by_manager: dict[str, list[str]] = {}
    for entry, path in conflicts:
        by_manager.setdefault(_describe_manager(entry), []).append(_path_string(path))
    parts = []
    for who in sorted(by_manager):
        parts.append(f"conflicts with {who}:")
        parts.extend(f"- {p}" for p in by_manager[who])
    message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(parts)
    return ApplyConflict(lines, message)


def record_update(
    live_before: dict | None,
    live_after: dict,
    manager: str,
    operation: str = "Update",
    *,
    now: str | None = None,
) -> dict:
    """Track ownership for a non-apply write (create, update, any non-apply patch).

    ``manager`` takes the fields whose values the write added or changed (other managers
    lose them); fields the write removed leave every manager.  Returns a copy of
    ``live_after`` with ``metadata.managedFields`` updated: those ``live_after`` carries
    when the client sent any, else those of ``live_before``.
    """
    gvk = _gvk_of(live_after)
    root = _root_fields(gvk)
    before = _leaves(live_before, root) if live_before else {}
    after = _leaves(live_after, root)
    before_values = {_owned(p): v for p, v in before.items()}
    after_values = {_owned(p): v for p, v in after.items()}
    changed = {
        p
        for p, v in after_values.items()
        if p not in before_values or not _json_equal(before_values[p], v)
    }
    removed = set(before_values) - set(after_values)

    # As the API server does: managedFields sent with the write (say by kubectl's
    # client-side-apply migration) are the base; without them the live object's are kept.
    entries = _entries(live_after) or _entries(live_before)
    result = copy.deepcopy(live_after)
    mine = set()
    for entry in entries:
        if _same_entry(entry, manager, operation):
            mine = _from_fields_v1(entry.get("fieldsV1"))
    for entry in entries:
        if not _same_entry(entry, manager, operation):
            _drop_paths(entry, changed | removed)
    kept = {p for p in mine if not any(p[: len(r)] == r for r in removed)}
    if changed or kept != mine:
        _store_entry(entries, manager, operation, _api_version(gvk), kept | changed, _now(now))
    return _set_entries(result, entries)
