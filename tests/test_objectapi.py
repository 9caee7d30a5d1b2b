"""lain's own objects through the command's kubectl proxy: the requests sent (a real
HTTP server on a Unix socket stands in for ``kubectl proxy``), the answers read as
kubectl's would be, and kubectl run instead when the proxy cannot be reached."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from lain_cli import kube, objectapi, proc
from lain_cli.clusters import Cluster
from lain_cli.errors import ClusterError
from lain_cli.executors import Kubectl
from lain_cli.kubeproxy import KubectlProxy
from lain_cli.sharedproxy import NotProxied

CLUSTER = Cluster(name="test", namespace="ns")
LEASE = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
         "metadata": {"name": "lain-lock-app", "resourceVersion": "7"}, "spec": {"holderIdentity": "me"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
          "metadata": {"name": "sh.helm.release.v1.app.v3", "resourceVersion": "9"},
          "data": {"release": "c2VjcmV0LXJlbGVhc2UtYmxvYg=="}}


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message}


class FakeApi:
    """What the API server answers, by (method, path without query); what it was sent."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], tuple[int, bytes, str]] = {}
        self.requests: list[tuple[str, str, bytes, str]] = []

    def answer(self, method: str, path: str, code: int, doc: dict[str, Any] | str) -> None:
        if isinstance(doc, str):
            self.answers[(method, path)] = (code, doc.encode(), "text/plain")
        else:
            self.answers[(method, path)] = (code, json.dumps(doc).encode(), "application/json")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[FakeApi, KubectlProxy]]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.requests.append((self.command, self.path, body, self.headers.get("Content-Type") or ""))
            code, answer, kind = fake.answers.get((self.command, self.path.split("?")[0]),
                                                  (404, json.dumps(status_body(404, "NotFound", "nope")).encode(),
                                                   "application/json"))
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def address_string(self) -> str:  # a Unix socket's peer has no host
            return "local"

    sock = tmp_path / "api.sock"
    server = socketserver.ThreadingUnixStreamServer(str(sock), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    proxy = KubectlProxy(CLUSTER)
    proxy.socket_path = str(sock)  # the server stands in for the kubectl process
    try:
        yield fake, proxy
    finally:
        server.shutdown()
        server.server_close()


class Serving:
    """The command's shared proxy, already serving ``proxy`` (or, with None, not started)."""

    def __init__(self, proxy: KubectlProxy | None) -> None:
        self.proxy = proxy

    def serving(self) -> KubectlProxy | None:
        return self.proxy


def kubectl_through(proxy: KubectlProxy | None) -> Kubectl:
    return Kubectl(CLUSTER, proxy=Serving(proxy))  # type: ignore[arg-type]  # a stand-in SharedProxy


LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/lain-lock-app"
SECRET_PATH = "/api/v1/namespaces/ns/secrets/sh.helm.release.v1.app.v3"


def test_a_get_is_one_request_and_a_missing_object_is_none(api: tuple[FakeApi, KubectlProxy]) -> None:
    fake, proxy = api
    fake.answer("GET", LEASE_PATH, 200, LEASE)
    kubectl = kubectl_through(proxy)
    assert kubectl.get_json("lease", "lain-lock-app") == LEASE
    assert kubectl.get_json("secret", "sh.helm.release.v1.app.v3") is None  # the server's 404
    assert [(m, p) for m, p, _, _ in fake.requests] == [("GET", LEASE_PATH), ("GET", SECRET_PATH)]


def test_create_posts_to_the_collection_and_already_exists_is_kubectls_error(
        api: tuple[FakeApi, KubectlProxy]) -> None:
    fake, proxy = api
    collection = "/apis/coordination.k8s.io/v1/namespaces/ns/leases"
    fake.answer("POST", collection, 201, LEASE)
    kubectl = kubectl_through(proxy)
    assert kubectl.create(LEASE) == LEASE
    method, path, body, content_type = fake.requests[0]
    assert (method, path, content_type) == ("POST", f"{collection}?fieldManager=lain", "application/json")
    assert json.loads(body) == LEASE
    fake.answer("POST", collection, 409, status_body(409, "AlreadyExists", 'leases "lain-lock-app" already exists'))
    with pytest.raises(kube.AlreadyExists):
        kubectl.create(LEASE)


def test_replace_puts_with_the_resource_version_and_a_changed_object_is_a_conflict(
        api: tuple[FakeApi, KubectlProxy]) -> None:
    fake, proxy = api
    fake.answer("PUT", SECRET_PATH, 200, SECRET)
    kubectl = kubectl_through(proxy)
    assert kubectl.replace(SECRET) == SECRET
    assert json.loads(fake.requests[0][2])["metadata"]["resourceVersion"] == "9"
    fake.answer("PUT", SECRET_PATH, 409, status_body(409, "Conflict", "the object has been modified"))
    with pytest.raises(kube.Conflict) as caught:
        kubectl.replace(SECRET)
    assert not isinstance(caught.value, kube.AlreadyExists)
    fake.answer("PUT", SECRET_PATH, 404, status_body(404, "NotFound", "gone"))
    with pytest.raises(kube.NotFound):
        kubectl.replace(SECRET)
    with pytest.raises(ValueError, match="resourceVersion"):
        kubectl.replace({**SECRET, "metadata": {"name": "x"}})


def test_delete_of_a_missing_object_is_quiet(api: tuple[FakeApi, KubectlProxy]) -> None:
    fake, proxy = api
    kubectl = kubectl_through(proxy)
    kubectl.delete("lease", "lain-lock-app")  # 404: already gone, as --ignore-not-found
    fake.answer("DELETE", LEASE_PATH, 200, status_body(200, "", ""))
    kubectl.delete("lease", "lain-lock-app")
    assert [(m, p) for m, p, _, _ in fake.requests] == [("DELETE", LEASE_PATH)] * 2


def test_refusals_are_worded_as_kubectls(api: tuple[FakeApi, KubectlProxy]) -> None:
    fake, proxy = api
    kubectl = kubectl_through(proxy)
    fake.answer("GET", LEASE_PATH, 403, status_body(403, "Forbidden", 'leases "lain-lock-app" is forbidden'))
    with pytest.raises(ClusterError, match="not allowed") as forbidden:
        kubectl.get_json("lease", "lain-lock-app")
    assert forbidden.value.hint == "ask the cluster's admins for access to this namespace"
    # the proxy's own answer when it cannot reach the API server: not a Status
    fake.answer("GET", LEASE_PATH, 502, "dial tcp 10.0.0.1:6443: connect: connection refused")
    with pytest.raises(ClusterError, match="cannot reach cluster test"):
        kubectl.get_json("lease", "lain-lock-app")


def test_verbose_shows_the_request_but_never_the_body(api: tuple[FakeApi, KubectlProxy],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake, proxy = api
    fake.answer("PUT", SECRET_PATH, 200, SECRET)
    proc.set_verbose(True)
    try:
        kubectl_through(proxy).replace(SECRET)
    finally:
        proc.set_verbose(False)
    err = capsys.readouterr().err
    assert f"$ PUT {SECRET_PATH}?fieldManager=lain  (via kubectl proxy, " in err
    assert "c2VjcmV0" not in err and "secret-release" not in err


def test_kubectl_runs_when_the_proxy_is_gone_or_the_kind_is_not_lains(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(kube, "get_json", lambda cluster, kind, name=None, selector=None, **kw:
                        ran.append(("get", kind, str(name))) or {"kind": kind})
    monkeypatch.setattr(kube, "delete", lambda cluster, kind, name, **kw: ran.append(("delete", kind, name)))
    gone = KubectlProxy(CLUSTER)
    gone.socket_path = str(tmp_path / "nobody-listens.sock")
    kubectl = kubectl_through(gone)
    assert kubectl.get_json("lease", "lain-lock-app") == {"kind": "lease"}
    kubectl.delete("lease", "lain-lock-app")
    assert kubectl_through(None).get_json("secret", "s") == {"kind": "secret"}  # no proxy started
    assert kubectl.get_json("deployment", "web") == {"kind": "deployment"}  # not a kind lain writes
    assert kubectl.get_json("pods", selector="a=b") == {"kind": "pods"}  # lists go through kubectl
    assert ran == [("get", "lease", "lain-lock-app"), ("delete", "lease", "lain-lock-app"), ("get", "secret", "s"),
                   ("get", "deployment", "web"), ("get", "pods", "None")]


def test_only_lains_own_kinds_have_paths() -> None:
    assert objectapi.object_path("Lease", "a b", "x/y") == "/apis/coordination.k8s.io/v1/namespaces/a%20b/leases/x%2Fy"
    assert objectapi.object_path("deployment", "ns", "web") is None
    assert objectapi.object_kind(SECRET) == "secret"
    assert objectapi.object_kind({"apiVersion": "apps/v1", "kind": "Deployment"}) is None
    with pytest.raises(NotProxied):
        objectapi.ProxiedObjects(KubectlProxy(CLUSTER), "test", "ns", 1.0).create(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}})
