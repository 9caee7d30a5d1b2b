"""Minimal but valid OpenAPI v3 (and v2) documents.

What clients read from them: kubectl and helm detect server-side field validation
(``fieldValidation``) and ``dryRun`` support from the PATCH operation of each kind's path,
matched through ``x-kubernetes-group-version-kind``.  The PATCH request bodies list no
strategic-merge content type, so kubectl's client-side apply computes strategic merge
patches from its compiled-in types (exact merge keys) instead of from these schemas.
Schemas are open objects (``x-kubernetes-preserve-unknown-fields``) so nothing is rejected.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from .discovery import KUBE_VERSION
from .resources import REGISTRY, ResourceType

_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")


def _schema_name(rt: ResourceType) -> str:
    short = rt.group.split(".")[0] if rt.group else "core"
    return f"io.k8s.api.{short}.{rt.version}.{rt.kind}"


def _gvk(rt: ResourceType) -> dict[str, str]:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _query(name: str, v3: bool) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "description": name, "uniqueItems": True}
    if v3:
        param["schema"] = {"type": "string", "uniqueItems": True}
    else:
        param["type"] = "string"
    return param


def _path_param(name: str, v3: bool) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "path", "required": True, "description": name}
    if v3:
        param["schema"] = {"type": "string", "uniqueItems": True}
    else:
        param["type"] = "string"
    return param


def _ref(name: str, v3: bool) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}" if v3 else f"#/definitions/{name}"}


def _body(schema: dict[str, Any], types: tuple[str, ...], v3: bool) -> dict[str, Any]:
    if v3:
        return {"requestBody": {"content": {t: {"schema": schema} for t in types}, "required": True}}
    return {"parameters": [{"name": "body", "in": "body", "required": True, "schema": schema}],
            "consumes": list(types)}


def _response(schema: dict[str, Any], v3: bool) -> dict[str, Any]:
    if v3:
        return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    return {"200": {"description": "OK", "schema": schema}}


def _op(rt: ResourceType, op_id: str, schema: dict[str, Any], v3: bool,
        body_types: tuple[str, ...] | None, params: tuple[str, ...]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "responses": _response(schema, v3),
        "x-kubernetes-action": op_id.split("_")[0],
        "x-kubernetes-group-version-kind": _gvk(rt),
        "parameters": [_query(p, v3) for p in params],
    }
    if body_types:
        extra = _body(schema, body_types, v3)
        if "parameters" in extra:
            op["parameters"] = op["parameters"] + extra.pop("parameters")
        op.update(extra)
    return op


def _paths(rt: ResourceType, prefix: str, v3: bool) -> dict[str, Any]:
    ref = _ref(_schema_name(rt), v3)
    base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
    ns_params = [_path_param("namespace", v3)] if rt.namespaced else []
    json_types = ("application/json", "application/yaml")
    collection = {
        "parameters": ns_params + [_query("pretty", v3)],
        "get": _op(rt, f"list_{rt.kind}", ref, v3, None, ("labelSelector", "fieldSelector", "watch")),
        "post": _op(rt, f"create_{rt.kind}", ref, v3, json_types, _WRITE_PARAMS),
        "delete": _op(rt, f"deletecollection_{rt.kind}", ref, v3, None, ("dryRun",)),
    }
    item_params = ns_params + [_path_param("name", v3), _query("pretty", v3)]
    item = {
        "parameters": item_params,
        "get": _op(rt, f"read_{rt.kind}", ref, v3, None, ()),
        "put": _op(rt, f"replace_{rt.kind}", ref, v3, json_types, _WRITE_PARAMS),
        "patch": _op(rt, f"patch_{rt.kind}", ref, v3, _PATCH_TYPES, (*_WRITE_PARAMS, "force")),
        "delete": _op(rt, f"delete_{rt.kind}", ref, v3, None, ("dryRun", "propagationPolicy")),
    }
    out = {base: collection, f"{base}/{{name}}": item}
    for sub in rt.subresources:
        if sub.name in ("status", "scale"):
            out[f"{base}/{{name}}/{sub.name}"] = {
                "parameters": item_params,
                "get": _op(rt, f"read_{rt.kind}_{sub.name}", ref, v3, None, ()),
                "put": _op(rt, f"replace_{rt.kind}_{sub.name}", ref, v3, json_types, _WRITE_PARAMS),
            }
    return out


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
            "type": "object",
            "description": "ObjectMeta is metadata that all persisted resources must have.",
            "x-kubernetes-preserve-unknown-fields": True,
        },
    }
    for rt in REGISTRY.resources:
        schemas[_schema_name(rt)] = {
            "type": "object",
            "description": f"{rt.kind} ({rt.api_version}), served by kubesim.",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-group-version-kind": [_gvk(rt)],
        }
    return schemas


def _prefix(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


@cache
def v3_document(group: str, version: str) -> bytes | None:
    """The OpenAPI v3 document of one group version, serialized (it never changes)."""
    types = REGISTRY.in_group_version(group, version)
    if not types:
        return None
    paths: dict[str, Any] = {}
    for rt in types:
        paths.update(_paths(rt, _prefix(group, version), True))
    names = {_schema_name(rt) for rt in types} | {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {k: v for k, v in _schemas().items() if k in names}},
    }
    return json.dumps(doc).encode()


def v3_index() -> dict[str, Any]:
    """``/openapi/v3``: one entry per group version, with a content hash like the real server."""
    paths: dict[str, Any] = {}
    for group, versions in REGISTRY.groups():
        for version in versions:
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            digest = hashlib.sha512(v3_document(group, version) or b"").hexdigest()[:64].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


@cache
def v2_document() -> bytes:
    """``/openapi/v2`` (swagger 2.0, JSON) for clients that still ask for it."""
    paths: dict[str, Any] = {}
    for rt in REGISTRY.resources:
        paths.update(_paths(rt, _prefix(rt.group, rt.version), False))
    doc = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
        "paths": paths,
        "definitions": _schemas(),
    }
    return json.dumps(doc).encode()
