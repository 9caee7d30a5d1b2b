"""Shared fixtures.  Feature-area fixtures live in plugin modules listed below."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.kubesim.fixture",
    "tests.backends",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Anything under tests/e2e/ or tests/kubesim/ that talks to the simulator through
    # the real binaries is an e2e test even if the author forgot the marker.
    for item in items:
        if "/e2e/" in str(item.fspath) and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME, XDG dirs, kube and helm caches: no state leaks between tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("KUBECONFIG", str(home / ".kube" / "config"))
    monkeypatch.setenv("KUBECACHEDIR", str(home / ".kube" / "cache"))
    monkeypatch.setenv("HELM_CACHE_HOME", str(home / "helm" / "cache"))
    monkeypatch.setenv("HELM_CONFIG_HOME", str(home / "helm" / "config"))
    monkeypatch.setenv("HELM_DATA_HOME", str(home / "helm" / "data"))
    for var in ("LAIN_CLUSTER", "LAIN_CLUSTERS_DIR", "EDITOR", "VISUAL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    os.environ.setdefault("LAIN_TEST_HELM_MAJOR", "3")
    return home
