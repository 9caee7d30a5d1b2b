"""HTTP handlers: routing of Kubernetes REST paths to the store, patches, watch, logs and exec.

Request bodies may be JSON, YAML or Kubernetes protobuf (typed clients such as helm's
release storage send protobuf and never fall back); replies are always JSON, which
clients accept because their Accept headers list JSON as an alternative.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from . import discovery, errors, openapi, watch
from .resources import REGISTRY, ResourceType
from .selectors import make_predicate
from .store import PROPAGATION_POLICIES
from .tables import as_table

if TYPE_CHECKING:
    from .sim import Simulator

Obj = dict[str, Any]
log = logging.getLogger(__name__)
TRACE = bool(os.environ.get("KUBESIM_TRACE"))  # print every request to stderr
MAX_BODY = 16 * 1024 * 1024
JSON_TYPES = ("application/json", "application/merge-patch+json", "application/json-patch+json",
              "application/strategic-merge-patch+json")


JOB_ORPHAN_WARNING = ("child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
                      "to remove them or set propagationPolicy=Orphan to suppress this warning")


def default_propagation(rt: ResourceType) -> str:
    """The API server's default when a DELETE names no policy: batch/v1 Jobs orphan their pods."""
    return "Orphan" if (rt.group, rt.version, rt.kind) == ("batch", "v1", "Job") else "Background"


@dataclass
class DeleteRequest:
    """Parsed DeleteOptions."""

    propagation: str
    grace_period: int | None
    dry_run: bool
    precondition_uid: str | None
    precondition_rv: str | None
    warnings: list[str]
    accepted: bool  # orphanDependents=false: 202 while the object is still being deleted


@dataclass
class Target:
    """A parsed resource path: ``/api[s]/.../[namespaces/NS/]PLURAL[/NAME[/SUB]]``."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def error_response(exc: errors.ApiError) -> web.Response:
    return json_response(exc.status(), exc.code)


def parse_target(path: str) -> Target | None:
    """Map a REST path onto a resource, or None when it is not a resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    rt = REGISTRY.by_gvr(group, version, rest[0])
    if rt is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    if rt.namespaced is False and namespace is not None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and rt.subresource(sub) is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
    return Target(rt, namespace, name, sub)


def decode_body(content_type: str, body: bytes) -> Any:
    """Decode a request body by its media type; protobuf goes through :mod:`protobuf`."""
    media = content_type.split(";")[0].strip().lower()
    if not body:
        return None
    if media == "application/vnd.kubernetes.protobuf":
        from . import protobuf

        try:
            return protobuf.decode_body(content_type, body)
        except protobuf.UnsupportedKind as exc:
            raise errors.unsupported_media_type(f"{content_type} ({exc})") from None
    if media in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from None
    if media in JSON_TYPES or media == "" or media.endswith("+json"):
        try:
            return json.loads(body)
        except ValueError as exc:
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None
    raise errors.unsupported_media_type(content_type)


def is_dry_run(request: web.Request, options: Obj | None = None) -> bool:
    values = request.query.getall("dryRun", [])
    if options and options.get("dryRun"):
        values = list(values) + list(options["dryRun"])
    for value in values:
        if value != "All":
            raise errors.bad_request(f"dryRun: Unsupported value: {value!r}: supported values: \"All\"")
    return bool(values)


def field_manager(request: web.Request, default_apply: bool = False) -> str:
    manager = request.query.get("fieldManager")
    if manager:
        return manager
    if default_apply:
        raise errors.bad_request("PATCH requests with apply content type require a fieldManager")
    agent = request.headers.get("User-Agent", "unknown")
    return agent.split("/")[0] or "unknown"


class ApiHandlers:
    """The REST verbs over a :class:`~tests.kubesim.sim.Simulator`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.store = sim.store

    # -- dispatch ----------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if TRACE:
            print(f"kubesim: {request.method} {request.path_qs} "
                  f"[{request.headers.get('Content-Type', '')}] accept={request.headers.get('Accept', '')}",
                  file=sys.stderr, flush=True)
        try:
            return await self._dispatch(request)
        except errors.ApiError as exc:
            return error_response(exc)
        except (ConnectionResetError, web.HTTPException):
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the client like an apiserver panic
            log.exception("kubesim: %s %s failed", request.method, request.path_qs)
            return error_response(errors.ApiError(500, "InternalError",
                                                  f"Internal error occurred: {type(exc).__name__}: {exc}"))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        method = request.method
        if path.startswith("/kubesim/"):
            return await self.sim.admin.handle(request)
        static = self._static(path, request)
        if static is not None:
            if method != "GET":
                raise errors.method_not_allowed()
            return static
        target = parse_target(path)
        if target is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        rt, sub = target.rt, target.subresource
        if sub == "log" and method == "GET":
            return await self.sim.logs.handle(request, target.namespace or "", target.name or "")
        if sub in ("exec", "attach"):
            return await self.sim.exec.handle(request, target.namespace or "", target.name or "")
        if sub == "eviction" and method == "POST":
            eviction = await self._body(request) or {}
            grace = ((eviction.get("deleteOptions") or {}) if isinstance(eviction, dict) else {}).get(
                "gracePeriodSeconds")
            self.store.delete(rt, target.namespace, target.name or "",
                              grace_period=int(grace) if grace is not None else None)
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Success", "code": 201}, 201)
        if target.name is None:
            if method == "GET":
                return await self._list_or_watch(request, target)
            if method == "POST":
                return await self._create(request, target)
            if method == "DELETE":
                return await self._delete_collection(request, target)
            raise errors.method_not_allowed()
        if sub == "scale":
            return await self._scale(request, target)
        if method == "GET":
            obj = self.store.must_get(rt, target.namespace, target.name)
            if sub is None and "as=Table" in request.headers.get("Accept", ""):
                return json_response(as_table(rt, [obj], obj["metadata"]["resourceVersion"],
                                              request.query.get("includeObject", "Metadata")))
            return json_response(obj)
        if method == "PUT":
            return await self._replace(request, target)
        if method == "PATCH":
            return await self._patch(request, target)
        if method == "DELETE" and sub is None:
            return await self._delete(request, target)
        raise errors.method_not_allowed()

    def _static(self, path: str, request: web.Request) -> web.StreamResponse | None:
        if path == "/version":
            return json_response(discovery.KUBE_VERSION)
        if path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        if path == "/api":
            return json_response(discovery.api_versions(request.host))
        if path == "/apis":
            return json_response(discovery.api_group_list())
        if path == "/openapi/v3":
            return json_response(openapi.v3_index())
        if path == "/openapi/v2":
            return web.Response(body=openapi.v2_document(), content_type="application/json")
        if path.startswith("/openapi/v3/"):
            rest = path[len("/openapi/v3/"):].split("/")
            group, version = ("", rest[1]) if rest[0] == "api" and len(rest) == 2 else (
                (rest[1], rest[2]) if rest[0] == "apis" and len(rest) == 3 else ("", ""))
            doc = openapi.v3_document(group, version) if version else None
            if doc is None:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            return web.Response(body=doc, content_type="application/json",
                                headers={"Cache-Control": "public, immutable"})
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "api":
            found = discovery.resource_list("", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            versions = dict(REGISTRY.groups()).get(parts[1])
            if not versions:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(discovery.api_group(parts[1], versions))
        elif len(parts) == 3 and parts[0] == "apis":
            found = discovery.resource_list(parts[1], parts[2])
        else:
            return None
        if found is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        return json_response(found)

    # -- reading -----------------------------------------------------------------------
    async def _list_or_watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        q = request.query
        predicate = make_predicate(q.get("labelSelector"), q.get("fieldSelector"))
        namespace = target.namespace if target.rt.namespaced else None
        if q.get("watch") in ("1", "true"):
            timeout = self.sim.watch_duration(watch.requested_timeout(q))
            return await watch.serve_watch(request, self.store, target.rt, namespace, predicate,
                                           self.sim.stopping, timeout)
        items = self.store.list(target.rt, namespace, predicate)
        if "as=Table" in request.headers.get("Accept", ""):
            return json_response(as_table(target.rt, items, str(self.store.rv),
                                          q.get("includeObject", "Metadata")))
        return json_response({
            "kind": target.rt.kind + "List",
            "apiVersion": target.rt.api_version,
            "metadata": {"resourceVersion": str(self.store.rv)},
            "items": items,
        })

    # -- writing -----------------------------------------------------------------------
    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        return decode_body(request.headers.get("Content-Type", "application/json"), raw)

    def _check_identity(self, target: Target, obj: Any) -> Obj:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request is not an object")
        meta = obj.setdefault("metadata", {})
        if target.rt.namespaced:
            ns = meta.get("namespace")
            if ns and target.namespace and ns != target.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = target.namespace or ns or ""
        if target.name and meta.get("name") and meta["name"] != target.name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        if target.name:
            meta["name"] = target.name
        kind = obj.get("kind")
        if kind and kind != target.rt.kind and target.subresource is None:
            raise errors.bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version ({target.rt.api_version}) or kind {kind} != {target.rt.kind}")
        return obj

    async def _create(self, request: web.Request, target: Target) -> web.Response:
        obj = self._check_identity(target, await self._body(request))
        dry = is_dry_run(request)
        manager = field_manager(request)
        created = self.sim.create(target.rt, obj, dry_run=dry, manager=manager)
        return json_response(created, 201)

    async def _replace(self, request: web.Request, target: Target) -> web.Response:
        obj = self._check_identity(target, await self._body(request))
        dry = is_dry_run(request)
        updated = self.sim.replace(target.rt, obj, dry_run=dry, subresource=target.subresource or "",
                                   manager=field_manager(request))
        return json_response(updated)

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        content_type = request.headers.get("Content-Type", "")
        media = content_type.split(";")[0].strip()
        if media == "application/apply-patch+cbor":
            raise errors.unsupported_media_type(content_type)
        body = await self._body(request)
        dry = is_dry_run(request)
        force = request.query.get("force") in ("true", "1")
        manager = field_manager(request, default_apply=media.startswith("application/apply-patch"))
        result, created = self.sim.patch(
            target.rt, target.namespace, target.name or "", media, body,
            dry_run=dry, force=force, manager=manager, subresource=target.subresource or "",
        )
        return json_response(result, 201 if created else 200)

    async def _delete_options(self, request: web.Request, target: Target) -> DeleteRequest:
        """DeleteOptions from the query and the body (JSON, YAML or protobuf), validated."""
        options = await self._body(request) or {}
        if not isinstance(options, dict):
            raise errors.bad_request("the body of the request is not a DeleteOptions object")
        q = request.query
        propagation = q.get("propagationPolicy") or options.get("propagationPolicy")
        orphan: bool | None = options.get("orphanDependents")
        if "orphanDependents" in q:
            orphan = q["orphanDependents"] in ("true", "1")
        if propagation is not None and propagation not in PROPAGATION_POLICIES:
            raise errors.ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                                  f'Unsupported value: "{propagation}": supported values: "Foreground", '
                                  '"Background", "Orphan"')
        if propagation is not None and orphan is not None:
            raise errors.ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                                  f'Invalid value: "{propagation}": orphanDependents and deletionPropagation '
                                  "cannot be both set")
        warnings: list[str] = []
        if orphan is not None:
            propagation = "Orphan" if orphan else "Background"
        elif propagation is None:
            propagation = default_propagation(target.rt)
            if propagation == "Orphan":
                warnings.append(JOB_ORPHAN_WARNING)
        grace = q.get("gracePeriodSeconds")
        if grace is None:
            grace = options.get("gracePeriodSeconds")
        try:
            grace_period = int(grace) if grace is not None else None
        except ValueError:
            raise errors.bad_request(f"invalid gracePeriodSeconds: {grace!r}") from None
        if grace_period is not None and grace_period < 0:
            grace_period = 1  # what the API server makes of a negative grace period
        pre = options.get("preconditions") or {}
        return DeleteRequest(propagation=propagation, grace_period=grace_period,
                             dry_run=is_dry_run(request, options), precondition_uid=pre.get("uid"),
                             precondition_rv=pre.get("resourceVersion"), warnings=warnings,
                             accepted=orphan is False)

    async def _delete(self, request: web.Request, target: Target) -> web.Response:
        opts = await self._delete_options(request, target)
        gone = self.store.delete(
            target.rt, target.namespace, target.name or "", propagation=opts.propagation,
            dry_run=opts.dry_run, precondition_uid=opts.precondition_uid,
            precondition_rv=opts.precondition_rv, grace_period=opts.grace_period,
        )
        pending = bool(gone["metadata"].get("deletionTimestamp")) and not opts.dry_run
        reply = json_response(gone, 202 if pending and opts.accepted else 200)
        for warning in opts.warnings:
            reply.headers.add("Warning", f'299 - "{warning}"')
        return reply

    async def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        opts = await self._delete_options(request, target)
        q = request.query
        predicate = make_predicate(q.get("labelSelector"), q.get("fieldSelector"))
        namespace = target.namespace if target.rt.namespaced else None
        items = self.store.list(target.rt, namespace, predicate)
        for obj in items:
            meta = obj["metadata"]
            if self.store.get(target.rt, meta.get("namespace"), meta["name"]) is not None:
                self.store.delete(target.rt, meta.get("namespace"), meta["name"],
                                  propagation=opts.propagation, dry_run=opts.dry_run,
                                  grace_period=opts.grace_period)
        reply = json_response({"kind": target.rt.kind + "List", "apiVersion": target.rt.api_version,
                               "metadata": {"resourceVersion": str(self.store.rv)}, "items": items})
        for warning in opts.warnings:
            reply.headers.add("Warning", f'299 - "{warning}"')
        return reply

    async def _scale(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        live = self.store.must_get(rt, target.namespace, target.name or "")
        if request.method == "GET":
            return json_response(scale_of(live))
        if request.method == "PUT":
            body = self._check_identity(Target(rt, target.namespace, target.name, "scale"),
                                        await self._body(request))
            replicas = (body.get("spec") or {}).get("replicas", 0)
        elif request.method == "PATCH":
            media = request.headers.get("Content-Type", "").split(";")[0].strip()
            patched = self.sim.apply_patch_body(scale_of(live), media, await self._body(request),
                                                ("autoscaling", "v1", "Scale"))
            replicas = (patched.get("spec") or {}).get("replicas", 0)
        else:
            raise errors.method_not_allowed()
        live["spec"]["replicas"] = replicas
        updated = self.store.update(rt, live, check_rv=False, dry_run=is_dry_run(request),
                                    manager=field_manager(request))
        return json_response(scale_of(updated))


def scale_of(obj: Obj) -> Obj:
    """The ``autoscaling/v1`` Scale view of a workload."""
    meta = obj["metadata"]
    selector = obj.get("spec", {}).get("selector") or {}
    labels = selector.get("matchLabels", selector if obj.get("kind") == "ReplicationController" else {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta},
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        },
    }


def build_app(sim: Simulator) -> web.Application:
    handlers = ApiHandlers(sim)
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_route("*", "/{tail:.*}", handlers.handle)
    return app

