"""`lain version`: local tools, unsupported ones, and the cluster (against the simulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lain_cli import __version__, versions

LAIN = str(Path(sys.prefix) / "bin" / "lain")


def tool(name: str) -> str:
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    pinned = Path(__file__).resolve().parent.parent / ".venv" / "tools" / f"helm{major}" / name
    return str(pinned) if pinned.exists() else str(Path(sys.prefix) / "bin" / name)


def fake_tool(tmp_path: Path, name: str, text: str, real: str | None = None) -> str:
    """A ``name`` that prints ``text`` for its own version and hands anything else to ``real``."""
    path = tmp_path / "fakebin" / name
    path.parent.mkdir(exist_ok=True)
    passthrough = f'exec {real} "$@"' if real else "exit 1"
    path.write_text(
        "#!/bin/sh\n"
        f'case "$*" in "version --short"|"version --client"*) printf \'%s\\n\' \'{text}\' ;; *) {passthrough} ;; esac\n'
    )
    path.chmod(0o755)
    return str(path)


def lain(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "LAIN_HELM": tool("helm"), "LAIN_KUBECTL": tool("kubectl"), **env}
    return subprocess.run([LAIN, *args], capture_output=True, text=True, timeout=60, env=full)


def test_client_versions() -> None:
    result = lain("version", "--client")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["lain", __version__]
    assert lines[1].startswith("helm") and tool("helm") in lines[1]
    assert lines[2].startswith("kubectl") and tool("kubectl") in lines[2]
    assert "warning" not in result.stderr


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("v3.12.3+g3a31588", "helm v3.12.3 at {path} is too old; lain needs helm 3.17 or newer"),
        ("v5.0.0+gabcdef0", "helm v5.0.0 at {path} is not supported (lain supports helm 3.17+ and 4.x)"),
    ],
)
def test_unsupported_helm_is_shown_and_warned_about(tmp_path: Path, text: str, warning: str) -> None:
    helm = fake_tool(tmp_path, "helm", text)
    result = lain("version", "--client", LAIN_HELM=helm)
    assert result.returncode == 0, result.stderr
    version = text.split("+")[0]
    assert f"helm     {version} ({helm}) - unsupported" in result.stdout
    assert warning.format(path=helm) in result.stderr


def test_missing_kubectl_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    result = lain("--json", "version", "--client", LAIN_KUBECTL=str(tmp_path / "nope"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kubectl"] is None and report["helm"]
    assert any("LAIN_KUBECTL" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("kubectl", "server", "expected"),
    [
        ((1, 34, 5), "v1.34.1", []),
        ((1, 33, 0), "v1.34.1", []),
        ((1, 36, 3), "v1.34.1", ["differ by more than one minor version"]),
        ((1, 31, 0), "v1.34.1", ["differ by more than one minor version"]),
        ((1, 29, 0), "v1.29.4-gke.100", ["older than lain supports (Kubernetes 1.30+)"]),
        ((1, 34, 0), "weird", ["cannot read the cluster's version 'weird'"]),
    ],
)
def test_cluster_warnings(kubectl: tuple[int, int, int], server: str, expected: list[str]) -> None:
    warnings = versions.cluster_warnings(kubectl, server)
    assert len(warnings) == len(expected)
    for warning, text in zip(warnings, expected, strict=True):
        assert text in warning


# ---------------------------------------------------------------- against the simulator


def write_cluster(tmp_path: Path, kubeconfig: str) -> dict[str, str]:
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    (clusters / "sim.yaml").write_text(yaml.safe_dump({"kubeconfig": kubeconfig, "namespace": "default"}))
    return {"LAIN_CLUSTERS_DIR": str(clusters), "LAIN_CLUSTER": "sim"}


def server_version(cluster) -> str:  # type: ignore[no-untyped-def]
    """What the backend's API server says it is (kubesim v1.34.1, the real control plane v1.34.4)."""
    return str(json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"])


@pytest.mark.e2e
def test_cluster_version_from_the_cluster(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    version = server_version(cluster)
    assert version.startswith("v1.34.")
    result = lain("--json", "version", **write_cluster(tmp_path, str(cluster.kubeconfig)))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["cluster"] == {"name": "sim", "version": version, "reachable": True}
    # the pinned kubectl (1.34 for helm 3, 1.36 for helm 4) is within or beyond one minor of 1.34
    kubectl_minor = int(report["kubectl"].split(".")[1])
    skewed = [w for w in report["warnings"] if "differ by more than one minor version" in w]
    assert bool(skewed) == (abs(kubectl_minor - 34) > 1)

    (tmp_path / "plain").mkdir()
    plain = lain("version", **write_cluster(tmp_path / "plain", str(cluster.kubeconfig)))
    assert f"cluster (sim)  {version}" in plain.stdout


@pytest.mark.e2e
def test_kubectl_too_far_from_the_cluster_is_warned_about(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kubectl = fake_tool(tmp_path, "kubectl", '{"clientVersion": {"gitVersion": "v1.31.2"}}', real=tool("kubectl"))
    version = server_version(cluster)
    result = lain("version", LAIN_KUBECTL=kubectl, **write_cluster(tmp_path, str(cluster.kubeconfig)))
    assert result.returncode == 0, result.stderr
    assert f"cluster (sim)  {version}" in result.stdout
    assert (f"warning: kubectl v1.31.2 and cluster {version} differ by more than one minor version, "
            "which kubectl does not support") in result.stderr


@pytest.mark.e2e
@pytest.mark.backends("kubesim")  # the simulator is told to be an old Kubernetes; a real one is what it is
def test_cluster_older_than_supported_is_warned_about(cluster, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.kubesim import discovery

    monkeypatch.setitem(discovery.KUBE_VERSION, "gitVersion", "v1.29.8")
    monkeypatch.setitem(discovery.KUBE_VERSION, "minor", "29")
    kubectl = fake_tool(tmp_path, "kubectl", '{"clientVersion": {"gitVersion": "v1.29.0"}}', real=tool("kubectl"))
    result = lain("version", LAIN_KUBECTL=kubectl, **write_cluster(tmp_path, str(cluster.kubeconfig)))
    assert result.returncode == 0, result.stderr
    assert "cluster (sim)  v1.29.8" in result.stdout
    assert "cluster v1.29.8 is older than lain supports (Kubernetes 1.30+)" in result.stderr


def test_an_unreachable_cluster_is_a_warning_and_exit_1(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {}}],
    }))
    env = write_cluster(tmp_path, str(kubeconfig))
    result = lain("version", **env)
    assert result.returncode == 1, result.stderr
    assert "cluster (sim)  unreachable" in result.stdout
    assert "warning: cluster sim unreachable:" in result.stderr
    assert lain("version", "--client", **env).returncode == 0
