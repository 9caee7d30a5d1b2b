"""The release engine under real-cluster timing: verdicts kept with the release,
signals, locks, one deadline, a lost cluster.  The real lain, helm and kubectl,
on both backends."""

from __future__ import annotations

import copy
import json
import os
import signal
import time
from pathlib import Path

import pexpect
import pytest
import yaml

from tests.e2e.deployapp import (
    AS_FROM_A_TERMINAL,
    LAIN,
    REGISTRY,
    App,
    cmdline,
    descendants,
    make_app,
    wait_for_helm,
    wait_for_hook_pod,
)
from tests.e2e.deployapp import finish as _finish
from tests.e2e.deployapp import with_changes as _with
from tests.tcpproxy import TcpProxy, point_kubeconfig_at
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(tmp_path: Path, cluster: object) -> App:
    return make_app(tmp_path, cluster)



def _slow_hook(app: App, seconds: int = 60) -> dict:
    return _with(app, jobs__migrate__podAnnotations={"kubesim.lain.dev/duration": str(seconds)})


def _without_hook_knobs(app: App) -> dict:
    return _with(app, jobs__migrate__podAnnotations={})



def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


def _rows(app: App) -> list[dict]:
    return json.loads(app.lain("--json", "history", check=0).stdout)


# ---------------------------------------------------------------- verdicts kept with the release


def test_rollback_goes_back_past_revisions_whose_rollout_failed(app: App) -> None:
    app.lain("deploy", "--set", "imageTag=aaa", "--timeout", "60s", check=0)
    app.write(_with(app, deployments__web__imageTag="notfound"))
    app.lain("deploy", "--set", "imageTag=bbb", "--timeout", "60s", check=1)
    app.write(_with(app, deployments__web__imageTag=None,
                    deployments__worker__podAnnotations={"kubesim.lain.dev/crash": "always"}))
    app.lain("deploy", "--set", "imageTag=ccc", "--timeout", "60s", check=1)
    # helm recorded both failed rollouts as applied; lain knows better
    assert [h["status"] for h in app.history()] == ["superseded", "superseded", "deployed"]

    back = app.lain("rollback", "--timeout", "60s", check=0)
    assert "to revision 1 (registry.example.com/team/dummy:aaa), the last one that rolled out; " \
           "skipped revision 2: rollout failed" in back.stderr
    assert app.image("web").endswith(":aaa") and app.image("worker").endswith(":aaa")
    rows = _rows(app)
    assert [(r["revision"], r["rollout"]) for r in rows] == [(4, "ready"), (3, "failed"), (2, "failed"), (1, "ready")]
    assert rows[0]["action"] == "rollback" and rows[0]["rollbackTo"] == 1 and rows[0]["user"] == "alice"
    assert rows[1]["rolloutDetail"].startswith("worker ") and rows[2]["rolloutDetail"].startswith("web ")
    table = app.lain("history", check=0).stdout.splitlines()
    assert table[0].split() == ["REVISION", "UPDATED", "STATUS", "ROLLOUT", "BY", "IMAGE", "NOTE"]
    assert " ready " in table[1] and "rollback to 1" in table[1] and " alice " in table[1]
    assert " failed " in table[2] and "deploy: worker" in table[2]


def test_rollback_on_failure_never_picks_a_revision_whose_rollout_failed(app: App) -> None:
    app.lain("deploy", "--set", "imageTag=aaa", "--timeout", "60s", check=0)
    app.write(_with(app, deployments__web__imageTag="notfound"))
    app.lain("deploy", "--set", "imageTag=bbb", "--timeout", "60s", check=1)
    app.write(_with(app, deployments__web__imageTag=None,
                    deployments__worker__podAnnotations={"kubesim.lain.dev/crash": "always"}))
    result = app.lain("deploy", "--set", "imageTag=ccc", "--rollback-on-failure", "--timeout", "90s", check=1)
    assert "rolling back to revision 1, the last one that rolled out; skipped revision 2: rollout failed" \
           in result.stderr
    assert app.image("worker").endswith(":aaa")


def test_a_hook_failure_is_recorded_with_who_what_and_why(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_with(app, jobs__migrate__podAnnotations={"kubesim.lain.dev/exit-code": "3"}))
    app.lain("deploy", "--timeout", "60s", check=1)
    [failed] = [r for r in _rows(app) if r["status"] == "failed"]
    assert failed["user"] == "alice" and failed["image"] == f"{REGISTRY}/dummy:{app.head()}"
    assert (failed["rollout"], failed["rolloutDetail"]) == ("hook-failed", "job dummy-migrate BackoffLimitExceeded")
    line = next(ln for ln in app.lain("history", check=0).stdout.splitlines() if " failed " in ln)
    assert "hook failed" in line and "alice" in line and "dummy-migrate BackoffLimitExceeded" in line
    assert "context canceled" not in line


def test_a_healthy_deploy_right_after_a_failed_migration_is_not_judged_by_its_pod(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    good = copy.deepcopy(app.values)
    app.write(_with(app, jobs__migrate__podAnnotations={"kubesim.lain.dev/exit-code": "1",
                                                        "kubesim.lain.dev/logs": "ERROR: boom"}))
    bad = app.lain("deploy", "--timeout", "60s", check=1)
    assert "hook job dummy-migrate failed: BackoffLimitExceeded" in bad.stderr and "ERROR: boom" in bad.stderr
    app.write(good)
    # at once: the failed Job's pod is still there while the new run's Job replaces it
    healthy = app.lain("deploy", "--timeout", "60s", check=0)
    assert "hook job dummy-migrate failed" not in healthy.stderr and "aborted" not in healthy.stderr
    assert app.history()[-1]["status"] == "deployed"
    assert _rows(app)[0]["rollout"] == "ready"


# ---------------------------------------------------------------- the exit code is the outcome's


def _red_after_rollout(app: App) -> dict:
    return _with(app, deployments__web__podAnnotations={
        "kubesim.lain.dev/logs": "Traceback (most recent call last):\nKeyError: 'x'"})


def test_the_exit_code_does_not_depend_on_the_terminal(app: App, tmp_path: Path) -> None:
    app.write(_red_after_rollout(app))
    plain = app.lain("deploy", "--timeout", "60s", check=1)
    assert "verdict: RED" in plain.stdout and "green light is red" in plain.stderr

    app.write(_with(app, deployments__web__replicaCount=3))
    child = pexpect.spawn(AS_FROM_A_TERMINAL[0], [*AS_FROM_A_TERMINAL[1:], LAIN, "deploy", "--timeout", "60s"],
                          cwd=str(app.root), env={**app.env, "TERM": "xterm"}, encoding="utf-8", timeout=90,
                          dimensions=(40, 140))
    child.expect("green light is red")
    child.expect("opening the live panel: q leaves it; lain then exits 1")
    child.expect("q: quit")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_no_panel_at_a_terminal_returns_at_once(app: App) -> None:
    child = pexpect.spawn(AS_FROM_A_TERMINAL[0], [*AS_FROM_A_TERMINAL[1:], LAIN, "deploy", "--no-panel",
                                                  "--timeout", "60s"],
                          cwd=str(app.root), env={**app.env, "TERM": "xterm"}, encoding="utf-8", timeout=90)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "live panel" not in (child.before or "")


# ---------------------------------------------------------------- signals


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_during_a_hook_stops_helm_cleanly_and_says_so(tmp_path: Path, cluster: object,
                                                               sig: signal.Signals) -> None:
    with WebhookReceiver() as receiver:
        app = make_app(tmp_path, cluster, webhook={"url": receiver.url("/hook"), "provider": "generic"})
        app.lain("deploy", "--timeout", "60s", check=0)
        app.write(_slow_hook(app))
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        app.env["TMPDIR"] = str(tmp)
        running = app.popen("deploy", "--timeout", "120s")
        helm = wait_for_helm(running.pid)
        wait_for_hook_pod(app)
        kubectls = [c for c in descendants(running.pid) if cmdline(c)[0].endswith(b"/kubectl")]
        assert kubectls, "lain follows the hook with kubectl"
        running.send_signal(sig)
        _out, err = _finish(running)
        assert running.returncode == 128 + sig, err
        name = "SIGTERM" if sig == signal.SIGTERM else "SIGHUP"
        assert f"interrupted ({name}): helm stopped cleanly" in err
        assert "release dummy is now failed (revision 2)" in err
        assert "the cluster still runs revision 1" in err
        assert not _alive(helm), "helm was waited for"
        assert not any(_alive(pid) for pid in kubectls), "no kubectl outlives lain"
        assert list(tmp.iterdir()) == [], "the staged chart is removed"
        time.sleep(2)  # helm, had it gone on, would have finished the upgrade by now
        assert app.history()[-1]["status"] == "failed"
        kinds = [r.json["kind"] for r in receiver.requests]
        assert kinds[-2:] == ["deploy-start", "deploy-failure"]
        assert f"interrupted ({name})" in receiver.requests[-1].json["text"]


def test_sigterm_while_tracking_leaves_the_rollout_unconfirmed(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_with(app, deployments__web__podAnnotations={"kubesim.lain.dev/ready": "never"}))
    running = app.popen("deploy", "--timeout", "120s")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(r["status"] == "deployed" and r["revision"] == 2 for r in app.history()):
            break
        time.sleep(0.2)
    time.sleep(1)
    running.send_signal(signal.SIGTERM)
    _out, err = _finish(running)
    assert running.returncode == 143, err
    assert "interrupted (SIGTERM): release dummy is deployed, its rollout unconfirmed" in err
    assert _rows(app)[0]["rollout"] == "unconfirmed"


def test_ctrl_c_ends_logs_follow_with_130(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    running = app.popen("logs", "web", "-f")
    time.sleep(2)
    running.send_signal(signal.SIGINT)
    _out, err = _finish(running, timeout=30)
    assert running.returncode == 130, err


# ---------------------------------------------------------------- locks


def test_force_unlock_is_refused_while_another_deploy_runs(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_slow_hook(app, 8))
    first = app.popen("deploy", "--timeout", "120s")
    wait_for_helm(first.pid)
    second = app.lain("deploy", "--force-unlock", "--timeout", "60s", check=1)
    assert "another deploy is in progress: release dummy is locked by alice (lain deploy, pid" in second.stderr
    assert "unlocked" not in second.stderr
    _out, err = _finish(first)
    assert first.returncode == 0, err
    statuses = [h["status"] for h in app.history()]
    assert statuses == ["superseded", "deployed"], statuses


def test_two_deploys_at_the_same_moment_one_wins_the_other_says_so(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_slow_hook(app, 3))
    racers = [app.popen("deploy", "--timeout", "120s") for _ in range(2)]
    results = [(_finish(r), r.returncode) for r in racers]
    codes = sorted(code for _, code in results)
    assert codes == [0, 1], results
    [(_, loser_err)] = [(out, err) for (out, err), code in results if code == 1]
    assert "another deploy is in progress" in loser_err
    assert "[dummy-migrate]" not in loser_err and "already exists" not in loser_err
    assert [h["status"] for h in app.history()] == ["superseded", "deployed"]


# ---------------------------------------------------------------- one deadline, a lost cluster


def _through_proxy(app: App, tmp_path: Path, proxy: TcpProxy) -> None:
    kubeconfig = tmp_path / "proxied-kubeconfig"
    kubeconfig.write_text(Path(app.cluster.kubeconfig).read_text())
    point_kubeconfig_at(str(kubeconfig), proxy.url)
    cluster_file = Path(app.env["LAIN_CLUSTERS_DIR"]) / "sim.yaml"
    doc = yaml.safe_load(cluster_file.read_text())
    doc["kubeconfig"] = str(kubeconfig)
    cluster_file.write_text(yaml.safe_dump(doc))


def test_timeout_bounds_the_command_against_a_cluster_that_never_answers(app: App, tmp_path: Path) -> None:
    with TcpProxy(app.cluster.url) as proxy:
        _through_proxy(app, tmp_path, proxy)
        proxy.black_hole()
        started = time.monotonic()
        result = app.lain("deploy", "--timeout", "6s", check=1)
        took = time.monotonic() - started
    assert took < 20, result.stderr
    assert "did not answer" in result.stderr and "sim" in result.stderr
    assert "waiting for" in result.stderr  # said within seconds, not silent
    assert "Traceback" not in result.stderr


def test_a_cluster_lost_during_a_hook_is_one_error_line_within_seconds(app: App, tmp_path: Path) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_slow_hook(app))
    with TcpProxy(app.cluster.url) as proxy:
        _through_proxy(app, tmp_path, proxy)
        running = app.popen("deploy", "--timeout", "120s")
        wait_for_helm(running.pid)
        wait_for_hook_pod(app)
        time.sleep(1)
        cut = time.monotonic()
        proxy.cut()
        _out, err = _finish(running, timeout=90)
        took = time.monotonic() - cut
    assert running.returncode == 1, err
    assert took < 45, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "lost cluster sim while helm upgrade --install ran" in errors[0], err
    assert "reflector.go" not in err and "Failed to watch" not in err


# ---------------------------------------------------------------- --json


def test_json_failure_details_are_whole(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_with(app, deployments__worker__podAnnotations={
        "kubesim.lain.dev/crash": "always", "kubesim.lain.dev/logs": "Traceback: KeyError 'DATABASE_URL'"}))
    doc = json.loads(app.lain("--json", "deploy", "--timeout", "60s", check=1).stdout)
    failure = doc["events"][-1]
    assert failure["kind"] == "deploy-failure"
    details = failure["details"]
    assert details[0].startswith("Deployment dummy-worker failed")
    assert not details[-1].endswith(":"), details
    assert any("KeyError 'DATABASE_URL'" in line for line in details), details

