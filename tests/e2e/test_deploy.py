"""lain deploy end to end: the real lain, helm and kubectl against the simulator,
for the helm major on PATH (LAIN_TEST_HELM_MAJOR)."""

from __future__ import annotations

import copy
import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.deployapp import REGISTRY, App, make_app, wait_for_helm, wait_for_hook_pod
from tests.e2e.deployapp import finish as _finish
from tests.e2e.deployapp import with_changes as _with
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(tmp_path: Path, cluster: object) -> App:
    return make_app(tmp_path, cluster)



def test_first_install_then_upgrade_streams_migration_logs(app: App) -> None:
    first = app.lain("deploy", "--timeout", "30s", check=0)
    assert "ready" in first.stderr
    # no TTY: the status summary and its verdict end the deploy
    assert "verdict: GREEN" in first.stdout
    assert app.image("web") == f"{REGISTRY}/dummy:{app.head()}"
    assert app.replicas("web") == 2

    app.write(_with(app, deployments__web__replicaCount=3))
    second = app.lain("deploy", "--timeout", "30s", check=0)
    # the pre-upgrade hook's log lines appear in lain's own output, prefixed with the job
    assert "[dummy-migrate] migrating 001_init" in second.stderr
    assert "[dummy-migrate] migrations done" in second.stderr
    assert "web: 3/3 ready" in second.stderr
    history = app.history()
    assert [h["status"] for h in history] == ["superseded", "deployed"]
    assert history[-1]["description"] == f"lain deploy by alice, image {REGISTRY}/dummy:{app.head()} | rollout ready"


def test_hook_with_a_backup_init_container_streams_both_logs(app: App) -> None:
    """The seed's migration shape: a backup init container, then the migration."""
    app.lain("deploy", "--timeout", "30s", check=0)
    values = copy.deepcopy(app.values)
    migrate = values["jobs"]["migrate"]
    migrate["initContainers"] = [{"name": "backup", "image": "ubuntu-python:latest", "command": ["sh", "-c", "dump"]}]
    migrate["podAnnotations"] = {
        "kubesim.lain.dev/logs-backup": "backup written to /jfs/backup/dummy/",
        "kubesim.lain.dev/logs-migrate": "migrating 004_index\nmigrations done",
        "kubesim.lain.dev/duration": "0.5",
    }
    app.write(values)
    result = app.lain("deploy", "--timeout", "30s", check=0)
    err = result.stderr
    assert "[dummy-migrate:backup] backup written to /jfs/backup/dummy/" in err
    assert "[dummy-migrate] migrating 004_index" in err
    assert "[dummy-migrate] migrations done" in err
    assert err.index("backup written") < err.index("migrating 004_index")


def test_failing_hook_stops_the_deploy_with_name_reason_and_logs(app: App) -> None:
    app.lain("deploy", "--timeout", "30s", check=0)
    values = copy.deepcopy(app.values)
    values["jobs"]["migrate"]["podAnnotations"] = {
        "kubesim.lain.dev/exit-code": "3",
        "kubesim.lain.dev/logs": "migrating 003_orders\nERROR: relation orders already exists",
    }
    app.write(values)
    started = time.monotonic()
    result = app.lain("deploy", "--timeout", "60s", check=1)
    assert time.monotonic() - started < 30
    err = result.stderr
    assert "hook job dummy-migrate failed" in err
    assert "BackoffLimitExceeded" in err
    assert "ERROR: relation orders already exists" in err
    assert "log lines of dummy-migrate:" in err
    # the job is kept for `lain logs dummy-migrate`, and the web proc was not touched
    assert app.cluster.sim.get("jobs", "dummy-migrate") is not None
    assert app.history()[-1]["status"] == "failed"
    assert "tracking the rollout" not in err


def test_image_pull_failure_is_reported_without_waiting_for_a_timeout(app: App) -> None:
    app.lain("deploy", "--timeout", "30s", check=0)
    started = time.monotonic()
    app.write(_with(app, deployments__web__imageTag="notfound"))
    result = app.lain("deploy", "--timeout", "120s", check=1)
    assert time.monotonic() - started < 20
    err = result.stderr
    assert "Deployment dummy-web failed" in err
    assert "ErrImagePull" in err or "ImagePullBackOff" in err
    assert "events:" in err
    assert "deployed but not healthy" in err


def test_crash_loop_past_tolerance_fails(app: App) -> None:
    app.lain("deploy", "--timeout", "30s", check=0)
    app.write(_with(app, deployments__worker__podAnnotations={
        "kubesim.lain.dev/crash": "always", "kubesim.lain.dev/logs": "Traceback: KeyError 'DATABASE_URL'"}))
    result = app.lain("deploy", "--timeout", "60s", check=1)
    err = result.stderr
    assert "Deployment dummy-worker failed" in err
    assert "CrashLoopBackOff" in err or "Error" in err
    assert "KeyError 'DATABASE_URL'" in err


def test_a_pod_that_restarts_once_then_becomes_ready_is_not_a_failure(app: App) -> None:
    app.write(_with(app, deployments__web__podAnnotations={"kubesim.lain.dev/crash": "1"}))
    result = app.lain("deploy", "--timeout", "60s", check=0)
    assert "web: 2/2 ready" in result.stderr
    pods = app.cluster.sim.list("pods", selector="app.kubernetes.io/component=web")
    assert all(p["status"]["containerStatuses"][0]["restartCount"] >= 1 for p in pods)


def test_rollback_on_failure_goes_back_and_tracks_it(app: App) -> None:
    app.lain("deploy", "--timeout", "30s", check=0)
    good = app.image("web")
    app.write(_with(app, deployments__web__imageTag="notfound"))
    result = app.lain("deploy", "--rollback-on-failure", "--timeout", "60s", check=1)
    assert "rolling back to revision 1, the last one that rolled out" in result.stderr
    assert "rolled back to revision 1" in result.stderr
    assert app.image("web") == good
    history = app.history()
    assert history[-1]["status"] == "deployed"
    assert history[-1]["description"] == f"lain rollback to 1 by alice, image {good} | rollout ready"
    assert history[-2]["description"].startswith(f"lain deploy by alice, image {REGISTRY}/dummy:")
    assert "; web=" in history[-2]["description"] and " | rollout failed: web " in history[-2]["description"]


def test_rollback_to_previous_and_to_a_revision(app: App) -> None:
    for tag in ("aaa", "bbb", "ccc"):
        app.lain("deploy", "--set", f"imageTag={tag}", "--timeout", "30s", check=0)
    assert app.image("web").endswith(":ccc")
    result = app.lain("rollback", "--timeout", "30s", check=0)
    assert "to revision 2" in result.stderr
    assert app.image("web").endswith(":bbb")
    app.lain("rollback", "--revision", "1", "--timeout", "30s", check=0)
    assert app.image("web").endswith(":aaa")
    # history says who and what, rollbacks included
    out = app.lain("--json", "history", check=0).stdout
    rows = json.loads(out)
    assert [r["revision"] for r in rows] == [5, 4, 3, 2, 1]
    assert rows[0]["rollbackTo"] == 1 and rows[0]["images"]["web"].endswith(":aaa")
    assert rows[2]["user"] == "alice" and rows[2]["images"] == {
        "web": f"{REGISTRY}/dummy:ccc", "worker": f"{REGISTRY}/dummy:ccc"}
    table = app.lain("history", check=0).stdout
    assert "rollback to 1" in table and "alice" in table
    missing = app.lain("rollback", "--revision", "42", check=2)
    assert "no revision 42" in missing.stderr


def test_update_image_of_one_proc_leaves_the_rest_as_deployed(app: App) -> None:
    app.lain("deploy", "--set", "imageTag=aaa", "--timeout", "30s", check=0)
    # local values drift (more workers): update-image must not roll them out
    app.write(_with(app, deployments__worker__replicaCount=5))
    result = app.lain("update-image", "web", "--set", "imageTag=bbb", "--timeout", "30s", check=0)
    assert f"web: {REGISTRY}/dummy:aaa -> {REGISTRY}/dummy:bbb" in result.stderr
    assert app.image("web").endswith(":bbb")
    assert app.image("worker").endswith(":aaa")
    assert app.replicas("worker") == 1 and app.replicas("web") == 2
    env = {e["name"]: e.get("value") for e in app.deployment("web")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["IMAGE_TAG"] == "bbb"
    assert app.history()[-1]["description"] == (
        f"lain update-image by alice, image {REGISTRY}/dummy:aaa; web={REGISTRY}/dummy:bbb | rollout ready")
    unknown = app.lain("update-image", "nope", check=2)
    assert "unknown proc: nope" in unknown.stderr and "web" in unknown.stderr and "worker" in unknown.stderr



def _slow_hook(app: App) -> dict:
    values = copy.deepcopy(app.values)
    values["jobs"]["migrate"]["podAnnotations"] = {"kubesim.lain.dev/duration": "60"}
    return values


@pytest.mark.parametrize("terminal", [False, True], ids=["lain-only", "process-group"])
def test_ctrl_c_during_a_migration_leaves_helm_consistent(app: App, terminal: bool) -> None:
    app.lain("deploy", "--timeout", "30s", check=0)
    app.write(_slow_hook(app))
    # a terminal's Ctrl-C goes to the whole foreground process group (lain and its kubectl watches)
    running = app.popen("deploy", "--timeout", "120s", new_session=terminal)
    wait_for_helm(running.pid, 20)
    wait_for_hook_pod(app, 20)
    if terminal:
        os.killpg(running.pid, signal.SIGINT)
    else:
        running.send_signal(signal.SIGINT)
    _out, err = _finish(running)
    assert running.returncode == 130, err
    assert "interrupted" in err
    assert "release dummy is now failed (revision 2)" in err
    assert "the cluster still runs revision 1" in err
    assert app.history()[-1]["status"] == "failed"
    # and the next deploy just works
    app.write(base_values_of(app))
    app.lain("deploy", "--timeout", "30s", check=0)


def base_values_of(app: App) -> dict:
    values = copy.deepcopy(app.values)
    values["jobs"]["migrate"]["podAnnotations"] = {}
    return values


def test_stuck_pending_upgrade_is_detected_and_recovered(app: App) -> None:
    app.lain("deploy", "--timeout", "30s", check=0)
    app.write(_slow_hook(app))
    running = app.popen("deploy", "--timeout", "120s")
    helm_pid = wait_for_helm(running.pid, 20)
    wait_for_hook_pod(app, 20)
    os.kill(helm_pid, signal.SIGKILL)  # a deploy killed hard: helm leaves pending-upgrade
    _out, err = _finish(running)
    assert running.returncode == 1, err
    assert "pending-upgrade (revision 2)" in err and "--force-unlock" in err
    app.write(base_values_of(app))

    busy = app.lain("deploy", "--timeout", "120s", check=1)
    assert "another deploy is in progress" in busy.stderr
    assert "pending-upgrade (revision 2), started by alice" in busy.stderr

    time.sleep(1.2)
    stuck = app.lain("deploy", "--timeout", "1s", check=1)
    assert "stuck" in stuck.stderr and "--force-unlock` marks revision 2 failed, rolls back to revision 1" in stuck.stderr

    fixed = app.lain("deploy", "--force-unlock", "--timeout", "30s", check=0)
    assert "unlocked release dummy" in fixed.stderr
    statuses = [h["status"] for h in app.history()]
    assert statuses[-1] == "deployed" and not any(s.startswith("pending") for s in statuses)


def test_diff_exit_codes(app: App) -> None:
    new = app.lain("diff", check=2)
    assert "+ Deployment dummy-web (added)" in new.stdout
    app.lain("deploy", "--timeout", "30s", check=0)
    app.lain("diff", check=0)
    deployed_tag = app.head()
    app.write(_with(app, deployments__web__replicaCount=4))
    # Same image as deployed: only web changes; the worker's new values checksum is no change.
    changed = app.lain("diff", "--set", f"imageTag={deployed_tag}", check=2)
    assert "~ Deployment dummy-web (changed)" in changed.stdout
    assert "-  replicas: 2" in changed.stdout and "+  replicas: 4" in changed.stdout
    assert "dummy-worker" not in changed.stdout
    broken = app.env["LAIN_CLUSTERS_DIR"]
    unreachable = Path(broken) / "unreachable.kubeconfig"
    unreachable.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: x, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {}}]\n")
    (Path(broken) / "sim.yaml").write_text(f"kubeconfig: {unreachable}\nnamespace: default\n")
    app.lain("diff", check=1)
    # issue 16: a kubeconfig that does not exist was exit 1 with helm's text
    (Path(broken) / "sim.yaml").write_text("kubeconfig: /nonexistent/kubeconfig\nnamespace: default\n")
    missing = app.lain("diff", check=2)
    assert "error: ../clusters/sim.yaml:1: kubeconfig: /nonexistent/kubeconfig does not exist" in missing.stderr


def test_build_pushes_to_the_cluster_registry(app: App) -> None:
    values = copy.deepcopy(app.values)
    values["build"] = {"base": "python:3.11", "script": ["pip install -e ."]}
    app.write(values)
    app.lain("deploy", "--build", "--timeout", "30s", check=0)
    image = f"{REGISTRY}/dummy:{app.head()}"
    calls = app.docker_calls()
    assert calls[0].startswith(f"build --tag {image} --file ") and calls[0].endswith(str(app.root))
    assert calls[1] == f"push {image}"
    # a dirty tree gets a -dirty tag; the app's own Dockerfile is used when it has one
    (app.root / "Dockerfile").write_text("FROM scratch\n")
    app.lain("deploy", "--build", "--timeout", "30s", check=0)
    assert app.docker_calls()[2] == f"build --tag {image}-dirty {app.root}"
    assert app.image("web") == f"{image}-dirty"


def test_webhook_notices(tmp_path: Path, cluster: object) -> None:
    with WebhookReceiver() as receiver:
        _check_notices(tmp_path, cluster, receiver)


def _check_notices(tmp_path: Path, cluster: object, receiver: WebhookReceiver) -> None:
    app = make_app(tmp_path, cluster, webhook={"url": receiver.url("/hook"), "provider": "generic"})
    app.lain("deploy", "--timeout", "30s", check=0)
    first_sha = app.head()
    app.write(_with(app, deployments__web__replicaCount=3))
    app.lain("deploy", "--timeout", "30s", check=0)
    broken_sha = app.head()
    app.write(_with(app, deployments__web__imageTag="notfound"))
    app.lain("deploy", "--rollback-on-failure", "--timeout", "60s", check=1)
    bodies = [r.json for r in receiver.requests]
    kinds = [b["kind"] for b in bodies]
    assert kinds[:4] == ["deploy-start", "deploy-success", "deploy-start", "deploy-success"]
    assert "deploy-failure" in kinds[4:] and "rollback" in kinds[4:]
    success = bodies[3]
    assert success["app"] == "dummy" and success["cluster"] == "sim" and success["user"] == "alice"
    assert success["old_image"] == f"{REGISTRY}/dummy:{first_sha}"
    assert success["new_image"] == f"{REGISTRY}/dummy:{broken_sha}"
    assert success["duration"] is not None and success["duration"] >= 0
    assert len(success["git_log"]) == 1 and success["git_log"][0].startswith(broken_sha)
    assert bodies[2]["kind"] == "deploy-start" and bodies[2]["duration"] is None
    rollback = next(b for b in bodies if b["kind"] == "rollback")
    assert rollback["new_image"] == f"{REGISTRY}/dummy:{broken_sha}"
    assert rollback["old_image"] == f"{REGISTRY}/dummy:{app.head()}"
    failure = next(b for b in bodies if b["kind"] == "deploy-failure")
    assert "ImagePullBackOff" in json.dumps(failure) or "ErrImagePull" in json.dumps(failure)


def test_first_install_left_pending_is_unlocked(app: App) -> None:
    values = copy.deepcopy(app.values)
    migrate = values["jobs"]["migrate"]
    migrate["annotations"]["helm.sh/hook"] = "pre-install,pre-upgrade"
    migrate["podAnnotations"] = {"kubesim.lain.dev/duration": "60"}
    app.write(values)
    running = app.popen("deploy", "--timeout", "120s")
    helm_pid = wait_for_helm(running.pid, 20)
    wait_for_hook_pod(app, 20)
    os.kill(helm_pid, signal.SIGKILL)
    _out, err = _finish(running)
    assert "pending-install (revision 1)" in err
    migrate["podAnnotations"] = {}
    app.write(values)
    fixed = app.lain("deploy", "--force-unlock", "--timeout", "30s", check=0)
    assert "marked revision 1 failed (it was pending-install)" in fixed.stderr
    assert [h["status"] for h in app.history()][-1] == "deployed"
    assert app.replicas("web") == 2


def test_json_results_for_ci(app: App) -> None:
    first = app.lain("--json", "deploy", "--timeout", "30s", check=0)
    doc = json.loads(first.stdout)  # stdout holds exactly one JSON document
    assert (doc["schemaVersion"], doc["action"], doc["app"], doc["release"]) == (1, "deploy", "dummy", "dummy")
    assert (doc["result"], doc["exitCode"], doc["oldImage"]) == ("succeeded", 0, "")
    assert doc["newImage"] == f"{REGISTRY}/dummy:{app.head()}"
    assert [e["kind"] for e in doc["events"]] == ["deploy-start", "deploy-success"]
    assert doc["status"]["verdict"] == "GREEN"
    assert "tracking the rollout" in first.stderr  # progress still on stderr

    app.write(_with(app, deployments__web__imageTag="notfound"))
    failed = json.loads(app.lain("--json", "deploy", "--timeout", "60s", check=1).stdout)
    assert (failed["result"], failed["exitCode"], failed["status"]) == ("failed", 1, None)
    failure = failed["events"][-1]
    assert failure["kind"] == "deploy-failure"
    assert any("ErrImagePull" in line or "ImagePullBackOff" in line for line in failure["details"])

    waited = json.loads(app.lain("--json", "wait", "--timeout", "20s", check=1).stdout)
    assert (waited["action"], waited["result"], waited["events"][0]["kind"]) == ("wait", "failed", "failed")

    back = json.loads(app.lain("--json", "rollback", "--timeout", "30s", check=0).stdout)
    assert (back["action"], back["result"]) == ("rollback", "succeeded")
    assert back["newImage"] == doc["newImage"]
    assert [e["kind"] for e in back["events"]] == ["rollback"]

    error = app.lain("--json", "rollback", "--revision", "99", check=2)
    assert json.loads(error.stdout)["error"]["message"] == "release dummy has no revision 99"
