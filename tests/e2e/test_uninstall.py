"""`lain uninstall` end to end: the real lain, helm and kubectl on each backend."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.e2e.deployapp import LAIN, App, make_app
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


def run(app: App, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """lain as CI runs it: no terminal on stdin."""
    return subprocess.run([LAIN, *args], cwd=app.root, env=app.env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def installed(app: App) -> bool:
    return app.cluster.helm("status", "dummy", check=False).returncode == 0


def app_objects(app: App, kind: str) -> list[str]:
    return sorted(o["metadata"]["name"] for o in app.cluster.sim.list(kind, app.cluster.namespace,
                                                                      selector="app.kubernetes.io/name=dummy"))


def secret(app: App, name: str) -> Any:
    return app.cluster.sim.get("secrets", name, app.cluster.namespace)


@pytest.fixture
def receiver() -> Any:
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture
def app(tmp_path: Path, cluster: Any, receiver: WebhookReceiver) -> App:
    made = make_app(tmp_path, cluster, webhook={"url": receiver.url("/hook"), "provider": "generic"})
    made.lain("deploy", "--timeout", "60s", check=0)
    made.lain("env", "add", "DATABASE_URL=postgres://db/dummy", check=0)
    return made


def test_without_yes_and_without_a_terminal_it_refuses_and_changes_nothing(app: App) -> None:
    result = run(app, "uninstall")
    assert result.returncode == 2, result.stderr
    assert (f"lain uninstall asks before it removes app dummy from cluster sim (namespace "
            f"{app.cluster.namespace}), and there is no terminal to ask on") in result.stderr
    assert "hint: pass --yes" in result.stderr
    assert "Traceback" not in result.stderr
    assert installed(app)
    assert app_objects(app, "deployments") == ["dummy-web", "dummy-worker"]


def test_yes_removes_the_release_keeps_env_and_tells_the_team(app: App, receiver: WebhookReceiver) -> None:
    result = run(app, "--json", "uninstall", "--yes", "--timeout", "60s")
    assert result.returncode == 0, result.stderr
    assert not installed(app)
    # waited until every object is gone, pods and the hook job helm leaves behind included
    assert app_objects(app, "deployments") == []
    assert app_objects(app, "pods") == []
    assert app_objects(app, "jobs") == []
    assert app_objects(app, "services") == []
    assert app.cluster.sim.get("leases", "lain-lock-dummy", app.cluster.namespace) is None
    assert secret(app, "dummy-env") is not None
    assert "kept: secret/dummy-env; `lain uninstall --purge` removes them" in result.stderr
    assert "release dummy uninstalled from cluster sim" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["action"] == "uninstall" and doc["result"] == "succeeded" and doc["exitCode"] == 0
    assert doc["kept"] == ["secret/dummy-env"]
    assert "deployment/dummy-web" in doc["removed"] and "job/dummy-migrate" in doc["removed"]
    assert [e["kind"] for e in doc["events"]] == ["uninstall"]
    notices = [r.json for r in receiver.delivered if r.json["kind"].startswith("uninstall")]
    assert len(notices) == 1
    assert notices[0]["title"] == "alice uninstalled dummy on sim"
    assert "kept: secret/dummy-env" in notices[0]["details"]
    assert "postgres://" not in json.dumps([r.json for r in receiver.requests]) + result.stdout + result.stderr

    # gone now: a second uninstall is a failure that says what is left and how to remove it
    again = run(app, "uninstall", "--yes")
    assert again.returncode == 1
    assert f"release dummy is not installed on cluster sim, namespace {app.cluster.namespace}" in again.stderr
    assert "`lain uninstall --purge` removes them" in again.stderr

    purged = run(app, "uninstall", "--yes", "--purge", "--timeout", "60s")
    assert purged.returncode == 0, purged.stderr
    assert secret(app, "dummy-env") is None
    assert "leftovers of dummy removed" in purged.stderr
    nothing = run(app, "uninstall", "--yes", "--purge")
    assert nothing.returncode == 1 and "nothing to uninstall" in nothing.stderr


def test_purge_removes_the_release_and_its_env(app: App) -> None:
    result = run(app, "delete", "--yes", "--purge", "--timeout", "60s")  # the alias
    assert result.returncode == 0, result.stderr
    assert not installed(app)
    assert secret(app, "dummy-env") is None
    assert "secret/dummy-env (--purge)" in result.stderr
    assert app_objects(app, "pods") == []


def test_statefulset_claims_are_kept_and_named_then_purged(tmp_path: Path, cluster: Any) -> None:
    made = make_app(tmp_path, cluster)
    values = copy.deepcopy(made.values)
    values["statefulSets"] = {"db": {"replicaCount": 1, "volumeClaimTemplates": [{
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
    made.write(values)
    made.lain("deploy", "--no-wait", "--timeout", "60s", check=0)
    made.cluster.sim.wait_for(lambda: "data-dummy-db-0" in app_objects(made, "persistentvolumeclaims"),
                              timeout=30, message="the StatefulSet's claim")
    result = run(made, "uninstall", "--yes", "--timeout", "60s")
    assert result.returncode == 0, result.stderr
    assert "kept: persistentvolumeclaim/data-dummy-db-0 (--purge removes them)" in result.stderr
    assert app_objects(made, "persistentvolumeclaims") == ["data-dummy-db-0"]
    assert app_objects(made, "statefulsets") == []
    purged = run(made, "uninstall", "--yes", "--purge", "--timeout", "60s")
    assert purged.returncode == 0, purged.stderr
    assert "DATA IS DELETED with the persistent volume claim data-dummy-db-0" in purged.stderr
    assert app_objects(made, "persistentvolumeclaims") == []


def test_never_installed_is_exit_1_with_the_reason(tmp_path: Path, cluster: Any) -> None:
    made = make_app(tmp_path, cluster)
    result = run(made, "uninstall", "--yes")
    assert result.returncode == 1
    assert f"error: release dummy is not installed on cluster sim, namespace {cluster.namespace}" in result.stderr
    assert "check the app name" in result.stderr


def test_on_a_terminal_it_asks_naming_app_cluster_and_namespace(app: App) -> None:
    def ask(answer: str) -> tuple[int, str]:
        child = pexpect.spawn(LAIN, ["uninstall", "--timeout", "60s"], cwd=str(app.root), env=app.env,
                              encoding="utf-8", timeout=90)
        child.expect(r"uninstall dummy from cluster sim, namespace \S+\? \[y/N\]: ")
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        return child.exitstatus, str(child.before)

    code, out = ask("n")
    assert code == 1 and "not confirmed: nothing was removed" in out
    assert installed(app)
    code, out = ask("y")
    assert code == 0, out
    assert not installed(app)
