"""A broken environment gives a clear message and the right exit code, never a
traceback, and changes nothing: missing helm/kubectl, rejected credentials,
an unreachable cluster (design.md §11)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.deployapp import App, make_app

pytestmark = pytest.mark.e2e


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    """An API server whose every answer is 401, as with an expired token."""

    def _deny(self) -> None:
        body = json.dumps({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
        }).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _deny

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unauthorized_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(tmp_path: Path, cluster: object) -> App:
    return make_app(tmp_path, cluster)


def point_cluster_at(app: App, server: str, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "expired-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "expired-token"}}],
    }))
    clusters_dir = Path(app.env["LAIN_CLUSTERS_DIR"])
    (clusters_dir / "sim.yaml").write_text(f"kubeconfig: {kubeconfig}\nnamespace: default\n")


def assert_clean_failure(result, code: int) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert "memcache.go" not in result.stderr  # kubectl's klog noise is not shown
    assert result.stderr.startswith("error: ") or "\nerror: " in result.stderr


@pytest.mark.parametrize(
    "command",
    [["deploy", "--timeout", "20s"], ["status", "-s"], ["history"], ["rollback"], ["wait", "--timeout", "5s"],
     ["env", "show"], ["logs", "web"], ["diff"]],
    ids=lambda c: c[0],
)
def test_rejected_credentials_say_so(app: App, unauthorized_server: str, tmp_path: Path, command: list[str]) -> None:
    point_cluster_at(app, unauthorized_server, tmp_path)
    result = app.lain(*command)
    assert_clean_failure(result, 1)
    assert "rejected your credentials" in result.stderr
    assert "hint: log in again (refresh the kubeconfig), then retry" in result.stderr


def test_unreachable_cluster_fails_deploy_before_anything_runs(app: App, tmp_path: Path) -> None:
    point_cluster_at(app, "http://127.0.0.1:9", tmp_path)
    result = app.lain("deploy", "--timeout", "20s")
    assert_clean_failure(result, 1)
    assert "cannot reach cluster sim" in result.stderr
    assert "helm upgrade" not in result.stderr  # stopped before touching anything


@pytest.mark.parametrize(("variable", "command"), [("LAIN_HELM", ["deploy"]), ("LAIN_KUBECTL", ["status", "-s"])])
def test_missing_helm_or_kubectl_is_a_usage_error(app: App, variable: str, command: list[str]) -> None:
    app.env[variable] = "/nonexistent/bin/tool"
    result = app.lain(*command)
    assert_clean_failure(result, 2)
    assert f"${variable} points at /nonexistent/bin/tool, which is not an executable file" in result.stderr
    assert app.cluster.sim.list("secrets", selector="owner=helm") == []  # nothing was deployed
