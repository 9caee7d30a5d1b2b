"""An app directory for deploy end-to-end tests: a git repo with chart/values.yaml,
a cluster file pointing at the simulator, a recording fake ``docker`` on PATH, and
the real ``lain`` run as a subprocess with the helm/kubectl of the major under test."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
LAIN = str(Path(sys.prefix) / "bin" / "lain")
REGISTRY = "registry.example.com/team"

FAKE_DOCKER = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
echo "fake docker: $1 done"
"""


# Run lain the way a terminal does: with Ctrl-C (SIGINT) at its default disposition.  A
# test runner started in the background by a non-interactive shell has SIGINT ignored,
# children inherit that, and a program that finds SIGINT ignored rightly keeps it so.
AS_FROM_A_TERMINAL = [sys.executable, "-c",
                      "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                      "os.execv(sys.argv[1], sys.argv[1:])"]


def tool(name: str) -> str:
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    return str(REPO / ".venv" / "tools" / f"helm{major}" / name)


def base_values() -> dict[str, Any]:
    return {
        "appname": "dummy",
        "deployments": {
            "web": {"replicaCount": 2, "containerPort": 5000},
            "worker": {"replicaCount": 1, "command": ["python", "worker.py"]},
        },
        "jobs": {
            "migrate": {
                "annotations": {
                    "helm.sh/hook": "pre-upgrade",
                    "helm.sh/hook-delete-policy": "before-hook-creation",
                },
                "backoffLimit": 0,
                "command": ["sh", "-c", "alembic upgrade heads"],
                "podAnnotations": {"kubesim.lain.dev/logs": "migrating 001_init\nmigrating 002_users\nmigrations done"},
            }
        },
    }


@dataclass
class App:
    root: Path
    cluster: Any
    env: dict[str, str]
    docker_log: Path
    values: dict[str, Any] = field(default_factory=base_values)

    def write(self, values: dict[str, Any] | None = None, commit: bool = True) -> None:
        if values is not None:
            self.values = values
        (self.root / "chart" / "values.yaml").write_text(yaml.safe_dump(self.values, sort_keys=False))
        if commit:
            self.git("add", "-A")
            self.git("commit", "-q", "--allow-empty", "-m", f"change {time.monotonic()}")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.root), *args], check=True, capture_output=True, text=True, env=self.env
        ).stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "--short", "HEAD")

    def lain(self, *args: str, timeout: float = 90, check: int | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [LAIN, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check is not None:
            assert result.returncode == check, (
                f"lain {' '.join(args)} exited {result.returncode}, wanted {check}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def popen(self, *args: str, new_session: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*AS_FROM_A_TERMINAL, LAIN, *args], cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=new_session,
        )

    def history(self) -> list[dict[str, Any]]:
        out = self.cluster.helm("history", "dummy", "--output", "json").stdout
        return json.loads(out)

    def deployment(self, proc: str) -> dict[str, Any]:
        obj = self.cluster.sim.get("deployments", f"dummy-{proc}")
        assert obj is not None, f"no Deployment dummy-{proc}"
        return obj

    def image(self, proc: str) -> str:
        return self.deployment(proc)["spec"]["template"]["spec"]["containers"][0]["image"]

    def replicas(self, proc: str) -> int:
        return int(self.deployment(proc)["spec"]["replicas"])

    def docker_calls(self) -> list[str]:
        return self.docker_log.read_text().splitlines() if self.docker_log.exists() else []


def with_changes(app: App, **changes: object) -> dict[str, Any]:
    """A copy of the app's values with ``a__b__c=value`` set (``a.b.c``), for ``app.write``."""
    values = copy.deepcopy(app.values)
    for path, value in changes.items():
        node = values
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return values


def finish(running: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """The output of a lain started with ``app.popen``, once it exits (killed after ``timeout``)."""
    try:
        return running.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        running.kill()
        out, err = running.communicate()
        raise AssertionError(f"lain did not finish in {timeout}s\nstdout:\n{out}\nstderr:\n{err}") from None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children...)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def cmdline(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def wait_for_helm(pid: int, timeout: float = 30) -> int:
    """The pid of the helm upgrade/rollback that the lain ``pid`` started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in descendants(pid):
            cmd = cmdline(child)
            if cmd and cmd[0].endswith(b"/helm") and (b"upgrade" in cmd or b"rollback" in cmd):
                return child
        time.sleep(0.05)
    raise AssertionError("lain never started helm")


def wait_for_hook_pod(app: App, timeout: float = 30) -> None:
    """Until a pod of the migrate hook (not one being deleted) runs."""
    def running() -> bool:
        pods = app.cluster.sim.list("pods", selector="app.kubernetes.io/component=migrate")
        return any(p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
                   for p in pods)

    app.cluster.sim.wait_for(running, timeout=timeout, message="the hook pod to run")


def make_app(tmp_path: Path, cluster: Any, webhook: dict[str, Any] | None = None) -> App:
    root = tmp_path / "app"
    (root / "chart").mkdir(parents=True)
    clusters_dir = tmp_path / "clusters"
    clusters_dir.mkdir()
    cluster_file: dict[str, Any] = {
        "kubeconfig": str(cluster.kubeconfig),
        "namespace": cluster.namespace,
        "registry": REGISTRY,
        "domain": "example.com",
    }
    if webhook:
        cluster_file["webhook"] = webhook
    (clusters_dir / "sim.yaml").write_text(yaml.safe_dump(cluster_file))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    env = dict(os.environ)
    env.update(
        LAIN_CLUSTERS_DIR=str(clusters_dir),
        LAIN_CLUSTER="sim",
        LAIN_HELM=tool("helm"),
        LAIN_KUBECTL=tool("kubectl"),
        PATH=f"{bin_dir}:{env.get('PATH', '')}",
        FAKE_DOCKER_LOG=str(tmp_path / "docker.log"),
        NO_COLOR="1",
        GIT_AUTHOR_NAME="alice",
        GIT_AUTHOR_EMAIL="alice@example.com",
        GIT_COMMITTER_NAME="alice",
        GIT_COMMITTER_EMAIL="alice@example.com",
        LAIN_WEBHOOK_TIMEOUT="5",
    )
    app = App(root, cluster, env, tmp_path / "docker.log")
    app.git("init", "-q")
    app.git("config", "user.name", "alice")
    app.git("config", "user.email", "alice@example.com")
    app.write()
    return app

