"""`lain lint` and `lain template`: schema versions, tracing problems to values keys, the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from lain_cli import lint
from lain_cli.cli import main
from lain_cli.errors import UsageError
from tests.fixtures_values import seed_two_apps

APPS = Path(__file__).resolve().parent / "apps"


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(None, "1.30"), ("1.30", "1.30"), ("v1.32.4", "1.32"), ("1.99", lint.shipped_versions()[-1])],
)
def test_schema_version(requested: str | None, expected: str) -> None:
    assert lint.schema_version(requested) == expected


@pytest.mark.parametrize("bad", ["1.29", "latest"])
def test_schema_version_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        lint.schema_version(bad)


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "dummy-web",
        "labels": {"app.kubernetes.io/component": "web", "lain.dev/kind": "deployment",
                   "app.kubernetes.io/instance": "dummy"},
    },
}


@pytest.mark.parametrize(
    ("body", "path", "key"),
    [
        (DEPLOYMENT, "spec.template.spec.containers[0].resources.limits.cpu", "deployments.web.resources.limits.cpu"),
        (DEPLOYMENT, "spec.template.spec.containers[0].ports[0].containerPort", "deployments.web.containerPort"),
        (DEPLOYMENT, "spec.template.spec.initContainers[0].image", "deployments.web.initContainers[0].image"),
        (DEPLOYMENT, "spec.template.spec.securityContext.runAsUser", "deployments.web.podSecurityContext.runAsUser"),
        (DEPLOYMENT, "spec.strategy.rollingUpdate", "deployments.web.strategy.rollingUpdate"),
        (DEPLOYMENT, "metadata.labels", None),
        ({**DEPLOYMENT, "kind": "CronJob", "metadata": {**DEPLOYMENT["metadata"], "labels": {
            "app.kubernetes.io/component": "daily", "lain.dev/kind": "cronjob"}}},
         "spec.jobTemplate.spec.template.spec.containers[0].command", "cronjobs.daily.command"),
        ({**DEPLOYMENT, "kind": "CronJob", "metadata": {**DEPLOYMENT["metadata"], "labels": {
            "app.kubernetes.io/component": "daily", "lain.dev/kind": "cronjob"}}},
         "spec.jobTemplate.spec.backoffLimit", "cronjobs.daily.backoffLimit"),
        ({"kind": "HorizontalPodAutoscaler", "metadata": DEPLOYMENT["metadata"]},
         "spec.behavior", "deployments.web.hpa.behavior"),
        ({"kind": "PersistentVolumeClaim", "metadata": {"name": "dummy-data", "labels": {
            "app.kubernetes.io/instance": "dummy"}}},
         "spec.accessModes[0]", "persistentVolumeClaims.data.accessModes[0]"),
        ({"kind": "NetworkPolicy", "metadata": {"name": "dummy"}}, "spec.ingress", "networkPolicy.spec.ingress"),
    ],
)
def test_values_key_for(body: dict, path: str, key: str | None) -> None:
    assert lint.values_key_for(body, path) == key


def test_key_path() -> None:
    assert lint.key_path("deployments.web.initContainers[0].env") == ("deployments", "web", "initContainers", 0, "env")
    assert lint.key_path("persistentVolumeClaims.data.accessModes[0]") == (
        "persistentVolumeClaims", "data", "accessModes", 0,
    )


def test_validate_object_strict_about_unknown_fields() -> None:
    body = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
        "spec": {"ports": [{"port": "http", "colour": 1}]},
    }
    problems = lint.validate_object(body, "1.30")
    assert ("spec.ports[0]", "unknown field ('colour' was unexpected)") in problems
    assert any(p == "spec.ports[0].port" for p, _ in problems)


def test_validate_object_unknown_kind() -> None:
    assert lint.validate_object({"apiVersion": "v9", "kind": "Nope"}, "1.30") == [
        ("", "Kubernetes 1.30 has no Nope in v9")
    ]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the seed's two-apps example, with the test clusters."""
    return seed_two_apps(tmp_path, monkeypatch)


def run_lain(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


def test_lint_clean(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lain(["--cluster", "test", "lint", "--set", "imageTag=abc"]) == 0
    err = capsys.readouterr().err
    assert "5 objects valid against Kubernetes 1.30 schemas; helm lint clean" in err


def test_lint_reports_the_object_field_and_values_key(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = app / "chart" / "values.yaml"
    values.write_text(
        values.read_text().replace(
            "    replicaCount: 20\n",
            "    replicaCount: 20\n    lifecycle:\n      preStop:\n        exec:\n          commnd: [sleep, '5']\n",
        )
    )
    assert run_lain(["lint", "--set", "imageTag=abc"]) == 2
    err = capsys.readouterr().err
    assert (
        "Deployment dummy-web: spec.template.spec.containers[0].lifecycle.preStop.exec: "
        "unknown field ('commnd' was unexpected) (from values key deployments.web.lifecycle.preStop.exec, "
        "chart/values.yaml:8)"
    ) in err
    assert "error: 1 problem in the rendered manifests" in err


def test_lint_bad_values_exit_2(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = app / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 20", "replicas: 20"))
    assert run_lain(["lint", "--set", "imageTag=abc"]) == 2
    assert "did you mean replicaCount?" in capsys.readouterr().err


def test_template_to_stdout_without_cluster(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_lain(["template", "--set", "imageTag=abc"]) == 0
    out, err = capsys.readouterr()
    assert "no cluster selected: a generic render" in err
    assert "kind: Deployment" in out and 'host: "dummy-dev"' in out
    assert 'image: "dummy:abc"' in out


def test_template_output_dir_with_cluster(app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "manifests"
    argv = ["-f", "chart/values-dev.yaml", "--cluster", "test", "template", "--set", "imageTag=abc",
            "--output", str(out_dir)]
    assert run_lain(argv) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "deployment-dummy-dev-web-dev.yaml", "deployment-dummy-dev-web.yaml",
        "ingress-dummy-dev-web-dev-dummy-dev.yaml",
        "service-dummy-dev-web-dev.yaml", "service-dummy-dev-web.yaml",
    ]
    ingress = (out_dir / "ingress-dummy-dev-web-dev-dummy-dev.yaml").read_text()
    assert 'host: "dummy-dev.example.com"' in ingress and "name: dummy-dev-web-dev" in ingress
    assert "wrote 5 objects" in capsys.readouterr().err


def test_template_invalid_values_exit_2_before_helm(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = app / "chart" / "values.yaml"
    values.write_text(values.read_text() + "cronjobs:\n  daily:\n    command: [x]\n")
    assert run_lain(["template", "--set", "imageTag=abc"]) == 2
    out, err = capsys.readouterr()
    assert "cronjobs.daily.schedule" in err and out == ""


def test_long_env_lists_are_validated_fast_and_errors_keep_their_index() -> None:
    # issue 16: validating an env of thousands of plain NAME=value entries took seconds
    import copy
    import time

    env = [{"name": f"K{i}", "value": "v"} for i in range(5000)]
    env += [{"name": "BAD", "value": 5}, {"name": "X", "valueFrom": {"nope": 1}}]
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "i", "env": env}]}}}}
    before = copy.deepcopy(body)
    lint.validate_object(body, "1.30")  # the schemas loaded
    started = time.process_time()
    problems = lint.validate_object(body, "1.30")
    assert time.process_time() - started < 0.5
    assert problems == [
        ("spec.template.spec.containers[0].env[5000].value", "5 is not of type 'string', 'null'"),
        ("spec.template.spec.containers[0].env[5001].valueFrom", "unknown field ('nope' was unexpected)"),
    ]
    assert body == before
