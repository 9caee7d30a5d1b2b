"""Exact argv of the release operations per helm major (no binaries run)."""

from __future__ import annotations

import json

import pytest

from lain_cli import helm
from lain_cli.errors import CommandFailed, ToolError

CLUSTER = ["--kubeconfig", "/k", "--namespace", "ns"]


def test_upgrade_helm3_waits_for_nothing_but_hooks() -> None:
    argv = helm.upgrade_argv("helm", 3, "dummy", "/c/dummy", cluster_args=CLUSTER, description="lain deploy by a, image r:1", timeout=90)
    assert argv == [
        "helm", "upgrade", "dummy", "/c/dummy", "--install", *CLUSTER, "--reset-values",
        "--description", "lain deploy by a, image r:1", "--timeout", "90s", "--history-max", "10",
    ]
    assert not any(a.startswith("--wait") or a == "--atomic" for a in argv)


def test_upgrade_helm4_keeps_hook_only_wait_and_server_side_default() -> None:
    argv = helm.upgrade_argv("helm", 4, "dummy", "/c/dummy", cluster_args=CLUSTER, timeout=300)
    assert argv == [
        "helm", "upgrade", "dummy", "/c/dummy", "--install", *CLUSTER, "--reset-values",
        "--timeout", "300s", "--history-max", "10", "--wait=hookOnly",
    ]
    assert not any(a.startswith("--server-side") for a in argv)


@pytest.mark.parametrize("major, tail", [(3, []), (4, ["--wait=hookOnly"])])
def test_upgrade_dry_run_is_the_server_dry_run_printing_the_release(major: int, tail: list[str]) -> None:
    argv = helm.upgrade_argv("helm", major, "dummy", "/c/dummy", cluster_args=CLUSTER, timeout=60, dry_run=True)
    assert argv == [
        "helm", "upgrade", "dummy", "/c/dummy", "--install", *CLUSTER, "--reset-values",
        "--timeout", "60s", "--history-max", "10", *tail, "--dry-run=server", "--output", "json",
    ]


def test_parse_dry_run_release() -> None:
    stdout = json.dumps({
        "name": "dummy", "version": 3, "manifest": "---\nkind: Deployment\n",
        "hooks": [{"name": "dummy-migrate", "kind": "Job", "events": ["pre-upgrade"], "manifest": "kind: Job\n"}],
    })
    found = helm.parse_dry_run(stdout)
    assert found == helm.DryRunRelease(3, "---\nkind: Deployment\n",
                                       (("dummy-migrate", ("pre-upgrade",), "kind: Job\n"),))
    with pytest.raises(CommandFailed, match="printed no release"):
        helm.parse_dry_run("[]")


@pytest.mark.parametrize("major, tail", [(3, []), (4, ["--wait=hookOnly"])])
def test_rollback(major: int, tail: list[str]) -> None:
    assert helm.rollback_argv("helm", major, "dummy", 3, cluster_args=CLUSTER, timeout=0.2) == [
        "helm", "rollback", "dummy", "3", *CLUSTER, "--timeout", "1s", "--history-max", "10", *tail,
    ]


@pytest.mark.parametrize("major", [3, 4])
def test_read_only_argv(major: int) -> None:
    assert helm.history_argv("helm", major, "dummy", cluster_args=CLUSTER) == [
        "helm", "history", "dummy", *CLUSTER, "--max", "256", "--output", "json"]
    assert helm.get_values_argv("helm", major, "dummy", cluster_args=CLUSTER, revision=2) == [
        "helm", "get", "values", "dummy", *CLUSTER, "--all", "--output", "json", "--revision", "2"]
    assert helm.get_manifest_argv("helm", major, "dummy", cluster_args=CLUSTER) == [
        "helm", "get", "manifest", "dummy", *CLUSTER]
    assert helm.get_manifest_argv("helm", major, "dummy", hooks=True, revision=1) == [
        "helm", "get", "hooks", "dummy", "--revision", "1"]


def test_unsupported_major() -> None:
    with pytest.raises(ToolError):
        helm.upgrade_argv("helm", 2, "r", "/c")


def test_release_not_found() -> None:
    assert helm.release_not_found("Error: release: not found\n")
    assert not helm.release_not_found("Error: Kubernetes cluster unreachable")
