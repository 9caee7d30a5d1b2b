"""`lain logs` and `lain x` against the simulator, through the real lain, kubectl and exec."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

from tests.e2e.deployapp import AS_FROM_A_TERMINAL
from tests.e2e.statusapp import (
    LAIN,
    deployment,
    is_ready,
    job,
    make_app,
    phase,
    restarted,
    wait_pods,
)

pytestmark = pytest.mark.e2e

VALUES = {
    "deployments": {
        "web": {"replicaCount": 2, "containerPort": 5000},
        "crash": {"replicaCount": 1},
        "stuck": {"replicaCount": 1, "initContainers": [{"name": "setup", "command": ["true"]}]},
        "shonly": {"replicaCount": 1},
    },
    "jobs": {"init": {"command": ["echo", "migrated"]}},
}


@pytest.fixture
def app(cluster, tmp_path):
    return make_app(tmp_path, cluster, VALUES)


def test_logs_of_a_proc_with_two_pods_are_interleaved_with_a_prefix(cluster, app):
    cluster.sim.create(deployment("web", replicas=2, knobs={"logs": "booting\nlistening on :5000"}))
    pods = wait_pods(cluster, "web", 2, is_ready, "two ready web pods")
    result = app.run("-v", "logs", "web")
    assert result.returncode == 0, result.stderr
    for pod in pods:
        name = pod["metadata"]["name"]
        assert f"[pod/{name}/web] booting" in result.stdout
        assert f"[pod/{name}/web] listening on :5000" in result.stdout
    # one kubectl over both pods, by label selector
    argv = [ln for ln in result.stderr.splitlines() if " logs " in ln]
    assert len(argv) == 1
    # the selector reaches web's pods in lain's layout and in lain4's (a release taken over)
    assert ("--selector 'app.kubernetes.io/name=dummy,app.kubernetes.io/instance in "
            "(dummy,dummy-crash,dummy-shonly,dummy-stuck,dummy-web),app.kubernetes.io/component=web'") in argv[0]
    assert "--prefix=true" in argv[0] and "--tail=-1" in argv[0] and "--max-log-requests=5" in argv[0]

    limited = app.run("logs", "web", "--tail", "1", "--since", "1h")
    assert limited.returncode == 0, limited.stderr
    assert sorted(limited.stdout.splitlines()) == sorted(
        f"[pod/{p['metadata']['name']}/web] listening on :5000" for p in pods
    )


def test_logs_follow_prints_new_lines_of_every_pod(cluster, app):
    cluster.sim.create(deployment("web", replicas=2, knobs={"logs": "ready"}))
    pods = wait_pods(cluster, "web", 2, is_ready, "two ready web pods")
    follower = subprocess.Popen([*AS_FROM_A_TERMINAL, LAIN, "--cluster", "sim", "-v", "logs", "web", "-f"], cwd=app.root,
                                env=app.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    try:
        seen: list[str] = []
        assert follower.stdout is not None
        while sum("] ready" in ln for ln in seen) < 2:
            seen.append(follower.stdout.readline())
        for pod in pods:
            cluster.sim.append_log(pod["metadata"]["name"], f"late line from {pod['metadata']['name']}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum("late line" in ln for ln in seen) < 2:
            seen.append(follower.stdout.readline())
        for pod in pods:
            name = pod["metadata"]["name"]
            assert f"[pod/{name}/web] late line from {name}\n" in seen
    finally:
        os.killpg(follower.pid, signal.SIGINT)  # Ctrl-C reaches lain and kubectl alike
        _, err = follower.communicate(timeout=10)
    assert "--follow=true" in err


def test_logs_of_a_job(cluster, app):
    cluster.sim.create(job("init", knobs={"logs": "applying migration 0042\ndone"}))
    pods = wait_pods(cluster, "init", 1, phase("Succeeded"), "the job's pod to succeed")
    result = app.run("logs", "init")
    assert result.returncode == 0, result.stderr
    name = pods[0]["metadata"]["name"]
    assert result.stdout.splitlines() == [f"[pod/{name}/init] applying migration 0042", f"[pod/{name}/init] done"]
    # the object name works too
    assert app.run("logs", "dummy-init").stdout == result.stdout


def test_logs_previous_container_of_a_crash_looping_pod(cluster, app):
    cluster.sim.create(deployment("crash", knobs={"crash": "always", "logs": "Traceback: boom"}))
    pods = wait_pods(cluster, "crash", 1, restarted(2), "two restarts")
    name = pods[0]["metadata"]["name"]
    result = app.run("-v", "logs", "crash", "--previous")
    assert result.returncode == 0, result.stderr
    assert f"[pod/{name}/crash] Traceback: boom" in result.stdout
    assert re.search(rf"\[pod/{name}/crash\] kubesim: crash #\d+: exiting with code 1", result.stdout)
    assert "--previous=true" in result.stderr


def test_logs_of_a_pod_stuck_in_init_show_the_init_container(cluster, app):
    cluster.sim.create(deployment("stuck", init=["setup"],
                                  knobs={"duration": "60", "logs-setup": "waiting for database"}))

    def init_running(pod):
        statuses = (pod.get("status") or {}).get("initContainerStatuses") or []
        return any("running" in (s.get("state") or {}) for s in statuses)

    pods = wait_pods(cluster, "stuck", 1, init_running, "the init container to run")
    name = pods[0]["metadata"]["name"]
    result = app.run("-v", "logs", "stuck")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"[pod/{name}/setup] waiting for database"]
    assert f"{name} stuck: PodInitializing" in result.stderr
    assert "--container setup" in result.stderr


def test_logs_of_an_unknown_name_lists_what_exists(cluster, app):
    cluster.sim.create(deployment("web", replicas=1))
    wait_pods(cluster, "web", 1, is_ready, "a web pod")
    result = app.run("logs", "nope")
    assert result.returncode == 2
    assert "'nope' is not a proc, job or pod of dummy" in result.stderr
    assert "procs and jobs: crash, init, shonly, stuck, web" in result.stderr
    assert "dummy-web-" in result.stderr
    assert "Traceback" not in result.stderr


def test_logs_bad_since_is_a_usage_error(app):
    result = app.run("logs", "web", "--since", "yesterday")
    assert result.returncode == 2
    assert "--since 'yesterday' is not a duration" in result.stderr


def test_x_passes_stdout_through_and_argv_untouched(cluster, app):
    cluster.sim.create(deployment("web", replicas=2))
    wait_pods(cluster, "web", 2, is_ready, "two ready web pods")
    result = app.run("x", "--", "sh", "-c", "echo hi")
    assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr
    # argv reaches the container untouched: no shell in between
    quoted = app.run("x", "web", "--", "printf", "%s|", "a b", "$HOME", "'q'")
    assert quoted.returncode == 0, quoted.stderr
    assert quoted.stdout == "a b|$HOME|'q'|"


# kwok v0.8.0 cannot report a command's exit code: its exec hands the streaming server
# an os/exec error, not the ExitError that becomes NonZeroExitCode, so kubectl says
# "Internal error occurred ... exit status 3" and exits 1 (and can drop the command's
# last output).  A kubelet reports the code; the simulator does as the kubelet does.
@pytest.mark.backends("kubesim")
def test_x_passes_the_exit_code_through(cluster, app):
    cluster.sim.create(deployment("web", replicas=1))
    wait_pods(cluster, "web", 1, is_ready, "a ready web pod")
    result = app.run("x", "--", "sh", "-c", "echo hi; exit 3")
    assert "command terminated with exit code 3" in result.stderr, result.stderr
    assert result.stdout == "hi\n"
    assert result.returncode == 3
    child = _interactive(app)
    child.sendline('echo "shell=${BASH_VERSION:+bash}"; exit 4')
    child.expect("shell=bash")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


# kwok's exec can drop what a command wrote in the instant before it exited (its stream
# is closed as the process ends): the interactive shells below pause before `exit`.
def _interactive(app, *args: str) -> pexpect.spawn:
    env = dict(app.env, PS1="$ ", TERM="dumb")
    return pexpect.spawn(LAIN, ["--cluster", "sim", "x", *args], cwd=str(app.root), env=env,
                         encoding="utf-8", timeout=20, dimensions=(40, 120))


def test_x_opens_an_interactive_shell_on_a_terminal(cluster, app, tmp_path: Path):
    cluster.sim.create(deployment("web", replicas=1))
    wait_pods(cluster, "web", 1, is_ready, "a ready web pod")
    child = _interactive(app)
    child.sendline('echo "shell=${BASH_VERSION:+bash}"; sleep 0.3; exit 0')
    child.expect("shell=bash")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_x_falls_back_to_sh_without_bash(cluster, app, tmp_path: Path):
    only_sh = tmp_path / "bin"
    only_sh.mkdir()
    os.symlink("/bin/sh", only_sh / "sh")
    cluster.sim.create(deployment("shonly", replicas=1, env={"PATH": str(only_sh)}))
    wait_pods(cluster, "shonly", 1, is_ready, "a ready pod")
    child = _interactive(app, "shonly")
    child.sendline('echo "shell=${BASH_VERSION:-sh}"; /bin/sleep 0.3; exit 0')
    child.expect("shell=sh")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_x_asks_which_pod_on_a_terminal(cluster, app):
    cluster.sim.create(deployment("web", replicas=2))
    pods = wait_pods(cluster, "web", 2, is_ready, "two ready web pods")
    names = sorted(p["metadata"]["name"] for p in pods)
    child = _interactive(app, "web", "--", "printenv", "HOSTNAME")
    child.expect(r"pod \[1\]: ")
    child.sendline("2")
    child.expect(names[1])
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
