"""kubectl argv (exact), kubectl's failures as readable errors, and the runners
against the simulator with the real kubectl."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lain_cli import kube
from lain_cli.errors import ClusterError

ARGS = ["--kubeconfig", "/k", "--namespace", "ns"]


def test_get_argv() -> None:
    assert kube.get_argv("kubectl", ARGS, "secret", "app-env") == [
        "kubectl", "--kubeconfig", "/k", "--namespace", "ns",
        "get", "secret", "app-env", "--output", "json", "--request-timeout=30s",
    ]  # fmt: skip
    assert kube.get_argv("kubectl", ARGS, "pods", selector="a=b", request_timeout=2.5) == [
        "kubectl", "--kubeconfig", "/k", "--namespace", "ns",
        "get", "pods", "--selector", "a=b", "--output", "json", "--request-timeout=2.5s",
    ]  # fmt: skip


def test_create_and_replace_argv_take_the_object_on_stdin() -> None:
    assert kube.create_argv("kubectl", ARGS) == [
        "kubectl", "--kubeconfig", "/k", "--namespace", "ns",
        "create", "--filename", "-", "--validate=false", "--output", "json", "--request-timeout=30s",
    ]  # fmt: skip
    assert kube.replace_argv("kubectl", ["--namespace", "ns"], request_timeout=5) == [
        "kubectl", "--namespace", "ns",
        "replace", "--filename", "-", "--validate=false", "--output", "json", "--request-timeout=5s",
    ]  # fmt: skip


CONFLICT = (
    'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on '
    'secrets "app-env": the object has been modified; please apply your changes to the latest '
    "version and try again"
)


@pytest.mark.parametrize(
    ("stderr", "kind", "message"),
    [
        (CONFLICT, kube.Conflict, "x: the object changed on cluster dev since it was read"),
        (
            'Error from server (AlreadyExists): error when creating "STDIN": secrets "app-env" already exists',
            kube.AlreadyExists,
            "x: the object was created on cluster dev meanwhile",
        ),
        (
            'Error from server (NotFound): secrets "app-env" not found',
            kube.NotFound,
            "x: not found",
        ),
        (
            "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?",
            ClusterError,
            "x: cannot reach cluster dev",
        ),
        (
            'E0101 memcache.go:265] couldn\'t get current server API group list: Get "https://10.0.0.1/api": '
            "dial tcp 10.0.0.1:443: i/o timeout\nUnable to connect to the server: dial tcp 10.0.0.1:443: i/o timeout",
            ClusterError,
            "x: cluster dev did not answer in time",
        ),
        (
            "error: You must be logged in to the server (Unauthorized)",
            ClusterError,
            "x: cluster dev rejected your credentials",
        ),
        (
            "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by "
            "unknown authority",
            ClusterError,
            "x: cannot talk to cluster dev: TLS certificate problem",
        ),
        (
            'Error from server (Forbidden): secrets "app-env" is forbidden: User "bob" cannot get resource',
            ClusterError,
            "x: cluster dev refused the request: not allowed",
        ),
        ("error: something else entirely", ClusterError, "x: kubectl failed on cluster dev"),
    ],
)
def test_classify_failure(stderr: str, kind: type[ClusterError], message: str) -> None:
    error = kube.classify_failure(stderr, "dev", what="x")
    assert type(error) is kind
    assert error.message.startswith(message)
    assert error.exit_code == 1


def test_unreachable_error_shows_the_deciding_line_and_a_hint() -> None:
    error = kube.classify_failure(
        "E0101 noise\nThe connection to the server 127.0.0.1:1 was refused - did you specify the right host?",
        "dev",
    )
    assert error.details == [
        "The connection to the server 127.0.0.1:1 was refused - did you specify the right host?"
    ]
    assert error.hint and "network" in error.hint


def test_dry_run_argv_applies_as_helm_or_creates_on_the_server_only() -> None:
    args = ["--kubeconfig", "/k"]
    assert kube.dry_run_argv("kubectl", args, create=False, request_timeout=5) == [
        "kubectl", "--kubeconfig", "/k", "apply", "--server-side", "--force-conflicts", "--field-manager=helm",
        "--dry-run=server", "--filename", "-", "--validate=false", "--output", "name", "--request-timeout=5s",
    ]
    assert kube.dry_run_argv("kubectl", args, create=True)[3:6] == ["create", "--dry-run=server", "--filename"]


# what kubectl 1.34/1.36 print on stderr when the API server refuses objects
REFUSED = """The StatefulSet "dummy-db" is invalid: spec: Forbidden: updates to statefulset spec are forbidden
Error from server (AlreadyExists): error when creating "STDIN": jobs.batch "dummy-migrate" already exists
The Deployment "dummy-web" is invalid:
* spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1
* spec.selector: Required value
Error from server (Forbidden): error when creating "STDIN": jobs.batch is forbidden: User "x" cannot create
"""


def test_rejections_are_read_from_kubectls_stderr() -> None:
    assert kube.rejections(REFUSED) == [
        ("Invalid", 'The StatefulSet "dummy-db" is invalid: spec: Forbidden: updates to statefulset spec are forbidden'),
        ("AlreadyExists", 'jobs.batch "dummy-migrate" already exists'),
        ("Invalid", 'The Deployment "dummy-web" is invalid: spec.template.spec.containers[0].resources.requests: '
                    'Invalid value: "2": must be less than or equal to cpu limit of 1; spec.selector: Required value'),
        ("Forbidden", 'jobs.batch is forbidden: User "x" cannot create'),
    ]
    assert kube.rejections("error: You must be logged in to the server (Unauthorized)\n") == []


def test_replace_requires_a_resource_version() -> None:
    with pytest.raises(ValueError, match="resourceVersion"):
        kube.replace(_SimCluster("dev", Path("/nonexistent")), {"metadata": {"name": "x"}})


@pytest.mark.parametrize(
    ("name", "valid"),
    [("app-env", True), ("a.b", True), ("A", False), ("-a", False), ("a" * 254, False)],
)
def test_valid_object_name(name: str, valid: bool) -> None:
    assert kube.valid_object_name(name) is valid


@dataclass
class _SimCluster:
    name: str
    kubeconfig: Path

    def kubectl_args(self) -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig), "--namespace", "default"]


@pytest.mark.e2e
def test_runners_against_the_simulator(cluster: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.kubesim.fixture import find_binary

    monkeypatch.setenv("LAIN_KUBECTL", find_binary("kubectl"))
    target = _SimCluster("sim", cluster.kubeconfig)  # type: ignore[attr-defined]
    assert kube.get_json(target, "secret", "app-env") is None
    created = kube.create(
        target,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "app-env", "labels": {"a": "b"}},
            "data": {},
        },
    )
    assert created["metadata"]["resourceVersion"]
    with pytest.raises(kube.AlreadyExists):
        kube.create(target, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-env"}})

    listed = kube.get_json(target, "secrets", selector="a=b")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["app-env"]  # type: ignore[index]

    stale = dict(created, data={"K": "dg=="})
    kube.replace(target, stale)
    with pytest.raises(kube.Conflict, match="changed on cluster sim since it was read"):
        kube.replace(target, dict(created, data={"K": "dw=="}))
    assert kube.get_json(target, "secret", "app-env")["data"] == {"K": "dg=="}  # type: ignore[index]

    # the server's dry run: it validates, answers, and stores nothing
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"a": "b"}}
    assert kube.dry_run(target, [config], create=False) == []
    assert kube.dry_run(target, [config], create=True) == []
    assert kube.get_json(target, "configmap", "dry") is None
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    [(reason, message)] = kube.dry_run(target, [config, bad], create=False)
    assert reason == "Invalid" and message.startswith('The Deployment "bad" is invalid: spec.template.metadata.labels: ')
    assert kube.get_json(target, "deployment", "bad") is None
