"""``lain deploy --dry-run`` end to end: helm's and the API server's dry run and the
diff, on both backends, with nothing changed on the cluster afterwards."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.deployapp import App, make_app
from tests.e2e.deployapp import with_changes as _with
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(tmp_path: Path, cluster: object) -> App:
    return make_app(tmp_path, cluster)


def cluster_state(app: App) -> dict[str, Any]:
    """What a dry run must leave as it was: every object lain or helm could write, by uid
    and resourceVersion (a write or a re-created object changes them)."""
    state: dict[str, Any] = {}
    for kind in ("secrets", "leases", "deployments", "statefulsets", "services", "jobs", "pods", "configmaps"):
        for obj in app.cluster.sim.list(kind):
            meta = obj["metadata"]
            if kind == "pods" and meta.get("labels", {}).get("app.kubernetes.io/instance") != "dummy":
                continue
            state[f"{kind}/{meta['name']}"] = (meta["uid"], meta.get("resourceVersion"))
    return state


def helm_history(app: App) -> list[tuple[int, str]]:
    result = app.cluster.helm("history", "dummy", "--output", "json", check=False)
    if result.returncode != 0:
        assert "not found" in result.stderr
        return []
    return [(h["revision"], h["status"]) for h in json.loads(result.stdout)]


def test_dry_run_of_a_first_install(app: App) -> None:
    first = app.lain("deploy", "--dry-run", check=2)
    assert "+ Deployment dummy-web (added)" in first.stdout
    assert "+ Service dummy-web (added)" in first.stdout
    assert "release dummy is not installed yet: everything is new" in first.stderr
    assert "helm and the API server accept revision 1 of dummy" in first.stderr
    assert helm_history(app) == []
    assert app.cluster.sim.list("deployments") == []
    assert [s for s in app.cluster.sim.list("secrets") if s["metadata"]["name"].startswith("sh.helm")] == []
    assert app.cluster.sim.list("leases") == []


def test_dry_run_of_a_change_shows_the_diff_and_changes_nothing(tmp_path: Path, cluster: object) -> None:
    with WebhookReceiver() as receiver:
        app = make_app(tmp_path, cluster, webhook={"url": receiver.url("/hook"), "provider": "generic"})
        app.lain("deploy", "--timeout", "30s", check=0)
        deployed_tag = app.head()
        noticed = len(receiver.requests)
        same = app.lain("deploy", "--dry-run", "--set", f"imageTag={deployed_tag}", check=0)
        assert "no changes" in same.stderr and same.stdout == ""

        app.write(_with(app, deployments__web__replicaCount=4))
        history, before = helm_history(app), cluster_state(app)
        changed = app.lain("deploy", "--dry-run", "--set", f"imageTag={deployed_tag}", check=2)
        assert "~ Deployment dummy-web (changed)" in changed.stdout
        assert "-  replicas: 2" in changed.stdout and "+  replicas: 4" in changed.stdout
        assert "dummy-worker" not in changed.stdout
        assert "1 to change, 0 to add, 0 to remove" in changed.stderr
        assert "helm upgrade --install --dry-run=server dummy" in changed.stderr
        assert "helm and the API server accept revision 2 of dummy" in changed.stderr
        # the same diff lain diff prints
        assert app.lain("diff", "--set", f"imageTag={deployed_tag}", check=2).stdout == changed.stdout
        # nothing changed: no revision, no lock, no hook re-run, no object written, no notice
        assert helm_history(app) == history == [(1, "deployed")]
        assert cluster_state(app) == before
        assert app.replicas("web") == 2
        assert "migrating 001_init" not in changed.stderr
        assert len(receiver.requests) == noticed

        doc = json.loads(app.lain("--json", "deploy", "--dry-run", "--set", f"imageTag={deployed_tag}",
                                  check=2).stdout)
        assert (doc["action"], doc["dryRun"], doc["result"], doc["exitCode"]) == ("deploy", True, "changes", 2)
        assert (doc["revision"], doc["firstInstall"], doc["refused"]) == (2, False, [])
        assert doc["oldImage"] == doc["newImage"] == f"registry.example.com/team/dummy:{deployed_tag}"
        assert {c["resource"] for c in doc["changes"]} == {"Deployment dummy-web"}
        assert doc["checkedObjects"] >= 4
        assert cluster_state(app) == before


def _with_database(app: App) -> dict[str, Any]:
    values = copy.deepcopy(app.values)
    values["statefulSets"] = {"db": {"replicaCount": 1, "containerPort": 5432}}
    return values


def test_a_change_the_api_server_refuses_fails_the_dry_run(app: App) -> None:
    app.write(_with_database(app))
    app.lain("deploy", "--timeout", "60s", check=0)
    history, before = helm_history(app), cluster_state(app)
    app.write(_with(app, statefulSets__db__podManagementPolicy="Parallel"))
    refused = app.lain("deploy", "--dry-run", check=1)
    assert "~ StatefulSet dummy-db (changed)" in refused.stdout
    assert "+  podManagementPolicy: Parallel" in refused.stdout
    assert "the API server refuses revision 2 of dummy (1 object):" in refused.stderr
    assert 'The StatefulSet "dummy-db" is invalid: spec: Forbidden: updates to statefulset spec' in refused.stderr
    assert helm_history(app) == history
    assert cluster_state(app) == before
    doc = json.loads(app.lain("--json", "deploy", "--dry-run", check=1).stdout)
    assert doc["result"] == "refused" and doc["refused"][0]["reason"] == "Invalid"
    assert "Forbidden: updates to statefulset spec" in doc["refused"][0]["message"]


def test_an_invalid_first_install_is_refused_by_the_server(app: App) -> None:
    app.write(_with(app, deployments__web__resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}))
    refused = app.lain("deploy", "--dry-run", check=1)
    assert "+ Deployment dummy-web (added)" in refused.stdout
    assert 'The Deployment "dummy-web" is invalid' in refused.stderr
    assert "must be less than or equal to cpu limit" in refused.stderr
    assert helm_history(app) == []
    assert app.cluster.sim.list("deployments") == []


def test_flags_that_change_something_are_refused_with_dry_run(app: App) -> None:
    build = app.lain("deploy", "--build", "--dry-run", check=2)
    assert "--build pushes an image and --dry-run changes nothing" in build.stderr
    assert app.docker_calls() == []
    app.lain("deploy", "--dry-run", "--force-unlock", check=2)
    app.lain("deploy", "--dry-run", "--rollback-on-failure", check=2)
    assert helm_history(app) == []
