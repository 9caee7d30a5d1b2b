"""kubectl's object verbs for the release flow's own objects (its Lease, helm's
release Secrets), as API requests through the command's ``kubectl proxy``.

A deploy ends with three small writes on the way out (read helm's record,
record the verdict in it, delete the lock's Lease); as kubectl processes they
cost a process start each, one after the other, on a machine that is busy
with the green light's reads.  Through the proxy the green light already runs
(:class:`lain_cli.kubeproxy.SharedProxy`) each is one request of a few ms.

The answers mean what kubectl's would: each refusal is read by
:func:`lain_cli.kube.classify_failure` from the same "Error from server
(Reason): message" kubectl prints (NotFound, AlreadyExists, Conflict, ...).  A request that
could not go out (the proxy is gone), or of a kind lain leaves to kubectl, is
:class:`~lain_cli.sharedproxy.NotProxied`: the caller runs kubectl instead.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Protocol

from lain_cli import proc
from lain_cli.errors import ClusterError
from lain_cli.kube import NotFound, classify_failure
from lain_cli.kubeproxy import NotSent
from lain_cli.sharedproxy import NotProxied

# kubectl's names of a kind -> (API group/version path, resource); only the kinds lain
# writes itself.  Anything else goes through kubectl.
_KINDS: dict[str, tuple[str, str]] = {
    "lease": ("/apis/coordination.k8s.io/v1", "leases"),
    "leases": ("/apis/coordination.k8s.io/v1", "leases"),
    "lease.coordination.k8s.io": ("/apis/coordination.k8s.io/v1", "leases"),
    "secret": ("/api/v1", "secrets"),
    "secrets": ("/api/v1", "secrets"),
}
# an object's (apiVersion, kind) -> kubectl's name of its kind
_OBJECT_KINDS: dict[tuple[str, str], str] = {
    ("coordination.k8s.io/v1", "Lease"): "lease",
    ("v1", "Secret"): "secret",
}
FIELD_MANAGER = "lain"


class Requester(Protocol):
    """What the requests need of the proxy (:class:`lain_cli.kubeproxy.KubectlProxy`)."""

    def request(self, method: str, path: str, body: bytes | None = None, *,
                timeout: float | None = None) -> tuple[int, bytes]: ...


def kind_path(kind: str, namespace: str) -> str | None:
    """The collection's path of ``kind`` in ``namespace``; None for a kind lain leaves to kubectl."""
    known = _KINDS.get(kind.lower())
    if known is None:
        return None
    prefix, resource = known
    return f"{prefix}/namespaces/{urllib.parse.quote(namespace, safe='')}/{resource}"


def object_path(kind: str, namespace: str, name: str) -> str | None:
    collection = kind_path(kind, namespace)
    return None if collection is None else f"{collection}/{urllib.parse.quote(name, safe='')}"


def object_kind(obj: Mapping[str, Any]) -> str | None:
    """kubectl's name of ``obj``'s kind, if lain sends objects of that kind itself."""
    return _OBJECT_KINDS.get((str(obj.get("apiVersion", "")), str(obj.get("kind", ""))))


class ProxiedObjects:
    """The verbs of :class:`lain_cli.executors.Kubectl` for lain's own kinds, through
    ``api``; :class:`~lain_cli.sharedproxy.NotProxied` for anything they leave to kubectl."""

    def __init__(self, api: Requester, cluster_name: str, namespace: str, timeout: float) -> None:
        self.api = api
        self.cluster_name = cluster_name
        self.namespace = namespace
        self.timeout = timeout

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """The object; None when it does not exist."""
        try:
            return self._send("GET", self._object_path(kind, self.namespace, name), None, f"get {kind}/{name}")
        except NotFound:
            return None

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``obj`` to its collection; AlreadyExists if it is there already."""
        kind = self._kind(obj)
        path = kind_path(kind, _namespace(obj, self.namespace))
        assert path is not None
        return self._send("POST", f"{path}?fieldManager={FIELD_MANAGER}", obj, f"create {kind}/{_name(obj)}")

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT ``obj`` with its resourceVersion: Conflict if it changed, NotFound if it is gone."""
        kind = self._kind(obj)
        path = self._object_path(kind, _namespace(obj, self.namespace), _name(obj))
        return self._send("PUT", f"{path}?fieldManager={FIELD_MANAGER}", obj, f"replace {kind}/{_name(obj)}")

    def delete(self, kind: str, name: str) -> None:
        """DELETE the object; nothing happens when it is already gone."""
        try:
            self._send("DELETE", self._object_path(kind, self.namespace, name), None, f"delete {kind}/{name}")
        except NotFound:
            return

    @staticmethod
    def _kind(obj: Mapping[str, Any]) -> str:
        kind = object_kind(obj)
        if kind is None:
            raise NotProxied(f"{obj.get('kind')} objects go through kubectl")
        return kind

    @staticmethod
    def _object_path(kind: str, namespace: str, name: str) -> str:
        path = object_path(kind, namespace, name)
        if path is None:
            raise NotProxied(f"{kind} objects go through kubectl")
        return path

    def _send(self, method: str, path: str, obj: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
        return _send(self.api, method, path, obj, cluster_name=self.cluster_name, what=what, timeout=self.timeout)


def _namespace(obj: Mapping[str, Any], default: str) -> str:
    # kubectl sends an object to its own namespace, else to --namespace
    return str(obj.get("metadata", {}).get("namespace") or default)


def _name(obj: Mapping[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _send(api: Requester, method: str, path: str, obj: Mapping[str, Any] | None, *, cluster_name: str, what: str,
          timeout: float) -> dict[str, Any]:
    body = None if obj is None else json.dumps(obj).encode()
    started = time.monotonic()
    try:
        status, answer = api.request(method, path, body, timeout=timeout)
    except NotSent as exc:
        raise NotProxied(str(exc)) from exc
    except OSError as exc:  # sent, but no answer in time: as kubectl's --request-timeout
        raise ClusterError(f"{what}: cluster {cluster_name} did not answer in time", details=[str(exc)],
                           hint="check the network / VPN to the cluster, then retry") from exc
    finally:
        proc.echo_request(method, path, time.monotonic() - started)
    doc = _json(answer)
    if 200 <= status < 300:
        if doc is None:
            raise ClusterError(f"{what}: the API server answered something that is not a JSON object")
        return doc
    raise _failure(status, doc, answer, cluster_name=cluster_name, what=what)


def _json(answer: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(answer)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _failure(status: int, doc: dict[str, Any] | None, answer: bytes, *, cluster_name: str,
             what: str) -> ClusterError:
    """The error kubectl gives for the same answer: its "Error from server (Reason):
    message" line, read by the same classifier (NotFound, AlreadyExists, Conflict, ...)."""
    if doc is not None and doc.get("kind") == "Status" and doc.get("reason"):
        return classify_failure(f"Error from server ({doc['reason']}): {doc.get('message') or ''}", cluster_name,
                                what=what)
    # not the API server's answer: the proxy's own (it could not reach the cluster)
    text = answer.decode("utf-8", errors="replace").strip()[:300] or f"HTTP {status}"
    return classify_failure(f"error: {text}", cluster_name, what=what)
