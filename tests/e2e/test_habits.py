"""helm and kubectl habits, end to end: global options anywhere, one --json, -n and
--kube-context, the first line naming where a command acts, the context pinned by
`lain use`, and template/lint/diff before the first commit."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deployapp import App, make_app

pytestmark = pytest.mark.e2e

FIRST_LINE = re.compile(r"^(?:\d\d:\d\d:\d\d )?» cluster (\S+) · context (.+) · namespace (.+)$")


@pytest.fixture
def app(tmp_path: Path, cluster: Any) -> App:
    return make_app(tmp_path, cluster)


def first_line(stderr: str) -> tuple[str, str, str]:
    line = stderr.splitlines()[0] if stderr else ""
    match = FIRST_LINE.match(line)
    assert match, f"the first line does not name cluster, context and namespace: {line!r}\n{stderr}"
    return match.group(1), match.group(2), match.group(3)


def test_the_issues_commands_take_global_options_after_the_command(app: App) -> None:
    (app.root / "chart" / "values-dev.yaml").write_text("deployments:\n  web:\n    replicaCount: 3\n")
    app.git("add", "-A")
    app.git("commit", "-q", "-m", "values-dev")
    result = app.lain("deploy", "--cluster", "sim", "-f", "chart/values-dev.yaml", "--json", "--timeout", "60s",
                      check=0)
    doc = json.loads(result.stdout)
    assert doc["result"] == "succeeded"
    assert app.replicas("web") == 3
    status = app.lain("status", "--json", check=0)
    report = json.loads(status.stdout)
    assert report["verdict"] == "GREEN"
    assert report["release"] == "dummy"


def test_every_command_that_talks_to_the_cluster_names_it_first(app: App) -> None:
    ns = app.cluster.namespace
    deployed = app.lain("deploy", "--timeout", "60s", check=0)
    for result in (
        deployed,
        app.lain("status", "-s", check=0),
        app.lain("history", check=0),
        app.lain("env", "show", check=0),
        app.lain("logs", "web", "--tail", "1", check=0),
        app.lain("diff"),
        app.lain("wait", "--timeout", "30s", check=0),
    ):
        cluster, context, namespace = first_line(result.stderr)
        assert (cluster, namespace) == ("sim", ns)
        assert context.endswith("(kubectl's current)"), context
    # commands that never talk to the cluster do not claim to
    assert not FIRST_LINE.match(app.lain("lint", check=0).stderr.splitlines()[0])


def test_namespace_and_kube_context_override_the_cluster_file(app: App) -> None:
    other = f"{app.cluster.namespace}-other"
    app.cluster.kubectl("create", "namespace", other)
    try:
        result = app.lain("deploy", "-n", other, "--timeout", "60s", check=0)
        assert first_line(result.stderr)[2] == f"{other} (-n)"
        assert app.cluster.sim.get("deployments", "dummy-web", namespace=other) is not None
        assert app.cluster.sim.get("deployments", "dummy-web", namespace=app.cluster.namespace) is None
    finally:
        app.cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)
    # a context that leads nowhere: the first line names it, and the command fails on it
    add_context(app.cluster.kubeconfig, "elsewhere", "https://127.0.0.1:1")
    broken = app.lain("status", "-s", "--kube-context", "elsewhere")
    assert broken.returncode == 1, broken.stderr
    assert first_line(broken.stderr)[1] == "elsewhere (--kube-context)"


def test_lain_use_pins_the_context_and_warns_when_kubectl_moves(app: App) -> None:
    env = {k: v for k, v in app.env.items() if k != "LAIN_CLUSTER"}
    app.env = env
    app.lain("use", "sim", check=0)
    app.lain("deploy", "--timeout", "60s", check=0)
    pinned = current_context(app.cluster.kubeconfig)
    add_context(app.cluster.kubeconfig, "elsewhere", "https://127.0.0.1:1")
    switch_context(app.cluster.kubeconfig, "elsewhere")  # kubectl config use-context elsewhere
    result = app.lain("status", "-s", check=0)
    assert "verdict: GREEN" in result.stdout
    assert first_line(result.stderr)[1] == f"{pinned} (pinned by lain use)"
    assert (f"kubectl's current context is now elsewhere; lain stays on {pinned}, pinned by `lain use sim`"
            in result.stderr)


def test_template_lint_and_diff_work_before_the_first_commit_and_deploy_refuses(tmp_path: Path,
                                                                                cluster: Any) -> None:
    app = make_app(tmp_path, cluster)
    shutil.rmtree(app.root / ".git")
    placeholder = "no git commit yet: images are tagged 'uncommitted', a placeholder"
    template = app.lain("template", check=0)
    assert "image: \"registry.example.com/team/dummy:uncommitted\"" in template.stdout
    assert placeholder in template.stderr
    assert placeholder in app.lain("lint", check=0).stderr
    diff = app.lain("diff", check=2)
    assert placeholder in diff.stderr and "dummy:uncommitted" in diff.stdout
    deploy = app.lain("deploy", check=2)
    assert "is not a git repository with a commit" in deploy.stderr
    # the dry run shows what deploy would do, its refusal included
    assert "is not a git repository with a commit" in app.lain("deploy", "--dry-run", check=2).stderr
    assert app.cluster.sim.get("deployments", "dummy-web") is None


def _config(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def current_context(path: Path) -> str:
    return str(_config(path)["current-context"])


def add_context(path: Path, name: str, server: str) -> None:
    config = _config(path)
    config["clusters"].append({"name": name, "cluster": {"server": server}})
    user = config["contexts"][0]["context"].get("user")
    config["contexts"].append({"name": name, "context": {"cluster": name, "user": user}})
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def switch_context(path: Path, name: str) -> None:
    config = _config(path)
    config["current-context"] = name
    path.write_text(yaml.safe_dump(config, sort_keys=False))

