"""The kube context: the cluster file's, else pinned by `lain use`, else kubectl's current one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lain_cli import clusters, kubecontext
from tests.fixtures_values import run_lain


def write_kubeconfig(path: Path, current: str | None, contexts: tuple[str, ...] = ("kind-a", "kind-b")) -> Path:
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": "https://127.0.0.1:1"}} for c in contexts],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": c, "context": {"cluster": c, "user": "u"}} for c in contexts],
    }
    if current:
        config["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clusters dir with dev.yaml (no context:) and pinned.yaml (context: kind-b), kubeconfig at $KUBECONFIG."""
    clusters_dir = tmp_path / "clusters"
    clusters_dir.mkdir()
    (clusters_dir / "dev.yaml").write_text("namespace: web\n")
    (clusters_dir / "fixed.yaml").write_text("namespace: web\ncontext: kind-b\n")
    monkeypatch.setenv("LAIN_CLUSTERS_DIR", str(clusters_dir))
    monkeypatch.chdir(tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    write_kubeconfig(kubeconfig, "kind-a")
    return kubeconfig


def test_use_pins_the_current_context(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_lain(["use", "dev"], capsys)
    assert code == 0
    assert "context kind-a" in err and "pinned" in err
    assert kubecontext.pinned("dev") == "kind-a"
    cluster = clusters.resolve("dev")
    assert cluster.kubectl_args() == ["--context", "kind-a", "--namespace", "web"]
    assert cluster.target_line() == "cluster dev · context kind-a (pinned by lain use) · namespace web"
    assert cluster.notes == ()


def test_lain_warns_when_kubectls_context_moved_and_stays_pinned(setup: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run_lain(["use", "dev"], capsys)
    write_kubeconfig(setup, "kind-b")  # kubectl config use-context kind-b
    cluster = clusters.resolve("dev")
    assert cluster.context == "kind-a"
    assert cluster.helm_args() == ["--kube-context", "kind-a", "--namespace", "web"]
    [note] = cluster.notes
    assert "kubectl's current context is now kind-b; lain stays on kind-a, pinned by `lain use dev`" in note
    # lain use again follows the move
    run_lain(["use", "dev"], capsys)
    assert clusters.resolve("dev").context == "kind-b"
    assert clusters.resolve("dev").notes == ()


def test_a_pinned_context_that_vanished_is_named(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_lain(["use", "dev"], capsys)
    write_kubeconfig(setup, "kind-b", contexts=("kind-b",))
    [note] = clusters.resolve("dev").notes
    assert "context kind-a, pinned by `lain use dev`, is not in" in note


def test_a_cluster_file_context_is_never_pinned(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_lain(["use", "fixed"], capsys)
    assert kubecontext.pinned("fixed") is None
    write_kubeconfig(setup, "kind-a")
    cluster = clusters.resolve("fixed")
    assert cluster.context == "kind-b" and cluster.notes == ()
    assert cluster.target_line() == "cluster fixed · context kind-b · namespace web"


def test_kube_context_option_beats_pin_and_file(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_lain(["use", "dev"], capsys)
    assert clusters.resolve("dev", kube_context="kind-b").context == "kind-b"
    assert clusters.resolve("fixed", kube_context="kind-a").context == "kind-a"


def test_without_a_pin_lain_follows_and_names_kubectls_context(setup: Path) -> None:
    cluster = clusters.resolve("dev")  # selected with --cluster, never `lain use`d
    assert cluster.context is None
    assert cluster.target_line() == "cluster dev · context kind-a (kubectl's current) · namespace web"


def test_kubeconfig_list_first_current_context_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_kubeconfig(tmp_path / "one", None, contexts=("x",))
    second = write_kubeconfig(tmp_path / "two", "kind-b")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    view = kubecontext.read_kubeconfig(None)
    assert view.current == "kind-b"
    assert view.contexts == {"x", "kind-a", "kind-b"}


def test_use_json_names_the_pinned_context(setup: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lain(["use", "dev", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["context"] == "kind-a"
    assert json.loads(out)["contextSource"] == "pinned by lain use"


@pytest.mark.parametrize(("text", "current"), [
    ("apiVersion: v1\ncurrent-context: kind-a\nkind: Config\n", "kind-a"),
    ("current-context: 'admin@prod'  # the team's\n", "admin@prod"),
    ('current-context: "a b"\n', "a b"),
    ('current-context: ""\n', None),
    ("current-context:\n", None),
    ("preferences: {}\n", None),
    # not the way kubectl writes it: parsed as YAML (or JSON) instead
    ('{"apiVersion": "v1", "current-context": "json-ctx"}', "json-ctx"),
    ("{current-context: flow-ctx, contexts: []}\n", "flow-ctx"),
    ("contexts:\n- name: x\n  current-context: not-top-level\n", None),
])
def test_current_context_of(text: str, current: str | None) -> None:
    assert kubecontext.current_context_of(text) == current
