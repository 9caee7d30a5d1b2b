"""`lain build`/`push`, `history --max`, `rollback REVISION`, and `logs`/`x` with the names
completion offers: end to end, the real lain, helm and kubectl on each backend."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deployapp import LAIN, REGISTRY, App, make_app
from tests.e2e.deployapp import with_changes as _with

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(tmp_path: Path, cluster: Any) -> App:
    return make_app(tmp_path, cluster)


def complete(app: App, words: str) -> list[str]:
    """What bash completion offers for the last word of ``words``."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**app.env, "_LAIN_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = subprocess.run([LAIN], cwd=app.root, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_build_push_then_deploy_the_same_image_without_building(app: App) -> None:
    app.write(_with(app, build={"base": "python:3.12-slim", "script": ["pip install ."],
                                "args": {"PIP_INDEX_URL": "https://pypi.example/simple"}}))
    image = f"{REGISTRY}/dummy:{app.head()}"
    env = {**app.env, "NPM_TOKEN": "s3cret-token"}
    result = subprocess.run([LAIN, "-v", "--json", "build", "--push", "--build-arg", "NPM_TOKEN"], cwd=app.root,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"image": image, "dockerfile": "generated",
                                         "buildArgs": ["NPM_TOKEN", "PIP_INDEX_URL"], "pushed": True}
    build, push = app.docker_calls()
    assert build.startswith(f"build --tag {image} --file ")
    assert "--build-arg NPM_TOKEN --build-arg PIP_INDEX_URL=https://pypi.example/simple" in build
    assert push == f"push {image}"
    # the token only reaches docker through the environment: never printed
    assert "s3cret-token" not in result.stdout + result.stderr + build
    assert f"docker build {image} (build args: NPM_TOKEN, PIP_INDEX_URL)" in result.stderr
    # CI builds once and deploys what it built: deploy does not build again
    app.lain("deploy", "--timeout", "60s", check=0)
    assert len(app.docker_calls()) == 2
    assert app.image("web") == image
    # lain push pushes the same image again
    pushed = app.lain("--json", "push", check=0)
    assert json.loads(pushed.stdout) == {"image": image, "pushed": True}
    assert app.docker_calls()[-1] == f"push {image}"


def test_build_and_push_fail_fast_with_the_cause(app: App, tmp_path: Path) -> None:
    missing = app.lain("build", "--build-arg", "NOT_SET_ANYWHERE", check=2)
    assert "--build-arg NOT_SET_ANYWHERE takes its value from the environment" in missing.stderr
    assert app.docker_calls() == []
    # no registry to push to: refused before docker runs
    clusters_dir = Path(app.env["LAIN_CLUSTERS_DIR"])
    cluster_file = yaml.safe_load((clusters_dir / "sim.yaml").read_text())
    (clusters_dir / "bare.yaml").write_text(yaml.safe_dump({k: v for k, v in cluster_file.items()
                                                            if k != "registry"}))
    for args in (["--cluster", "bare", "build", "--push"], ["--cluster", "bare", "push"]):
        refused = app.lain(*args, check=2)
        assert "cluster bare has no registry to push to" in refused.stderr
    assert app.docker_calls() == []
    # docker itself fails: exit 1, its last lines shown
    docker = Path(app.env["PATH"].split(os.pathsep)[0]) / "docker"
    docker.write_text('#!/bin/sh\necho "denied: requested access to the resource is denied"\nexit 1\n')
    failed = app.lain("push", check=1)
    assert "error: docker push failed (exit 1)" in failed.stderr
    assert "denied: requested access to the resource is denied" in failed.stderr


def test_history_max_and_rollback_to_a_positional_revision(app: App) -> None:
    for replicas in (1, 2, 3):
        app.write(_with(app, deployments__web__replicaCount=replicas))
        app.lain("deploy", "--timeout", "60s", check=0)
    rows = json.loads(app.lain("--json", "history", "--max", "2", check=0).stdout)
    assert [r["revision"] for r in rows] == [3, 2]
    table = app.lain("history", "--max", "1", check=0).stdout.splitlines()
    assert len(table) == 2 and table[1].split()[0] == "3"
    assert "--max" in app.lain("history", "--max", "0", check=2).stderr

    back = app.lain("rollback", "1", "--timeout", "60s", check=0)
    assert "to revision 1" in back.stderr
    assert app.replicas("web") == 1
    assert app.history()[-1]["status"] == "deployed" and len(app.history()) == 4
    unknown = app.lain("rollback", "9", check=2)
    assert "release dummy has no revision 9" in unknown.stderr
    assert "two revisions given: 2 and --revision 3" in app.lain("rollback", "2", "--revision", "3",
                                                                  check=2).stderr


def test_history_of_an_app_never_deployed_is_exit_1(app: App) -> None:
    result = app.lain("history", check=1)
    assert "release dummy is not installed on sim" in result.stderr


def test_logs_and_x_take_the_names_completion_offers(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_with(app, deployments__web__replicaCount=1))
    app.lain("deploy", "--timeout", "60s", check=0)  # an upgrade: the migrate hook job runs
    targets = complete(app, "lain logs ")
    assert targets == ["web", "worker", "migrate"]
    logs = app.lain("logs", "migrate", check=0)
    assert "migrations done" in logs.stdout
    for proc in ("web", "worker"):
        app.lain("logs", proc, check=0)
    assert complete(app, "lain x w") == ["web", "worker"]
    for proc in complete(app, "lain x "):
        result = app.lain("x", proc, "--", "sh", "-c", "echo hi from $0", check=0)
        assert result.stdout.startswith("hi from"), result.stderr
    unknown = app.lain("logs", "nosuchjob", check=2)
    assert "nosuchjob" in unknown.stderr and "migrate" in unknown.stderr
    assert app.lain("x", "nosuchproc", "--", "true", check=2).returncode == 2
