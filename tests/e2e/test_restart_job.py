"""`lain restart`, `lain job` and `lain create-job` end to end: the real lain, helm and
kubectl on both backends, for the helm major on PATH (LAIN_TEST_HELM_MAJOR)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.deployapp import App, make_app
from tests.e2e.deployapp import finish as _finish
from tests.e2e.deployapp import with_changes as _with
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

RUN_COMMAND = {"kubesim.lain.dev/run": "command"}  # job pods run their real command (tests/kubesim/commandrun.py)


def job_values(app: App) -> dict[str, Any]:
    values = _with(app, deployments__web__podAnnotations=RUN_COMMAND,
                   deployments__web__env={"GREETING": "hello from values"})
    values["cronjobs"] = {
        "report": {"schedule": "0 3 * * *", "command": ["sh", "-c", "echo report for $GREETING; exit 3"],
                   "env": {"GREETING": "the cron"}, "podAnnotations": RUN_COMMAND},
    }
    return values


@pytest.fixture
def app(tmp_path: Path, cluster: object) -> App:
    return make_app(tmp_path, cluster)


def pods_of(app: App, proc: str) -> list[dict[str, Any]]:
    return [p for p in app.cluster.sim.list("pods", selector=f"app.kubernetes.io/component={proc}")
            if not p["metadata"].get("deletionTimestamp")]


def template_hash(app: App, proc: str) -> set[str]:
    return {p["metadata"]["labels"].get("pod-template-hash", "") for p in pods_of(app, proc)}


def jobs(app: App) -> list[dict[str, Any]]:
    return [j for j in app.cluster.sim.list("jobs") if not j["metadata"].get("deletionTimestamp")]


# ---------------------------------------------------------------- restart


def test_restart_replaces_the_pods_and_the_next_deploy_keeps_it(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    web_before = {p["metadata"]["uid"] for p in pods_of(app, "web")}
    worker_before = {p["metadata"]["uid"] for p in pods_of(app, "worker")}
    result = app.lain("restart", "web", "--timeout", "60s", check=0)
    assert "restarting deployment dummy-web" in result.stderr
    assert "restart of web is ready" in result.stderr
    annotations = app.deployment("web")["spec"]["template"]["metadata"].get("annotations") or {}
    stamp = annotations.get("kubectl.kubernetes.io/restartedAt")
    assert stamp
    app.cluster.sim.wait_for(lambda: len(pods_of(app, "web")) == 2, timeout=30, message="2 web pods")
    assert not web_before & {p["metadata"]["uid"] for p in pods_of(app, "web")}
    assert {p["metadata"]["uid"] for p in pods_of(app, "worker")} == worker_before  # only the named proc
    hashes = template_hash(app, "web")
    # the next deploy (nothing changed) neither drops the annotation nor restarts again
    app.lain("deploy", "--timeout", "60s", check=0)
    annotations = app.deployment("web")["spec"]["template"]["metadata"].get("annotations") or {}
    assert annotations.get("kubectl.kubernetes.io/restartedAt") == stamp
    assert template_hash(app, "web") == hashes


def test_restart_of_unknown_proc_lists_the_procs(app: App) -> None:
    result = app.lain("restart", "nope", check=2)
    assert "unknown proc: nope" in result.stderr
    assert "web" in result.stderr and "worker" in result.stderr


def test_restart_of_a_proc_whose_new_pods_crash_loop_fails_fast(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    (old_hash,) = template_hash(app, "worker")
    # only pods created from now on, by the restart, crash
    app.cluster.sim.set_knobs(
        selector=f"app.kubernetes.io/component=worker,pod-template-hash!={old_hash}",
        crash="always", logs="Traceback: KeyError 'REDIS_URL'")
    started = time.monotonic()
    result = app.lain("restart", "worker", "--timeout", "120s", check=1)
    assert time.monotonic() - started < 60
    err = result.stderr
    assert "restart of worker failed" in err
    assert "CrashLoopBackOff" in err or "crash" in err.lower()
    assert "KeyError 'REDIS_URL'" in err


def test_graceful_restart_replaces_one_pod_at_a_time(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    before = sorted(p["metadata"]["name"] for p in pods_of(app, "web"))
    result = app.lain("--json", "restart", "web", "--graceful", "--timeout", "60s", timeout=120, check=0)
    for number, pod in enumerate(before, 1):
        assert f"web: restarting pod {pod} ({number}/2)" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["action"] == "restart" and doc["result"] == "succeeded" and doc["procs"] == ["web"]
    assert doc["graceful"] is True
    assert [e["kind"] for e in doc["events"]] == ["restart-start", "restart"]
    now = {p["metadata"]["name"] for p in pods_of(app, "web")}
    assert not now & set(before)


def test_restart_posts_who_restarted_what(tmp_path: Path, cluster: object) -> None:
    with WebhookReceiver() as receiver:
        app = make_app(tmp_path, cluster, webhook={"url": receiver.url("/hook"), "provider": "generic"})
        app.lain("deploy", "--timeout", "60s", check=0)
        app.lain("restart", "worker", "--timeout", "60s", check=0)
        bodies = [r.json for r in receiver.requests]
    restarts = [b for b in bodies if b["kind"].startswith("restart")]
    assert [b["kind"] for b in restarts] == ["restart-start", "restart"]
    assert restarts[1]["user"] == "alice" and "worker" in restarts[1]["text"]
    assert restarts[1]["title"] == "alice restarted dummy on sim"


# ---------------------------------------------------------------- job


def test_job_exit_codes_and_output(app: App) -> None:
    app.write(job_values(app))
    app.lain("deploy", "--timeout", "60s", check=0)
    failed = app.lain("job", "--", "false", timeout=120, check=1)
    assert "exit 1" in failed.stderr
    seven = app.lain("job", "--", "sh", "-c", "echo $GREETING; echo to stderr >&2; exit 7", timeout=120, check=7)
    assert "hello from values" in seven.stdout
    assert "to stderr" in seven.stdout
    assert "exit 7" in seven.stderr
    # the job is modelled on web: its image, as deployed
    assert f"image registry.example.com/team/dummy:{app.head()}" in seven.stderr
    ok = app.lain("job", "--", "sh", "-c", "echo fine", timeout=120, check=0)
    assert "fine" in ok.stdout
    # cleaned up: no job left behind
    app.cluster.sim.wait_for(lambda: not jobs(app) or all(
        j["metadata"]["labels"].get("app.kubernetes.io/managed-by") != "lain" for j in jobs(app)),
        timeout=30, message="the ad-hoc jobs to be deleted")


def test_job_keep_json_and_image_tag(app: App) -> None:
    app.write(job_values(app))
    app.lain("deploy", "--timeout", "60s", check=0)
    result = app.lain("--json", "job", "--keep", "--image-tag", "abc123", "--", "sh", "-c", "echo kept",
                      timeout=120, check=0)
    doc = json.loads(result.stdout)
    assert doc["action"] == "job" and doc["exitCode"] == 0
    assert doc["newImage"] == "registry.example.com/team/dummy:abc123"
    name = doc["job"]["name"]
    assert doc["job"]["kept"] is True and doc["job"]["exitCode"] == 0
    assert "kept" in result.stderr  # the job's log goes to stderr with --json
    job = app.cluster.sim.get("jobs", name)
    assert job is not None
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] > 0
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/team/dummy:abc123"
    assert {"name": "GREETING", "value": "hello from values"} in container["env"]
    assert {"secretRef": {"name": "dummy-env", "optional": True}} in container["envFrom"]
    assert "app.kubernetes.io/instance" not in job["metadata"]["labels"]
    # a kept job is not part of the release: the next deploy does not track it
    app.lain("deploy", "--timeout", "60s", check=0)


def test_job_of_unknown_proc_and_without_deploy(app: App) -> None:
    result = app.lain("job", "--proc", "nope", "--", "true", check=2)
    assert "unknown proc 'nope'" in result.stderr and "web, worker" in result.stderr
    result = app.lain("job", "--", "true", check=1)
    assert "not deployed" in result.stderr and "--image-tag" in result.stderr


def test_job_interrupted_is_deleted(app: App) -> None:
    values = job_values(app)
    app.write(values)
    app.lain("deploy", "--timeout", "60s", check=0)
    running = app.popen("job", "--", "sh", "-c", "echo started; sleep 30")
    app.cluster.sim.wait_for(lambda: any(j["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "lain"
                                         for j in jobs(app)), timeout=60, message="the job to exist")
    time.sleep(1.0)
    running.send_signal(signal.SIGTERM)
    _out, err = _finish(running)
    assert running.returncode == 143, err
    assert "deleted job" in err
    app.cluster.sim.wait_for(lambda: not any(j["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "lain"
                                             for j in jobs(app)), timeout=30, message="the job to be deleted")


# ---------------------------------------------------------------- create-job


def test_create_job_runs_a_cronjob_now(app: App) -> None:
    app.write(job_values(app))
    app.lain("deploy", "--timeout", "60s", check=0)
    result = app.lain("create-job", "report", timeout=120, check=3)
    assert "report for the cron" in result.stdout
    made = [j for j in jobs(app) if j["metadata"]["name"].startswith("dummy-report-manual-")]
    assert len(made) == 1
    meta = made[0]["metadata"]
    assert meta["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert meta["ownerReferences"][0]["kind"] == "CronJob"


def test_create_job_of_unknown_cronjob_lists_them(app: App) -> None:
    app.write(job_values(app))
    result = app.lain("create-job", "nightly", check=2)
    assert "unknown cronjob 'nightly'" in result.stderr
    assert "cronjobs of dummy: report" in result.stderr
