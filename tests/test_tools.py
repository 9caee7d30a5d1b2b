"""Finding helm/kubectl and checking versions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lain_cli import tools
from lain_cli.errors import ToolError


def fake_helm(tmp_path: Path, version: str) -> Path:
    script = tmp_path / "helm"
    script.write_text(f"#!/bin/sh\necho '{version}+gabcdef'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture(autouse=True)
def clear_cache() -> None:
    tools.get_tool.cache_clear()
    yield
    tools.get_tool.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v3.19.0+g3d8990f", (3, 19, 0)),
        ("v4.2.3+g43e8b7f", (4, 2, 3)),
        ("Docker version 28.2.2, build e6534b4", (28, 2, 2)),
        ("nothing here", None),
    ],
)
def test_parse_version(text: str, expected: tuple[int, int, int] | None) -> None:
    assert tools.parse_version(text) == expected


def test_override_env_var_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAIN_HELM", str(fake_helm(tmp_path, "v3.18.1")))
    tool = tools.get_tool("helm")
    assert tool.version == (3, 18, 1)
    assert tool.path == str(tmp_path / "helm")


def test_old_helm_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAIN_HELM", str(fake_helm(tmp_path, "v3.12.0")))
    with pytest.raises(ToolError) as info:
        tools.get_tool("helm")
    assert "helm v3.12.0" in info.value.message
    assert "lain needs helm 3.17 or newer" in info.value.message
    assert info.value.exit_code == 2


def test_helm_5_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAIN_HELM", str(fake_helm(tmp_path, "v5.0.0")))
    with pytest.raises(ToolError, match="not supported"):
        tools.get_tool("helm")


def test_bad_override_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAIN_KUBECTL", "/nowhere/kubectl")
    with pytest.raises(ToolError, match=r"\$LAIN_KUBECTL points at /nowhere/kubectl"):
        tools.get_tool("kubectl")


def test_version_is_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helm = fake_helm(tmp_path, "v3.19.0")
    monkeypatch.setenv("LAIN_HELM", str(helm))
    assert tools.get_tool("helm").version == (3, 19, 0)
    # Same path, size and mtime: the cached version is used without running the binary.
    st = helm.stat()
    helm.write_text(helm.read_text().replace("v3.19.0", "v3.19.9"))
    os.utime(helm, ns=(st.st_atime_ns, st.st_mtime_ns))
    tools.get_tool.cache_clear()
    assert tools.get_tool("helm").version == (3, 19, 0)
    # A changed binary (mtime differs) is read again.
    os.utime(helm, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    tools.get_tool.cache_clear()
    assert tools.get_tool("helm").version == (3, 19, 9)


def test_real_pinned_binaries_are_found() -> None:
    helm = tools.get_tool("helm")
    kubectl = tools.get_tool("kubectl")
    assert helm.major in (3, 4)
    assert kubectl.version >= (1, 34, 0)
