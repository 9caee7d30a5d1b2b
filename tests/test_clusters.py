"""Cluster files, lookup order and `lain use` (lain_cli/clusters.py, commands/use.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lain_cli import clusters
from lain_cli.errors import ConfigError, UsageError
from tests.fixtures_values import add_cluster, make_app, run_main, write

FULL = """\
kubeconfig: ~/.kube/config-prod
context: prod
namespace: team-a
registry: registry.example.com/team/
domain: example.com
ingressClass: nginx
webhook: {url: https://hooks.example.com/x, provider: slack}
logLink: https://kibana.example.com/app/discover#/?query=app:{appname}
ingressCheck: {address: "10.0.0.5:443", scheme: https}
values:
  deployments:
    web:
      replicaCount: 2
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_app(tmp_path / "app")
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def user_dir(home: Path) -> Path:
    return home / ".config" / "lain" / "clusters"


def test_a_full_cluster_file(app: Path, isolated_home: Path) -> None:
    add_cluster(user_dir(isolated_home), "prod", FULL)
    cluster = clusters.resolve("prod")
    assert cluster.name == "prod"
    assert cluster.namespace == "team-a"
    assert cluster.kubeconfig == str(isolated_home / ".kube" / "config-prod")
    assert cluster.registry == "registry.example.com/team"
    assert cluster.domain == "example.com"
    assert cluster.ingress_class == "nginx"
    assert cluster.webhook == {"url": "https://hooks.example.com/x", "provider": "slack"}
    assert cluster.log_url("dummy") == "https://kibana.example.com/app/discover#/?query=app:dummy"
    assert (cluster.ingress_check_address, cluster.ingress_check_scheme) == ("10.0.0.5:443", "https")
    assert cluster.values == {"deployments": {"web": {"replicaCount": 2}}}
    (isolated_home / ".kube").mkdir(exist_ok=True)
    (isolated_home / ".kube" / "config-prod").write_text("apiVersion: v1\nkind: Config\n")
    assert cluster.kubectl_args() == ["--kubeconfig", str(isolated_home / ".kube/config-prod"),
                                      "--context", "prod", "--namespace", "team-a"]
    assert cluster.helm_args() == ["--kubeconfig", str(isolated_home / ".kube/config-prod"),
                                   "--kube-context", "prod", "--namespace", "team-a"]


def test_a_missing_kubeconfig_is_a_config_error_naming_the_key(app: Path, isolated_home: Path) -> None:
    # issue 16: it was exit 1 with helm's text; reading the file (lint, template) still works
    add_cluster(user_dir(isolated_home), "prod", "namespace: team-a\n# where the credentials are\n"
                                                 "kubeconfig: ~/.kube/nowhere\n")
    cluster = clusters.resolve("prod")
    for args in (cluster.kubectl_args, cluster.helm_args):
        with pytest.raises(ConfigError) as err:
            args()
        assert err.value.exit_code == 2
        assert err.value.render().splitlines()[0] == (
            f"error: ~/.config/lain/clusters/prod.yaml:3: kubeconfig: {isolated_home}/.kube/nowhere does not exist")


def test_notify_timeout(app: Path, isolated_home: Path) -> None:
    add_cluster(user_dir(isolated_home), "dev", "namespace: default\nnotify: {timeout: 2.5}\n")
    assert clusters.resolve("dev").notify_timeout == 2.5
    add_cluster(user_dir(isolated_home), "bad", "namespace: default\nnotify: {timeout: 0}\n")
    with pytest.raises(ConfigError, match="notify.timeout: must be more than 0 seconds"):
        clusters.resolve("bad")


def test_minimal_cluster_uses_the_default_kubeconfig(app: Path, isolated_home: Path) -> None:
    add_cluster(user_dir(isolated_home), "dev")
    cluster = clusters.resolve("dev")
    assert cluster.kubectl_args() == ["--namespace", "default"]
    assert cluster.helm_args() == ["--namespace", "default"]
    assert (cluster.registry, cluster.domain, cluster.webhook, cluster.values) == ("", "", None, {})


def test_relative_kubeconfig_is_relative_to_the_cluster_file(app: Path) -> None:
    add_cluster(app / "chart" / "clusters", "dev", "namespace: default\nkubeconfig: kube/dev.conf\n")
    assert clusters.resolve("dev").kubeconfig == str(app / "chart" / "clusters" / "kube" / "dev.conf")


def test_lookup_order_env_dir_then_app_repo_then_user_config(
    app: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_dir = tmp_path / "env-clusters"
    add_cluster(user_dir(isolated_home), "dev", "namespace: from-user\n")
    assert clusters.resolve("dev").namespace == "from-user"
    add_cluster(app / "chart" / "clusters", "dev", "namespace: from-repo\n")
    assert clusters.resolve("dev").namespace == "from-repo"
    add_cluster(env_dir, "dev", "namespace: from-env\n")
    monkeypatch.setenv("LAIN_CLUSTERS_DIR", str(env_dir))
    assert clusters.resolve("dev").namespace == "from-env"
    assert [(c.name, c.origin) for c in clusters.list_clusters()] == [("dev", "$LAIN_CLUSTERS_DIR")]


def test_the_app_repo_is_found_from_a_subdirectory(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_cluster(app / "chart" / "clusters", "dev")
    (app / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(app / "src" / "pkg")
    assert clusters.resolve("dev").source == "../../chart/clusters/dev.yaml"


def test_selection_order_flag_then_env_then_lain_use(
    app: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        add_cluster(user_dir(isolated_home), name)
    clusters.use("a")
    assert (isolated_home / ".config" / "lain" / "current").read_text() == "a\n"
    assert clusters.resolve().name == "a"
    monkeypatch.setenv("LAIN_CLUSTER", "b")
    assert clusters.resolve().name == "b"
    assert clusters.resolve("c").name == "c"


def test_use_respects_xdg_config_home(app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    add_cluster(tmp_path / "xdg" / "lain" / "clusters", "dev")
    clusters.use("dev")
    assert (tmp_path / "xdg" / "lain" / "current").read_text() == "dev\n"


def test_no_cluster_selected(app: Path, isolated_home: Path) -> None:
    add_cluster(user_dir(isolated_home), "dev")
    with pytest.raises(UsageError) as exc_info:
        clusters.resolve(None)
    assert exc_info.value.render() == ("error: no cluster selected\n"
                                       "hint: run lain use <cluster> (known: dev), or pass --cluster NAME")


def test_unknown_cluster_lists_the_known_ones_with_did_you_mean(app: Path, isolated_home: Path) -> None:
    add_cluster(user_dir(isolated_home), "prod")
    add_cluster(user_dir(isolated_home), "dev")
    with pytest.raises(UsageError) as exc_info:
        clusters.resolve("prdo")
    assert exc_info.value.render() == ("error: unknown cluster 'prdo'\n"
                                       "hint: did you mean prod? known clusters: dev, prod")


def test_unknown_cluster_when_there_are_none(app: Path, isolated_home: Path) -> None:
    with pytest.raises(UsageError) as exc_info:
        clusters.resolve("dev")
    assert exc_info.value.message == "unknown cluster 'dev': no cluster files found"
    assert exc_info.value.hint.startswith("create dev.yaml (with at least `namespace:`) in one of: ")


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("context: prod\n", "error: chart/clusters/bad.yaml: namespace: required key is missing"),
        ("namespace: default\nregistery: r.example.com\n",
         "error: chart/clusters/bad.yaml:2: registery: unknown key; did you mean registry?"),
        ("namespace: Team_A\n", "error: chart/clusters/bad.yaml:1: namespace: not a valid namespace name: 'Team_A'"),
        ("namespace: default\nwebhook: {url: x, provider: teams}\n",
         "error: chart/clusters/bad.yaml:2: webhook.provider: must be one of slack, feishu, dingtalk, wecom, "
         "generic, got 'teams'"),
        ("namespace: [a]\n", "error: chart/clusters/bad.yaml:1: namespace: expected a string, got a list"),
        ("namespace: default\ningressCheck: {address: 'https://10.0.0.5'}\n",
         "error: chart/clusters/bad.yaml:2: ingressCheck.address: expected HOST:PORT, got 'https://10.0.0.5'"),
        ("namespace: default\n  domain: x\n",
         "error: chart/clusters/bad.yaml:2:9: invalid YAML: mapping values are not allowed here"),
    ],
)
def test_invalid_cluster_files(app: Path, text: str, rendered: str) -> None:
    add_cluster(app / "chart" / "clusters", "bad", text)
    with pytest.raises(ConfigError) as exc_info:
        clusters.resolve("bad")
    assert exc_info.value.render().splitlines()[0] == rendered
    assert exc_info.value.exit_code == 2


def test_invalid_cluster_name(app: Path) -> None:
    with pytest.raises(UsageError) as exc_info:
        clusters.resolve("../etc/passwd")
    assert exc_info.value.message == "invalid cluster name '../etc/passwd'"


# -- the command ----------------------------------------------------------------


def test_lain_use_name_records_and_reports(
    app: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_cluster(app / "chart" / "clusters", "prod", FULL)
    code, out, err = run_main(["use", "prod"], capsys)
    assert code == 0
    assert "using cluster prod (namespace team-a, context prod) from chart/clusters/prod.yaml" in err
    assert (isolated_home / ".config" / "lain" / "current").read_text() == "prod\n"


def test_lain_use_lists_clusters_and_marks_the_current_one(
    app: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_cluster(app / "chart" / "clusters", "prod", FULL)
    add_cluster(user_dir(isolated_home), "dev")
    add_cluster(user_dir(isolated_home), "broken", "context: x\n")
    run_main(["use", "dev"], capsys)
    code, out, err = run_main(["use"], capsys)
    assert code == 0
    assert out.splitlines() == [
        "  broken  -        ~/.config/lain/clusters/broken.yaml  (invalid: "
        "~/.config/lain/clusters/broken.yaml: namespace: required key is missing)",
        "* dev     default  ~/.config/lain/clusters/dev.yaml",
        "  prod    team-a   chart/clusters/prod.yaml",
    ]


def test_lain_use_json(app: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_cluster(app / "chart" / "clusters", "dev")
    run_main(["use", "dev"], capsys)
    code, out, _ = run_main(["--json", "use"], capsys)
    assert code == 0
    assert json.loads(out) == {
        "current": "dev",
        "selectedBy": "lain use",
        "clusters": [{"name": "dev", "current": True, "namespace": "default", "file": "chart/clusters/dev.yaml",
                      "origin": "chart/clusters", "error": ""}],
    }


def test_lain_use_unknown_exits_2(app: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_cluster(user_dir(isolated_home), "dev")
    code, out, err = run_main(["use", "deb"], capsys)
    assert code == 2
    assert err == "error: unknown cluster 'deb'\nhint: did you mean dev? known clusters: dev\n"
    assert not (isolated_home / ".config" / "lain" / "current").exists()


def test_lain_use_with_no_clusters(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["use"], capsys)
    assert code == 0
    assert out == ""
    assert "warning: no clusters found" in err


def test_lain_use_outside_an_app_repo(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    write(user_dir(isolated_home) / "dev.yaml", "namespace: default\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(["use", "dev"], capsys)
    assert code == 0, err
