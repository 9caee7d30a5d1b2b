"""`lain status`: the green light against the simulator, through the real lain, kubectl and helm."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.statusapp import (
    LAIN,
    deployment,
    is_ready,
    job,
    make_app,
    node_of,
    phase,
    pods_of,
    wait_job,
    wait_pods,
)

pytestmark = pytest.mark.e2e

VALUES = {
    "deployments": {"web": {"replicaCount": 2, "containerPort": 5000}, "worker": {"replicaCount": 1}},
    "jobs": {"init": {"command": ["echo", "migrated"]}},
    "ingresses": [{"host": "dummy", "deployName": "web", "paths": ["/", "/api"]}],
    "tests": {"smoke": {"command": ["true"]}},
}
LOG_LINK = "https://kibana.example.com/app/discover#/?query=app:{appname}%20AND%20proc:{proc}"


class _Handler(http.server.BaseHTTPRequestHandler):
    broken: set[str] = set()

    def do_GET(self):  # noqa: N802 - http.server's naming
        code = 502 if self.path in self.broken else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def ingress():
    """A local HTTP server standing in for the cluster's ingress controller."""
    handler = type("Handler", (_Handler,), {"broken": set()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.handler = handler
    yield server
    server.shutdown()


@pytest.fixture
def app(cluster, tmp_path, ingress):
    app = make_app(tmp_path, cluster, VALUES, {"logLink": LOG_LINK})
    app.env["LAIN_INGRESS_ADDRESS"] = f"127.0.0.1:{ingress.server_address[1]}"
    return app


def healthy(cluster) -> None:
    cluster.sim.create(deployment("web", replicas=2, knobs={"logs": "listening on :5000"}))
    cluster.sim.create(deployment("worker"))
    cluster.sim.create(job("init"))
    wait_pods(cluster, "web", 2, is_ready, "two ready web pods")
    wait_pods(cluster, "worker", 1, is_ready, "a ready worker")
    wait_pods(cluster, "init", 1, phase("Succeeded"), "the init job")
    wait_job(cluster, "init", "Complete")


def status_json(app, *args: str) -> tuple[int, dict]:
    result = app.run("--json", "status", "--exit-code", *args)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_a_healthy_app_is_green_field_by_field(cluster, app):
    healthy(cluster)
    code, doc = status_json(app)
    assert (code, doc["verdict"], doc["reasons"]) == (0, "GREEN", [])
    assert (doc["schemaVersion"], doc["app"], doc["release"], doc["cluster"], doc["namespace"]) == (
        1, "dummy", "dummy", "sim", cluster.namespace)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["generatedAt"])
    assert doc["procs"] == [
        {"name": "web", "kind": "deployment", "desired": 2, "ready": 2, "updated": 2, "available": 2,
         "state": "ready", "reason": "", "old": 0},
        {"name": "worker", "kind": "deployment", "desired": 1, "ready": 1, "updated": 1, "available": 1,
         "state": "ready", "reason": "", "old": 0},
    ]
    web = [p for p in doc["pods"] if p["proc"] == "web"]
    assert len(web) == 2
    for pod in web:
        assert pod["name"].startswith("dummy-web-")
        assert (pod["phase"], pod["status"], pod["ready"], pod["restarts"], pod["node"], pod["state"]) == (
            "Running", "Running", True, 0, node_of(cluster, "web"), "ready")
        assert (pod["reason"], pod["message"], pod["lastEvent"]) == ("", "", "")
        assert 0 <= pod["ageSeconds"] < 60
    [init] = doc["jobs"]
    assert (init["name"], init["proc"], init["state"], init["succeeded"], init["failed"]) == (
        "dummy-init", "init", "succeeded", 1, 0)
    assert init["started"] and init["finished"]
    assert doc["cronjobs"] == []
    assert doc["errorLogs"] == {"pattern": r"(?i)\b(error|exception|traceback|fatal|panic)\b", "window": "10m",
                                "lines": [], "total": 0, "error": ""}
    assert [(e["url"], e["ok"], e["statusCode"], e["proc"]) for e in doc["endpoints"]] == [
        ("http://dummy.example.com/", True, 200, "web"), ("http://dummy.example.com/api", True, 200, "web")]
    assert all(e["latencyMs"] is not None and e["error"] == "" for e in doc["endpoints"])
    assert doc["tests"] is None
    assert doc["logLinks"] == [
        {"proc": "web", "url": "https://kibana.example.com/app/discover#/?query=app:dummy%20AND%20proc:web"},
        {"proc": "worker", "url": "https://kibana.example.com/app/discover#/?query=app:dummy%20AND%20proc:worker"},
    ]


def test_the_short_summary_without_a_tty(cluster, app):
    healthy(cluster)
    result = app.run("status", "-s")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"dummy on cluster sim (namespace {cluster.namespace}), release dummy"
    assert re.search(r"^  web +deployment +2/2 ready +2/2 updated +ready$", result.stdout, re.M)
    assert len(re.findall(rf"^  dummy-web-\S+ +Running +restarts 0 +age \d+s +node {node_of(cluster, 'web')}$",
                          result.stdout, re.M)) == 2
    assert re.search(r"^  dummy-init +succeeded +succeeded 1 failed 0 +last run \S+Z$", result.stdout, re.M)
    assert re.search(r"^  ok +200 +\d+ ms  http://dummy.example.com/api$", result.stdout, re.M)
    assert "log links:" in lines
    assert "  web: https://kibana.example.com/app/discover#/?query=app:dummy%20AND%20proc:web" in lines
    assert lines[-1] == "verdict: GREEN"
    # the same without -s when there is no terminal
    assert app.run("status").stdout.splitlines()[-1] == "verdict: GREEN"


# The reason, as a pattern: the kubelet alternates ErrImagePull (a pull is
# failing) and ImagePullBackOff (waiting to try again) for as long as it tries.
ABNORMAL = [
    ("pull", {"pull": "fail"}, "ErrImagePull|ImagePullBackOff"),
    ("crash", {"crash": "always"}, "CrashLoopBackOff"),
    ("oom", {"crash": "always", "oom": "true"}, "OOMKilled"),
    ("ready", {"ready": "never"}, "NotReady"),
    ("unschedulable", {"unschedulable": "true"}, "Unschedulable"),
]


@pytest.mark.parametrize(("case", "knobs", "reason"), ABNORMAL, ids=[c[0] for c in ABNORMAL])
def test_each_abnormal_pod_is_red_naming_the_pod_and_reason(cluster, app, case, knobs, reason):
    healthy(cluster)
    cluster.sim.create(deployment("bad", knobs=knobs))
    [pod] = cluster.sim.wait_for(lambda: pods_of(cluster, "bad"), message="the bad pod")
    name = pod["metadata"]["name"]
    deadline = time.monotonic() + 20
    while True:
        code, doc = status_json(app, "--grace", "1")
        if doc["verdict"] == "RED" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (code, doc["verdict"]) == (1, "RED"), doc["reasons"]
    assert any(name in r and re.search(rf"\b({reason})\b", r) for r in doc["reasons"]), doc["reasons"]
    [row] = [p for p in doc["pods"] if p["name"] == name]
    assert row["state"] == "failed" and re.fullmatch(reason, row["reason"]), row
    # The verdict holds however the pod moves on meanwhile (a crash loop is
    # Running or Error for a moment around each restart).
    summary = app.run("status", "-s", "--grace", "1", "--exit-code")
    assert summary.returncode == 1, summary.stdout
    assert re.search(rf"^  - Pod {name}\b.*\b({reason})\b", summary.stdout, re.M), summary.stdout


def test_a_failed_job_is_red(cluster, app):
    healthy(cluster)
    cluster.sim.create(job("migrate", knobs={"exit-code": "3", "logs": "migration failed"}))
    wait_pods(cluster, "migrate", 1, phase("Failed"), "the job's pod to fail")
    wait_job(cluster, "migrate", "Failed")
    code, doc = status_json(app)
    assert (code, doc["verdict"]) == (1, "RED")
    assert any(r.startswith("Job dummy-migrate: BackoffLimitExceeded") and "exited with code 3" in r for r in doc["reasons"]), doc["reasons"]
    assert [j["state"] for j in doc["jobs"] if j["name"] == "dummy-migrate"] == ["failed"]


def test_an_error_log_line_is_surfaced(cluster, app):
    healthy(cluster)
    pod = pods_of(cluster, "worker")[0]["metadata"]["name"]
    cluster.sim.append_log(pod, "Traceback (most recent call last): KeyError 'x'")
    code, doc = status_json(app)
    assert (code, doc["verdict"]) == (1, "RED")
    assert doc["errorLogs"]["total"] == 1
    assert doc["errorLogs"]["lines"] == [{"proc": "worker", "pod": pod, "container": "worker",
                                          "line": "Traceback (most recent call last): KeyError 'x'"}]
    assert doc["reasons"] == ["1 error line(s) in the last 10m of logs: worker (1)"]
    short = app.run("status", "-s")
    assert f"  [{pod}/worker] Traceback (most recent call last): KeyError 'x'" in short.stdout.splitlines()


def test_the_error_pattern_comes_from_values(cluster, app):
    values = yaml.safe_load((app.root / "chart" / "values.yaml").read_text())
    values["errorLogPattern"] = r"^\[E\]"
    (app.root / "chart" / "values.yaml").write_text(yaml.safe_dump(values))
    healthy(cluster)
    pod = pods_of(cluster, "worker")[0]["metadata"]["name"]
    cluster.sim.append_log(pod, "ERROR not an error here")
    assert status_json(app)[1]["verdict"] == "GREEN"
    cluster.sim.append_log(pod, "[E] this one is")
    _, doc = status_json(app)
    assert [ln["line"] for ln in doc["errorLogs"]["lines"]] == ["[E] this one is"]


def test_the_ingress_check_address_can_come_from_the_cluster_file(cluster, tmp_path, ingress):
    address = f"127.0.0.1:{ingress.server_address[1]}"
    app = make_app(tmp_path, cluster, VALUES, {"logLink": LOG_LINK, "ingressCheck": {"address": address}})
    assert "LAIN_INGRESS_ADDRESS" not in app.env
    healthy(cluster)
    code, doc = status_json(app)
    assert code == 0, doc["reasons"]
    assert doc["endpoints"] and all(e["ok"] and e["statusCode"] == 200 for e in doc["endpoints"])


def test_a_failing_endpoint_turns_the_verdict_red(cluster, app, ingress):
    healthy(cluster)
    ingress.handler.broken.add("/api")
    code, doc = status_json(app)
    assert (code, doc["verdict"]) == (1, "RED")
    assert doc["reasons"] == ["endpoint http://dummy.example.com/api: HTTP 502"]
    assert [(e["path"], e["ok"], e["statusCode"]) for e in doc["endpoints"]] == [("/", True, 200), ("/api", False, 502)]
    ingress.shutdown()
    ingress.server_close()
    _, doc = status_json(app)
    assert all(not e["ok"] and e["statusCode"] is None and "Connection refused" in e["error"]
               for e in doc["endpoints"])


def _chart_with_tests(tmp_path: Path, exit_code: str) -> Path:
    chart = tmp_path / "testchart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: dummy\nversion: 0.1.0\n")
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "dummy-test-smoke",
                     "labels": {"app.kubernetes.io/instance": "dummy", "app.kubernetes.io/component": "smoke",
                                "lain.dev/kind": "test"},
                     "annotations": {"helm.sh/hook": "test", "kubesim.lain.dev/exit-code": exit_code,
                                     "kubesim.lain.dev/logs": "smoke test says hello"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "smoke", "image": "dummy:1"}]},
    }
    (chart / "templates" / "test.yaml").write_text(yaml.safe_dump(pod))
    return chart


@pytest.mark.parametrize(("exit_code", "verdict"), [("0", "GREEN"), ("1", "RED")])
def test_status_test_runs_helm_test(cluster, app, tmp_path, exit_code, verdict):
    healthy(cluster)
    cluster.helm("install", "dummy", str(_chart_with_tests(tmp_path, exit_code)))
    code, doc = status_json(app, "--test")
    assert doc["verdict"] == verdict, doc["reasons"]
    assert doc["tests"]["ran"] is True
    assert doc["tests"]["ok"] is (exit_code == "0")
    if exit_code == "0":
        assert code == 0 and doc["tests"]["failed"] == []
        assert any("smoke test says hello" in line for line in doc["tests"]["output"])
    else:
        assert code == 1 and doc["tests"]["failed"] == ["dummy-test-smoke"]
        assert "tests failed: dummy-test-smoke" in doc["reasons"]


# ---------------------------------------------------------------- the live panel in a real terminal

TMUX = shutil.which("tmux") or "/usr/bin/tmux"


def _pane(socket: str, target: str) -> str:
    return subprocess.run([TMUX, "-L", socket, "capture-pane", "-p", "-t", target],
                          capture_output=True, text=True).stdout


def _wait_screen(socket: str, target: str, predicate, what: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _pane(socket, target)
        if predicate(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


@pytest.mark.skipif(not Path(TMUX).exists(), reason="tmux is needed for the terminal test")
def test_the_live_panel_draws_updates_and_quits_on_q(cluster, app, tmp_path):
    healthy(cluster)
    socket = f"lain-status-{os.getpid()}-{tmp_path.name}"  # one tmux server per test, across xdist workers
    done = tmp_path / "exit-code"
    env_args = [arg for key, value in app.env.items() if key.startswith(("LAIN_", "HOME", "XDG_", "KUBE", "PATH",
                                                                          "NO_COLOR"))
                for arg in ("-e", f"{key}={value}")]
    script = f"cd {app.root} && {LAIN} --cluster sim status --exit-code; echo $? > {done}; sleep 30"
    subprocess.run([TMUX, "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "50",
                    *env_args, "-s", "panel", "sh", "-c", script], check=True)
    try:
        screen = _wait_screen(socket, "panel", lambda s: "GREEN" in s and "dummy-web-" in s and "/api" in s,
                              "the green panel")
        assert "q: quit" in screen and "http://dummy.example.com/api" in screen
        assert "procs" in screen and "worker" in screen
        cluster.sim.create(deployment("bad", knobs={"pull": "fail"}))
        screen = _wait_screen(socket, "panel", lambda s: "dummy-bad-" in s and "ImagePullBackOff" in s,
                              "the new failing pod")
        screen = _wait_screen(socket, "panel", lambda s: " RED " in s, "the verdict to turn RED")
        # one set of counts: the procs table says what the summary says
        assert re.search(r"^\s*bad\s+deployment\s+0/1\s+1/1\s+-\s+failed", screen, re.M), screen
        summary = app.run("--cluster", "sim", "status", "-s").stdout
        assert re.search(r"^  bad +deployment +0/1 ready +1/1 updated +failed$", summary, re.M), summary
        subprocess.run([TMUX, "-L", socket, "send-keys", "-t", "panel", "q"], check=True)
        deadline = time.monotonic() + 10
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.read_text().strip() == "1"
        stty = subprocess.run([TMUX, "-L", socket, "send-keys", "-t", "panel", "C-c"], capture_output=True)
        assert stty.returncode == 0
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


def counting_kubectl(tmp_path: Path, real: str) -> tuple[str, Path]:
    """A kubectl that notes each run (its subcommand) in a file, then is the real one."""
    calls = tmp_path / "kubectl-calls"
    wrapper = tmp_path / "bin" / "kubectl"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), calls


def test_a_big_release_is_scanned_with_a_few_kubectl_processes(cluster, app, tmp_path):
    """23 web pods and a worker: more than the scan reads, so it samples every proc (the
    worker's one pod included), and `lain status -s` still runs at most 3 kubectl
    processes: the LIST and the `kubectl proxy` the log reads go through."""
    cluster.sim.create(deployment("web", replicas=23, knobs={"logs": "listening on :5000"}))
    cluster.sim.create(deployment("worker"))
    wait_pods(cluster, "web", 23, is_ready, "23 ready web pods", timeout=60)
    wait_pods(cluster, "worker", 1, is_ready, "a ready worker")
    pod = pods_of(cluster, "worker")[0]["metadata"]["name"]
    cluster.sim.append_log(pod, "ERROR: lost the queue")
    app.env["LAIN_KUBECTL"], calls = counting_kubectl(tmp_path, app.env["LAIN_KUBECTL"])
    app.run("status", "-s")  # lain learns kubectl's version once, and caches it
    calls.write_text("")
    short = app.run("status", "-s")
    assert f"  [{pod}/worker] ERROR: lost the queue" in short.stdout.splitlines(), short.stdout + short.stderr
    runs = calls.read_text().splitlines()
    assert len(runs) <= 3, runs
    assert any(" proxy " in f" {r} " for r in runs), runs
