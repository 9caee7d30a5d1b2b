"""AppContext: merge order across every layer, image tags, derived names, chart_values()."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lain_cli.cli import GlobalOptions
from lain_cli.context import AppContext, load_app_context
from lain_cli.errors import UsageError
from tests.fixtures_values import add_cluster, make_app, write

CLUSTER = """\
namespace: team-a
registry: registry.example.com/team
domain: example.com
ingressClass: nginx
values:
  env: {LAYER: cluster, CLUSTER_ONLY: c}
  deployments:
    web:
      replicaCount: 2
"""

APP = """\
appname: dummy
env: {LAYER: values, VALUES_ONLY: v}
deployments:
  web:
    containerPort: 5000
    command: [a, b, c]
  worker:
    imageTag: locked-1
  legacy:
    image: kibana:7.5.0
    imageTag: ignored-when-image-is-set
jobs:
  migrate:
    command: ["sh", "-c", "backup /jfs/{{ appname }}/ && migrate"]
ingresses:
  - host: "{{appname}}"
    deployName: web
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_app(tmp_path / "app", APP)
    add_cluster(root / "chart" / "clusters", "dev", CLUSTER)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LAIN_CLUSTER", "dev")
    return root


def load(*files: str, sets: tuple[str, ...] = (), tag: str | None = "t1", cluster: str | None = None,
         need_cluster: bool = True) -> AppContext:
    return load_app_context(GlobalOptions(values_files=files, cluster=cluster), sets=sets, image_tag=tag,
                            need_cluster=need_cluster)


def test_each_layer_overrides_the_previous(app: Path) -> None:
    write(app / "chart" / "values-dev.yaml", "env: {LAYER: values-dev, DEV_ONLY: d}\n")
    write(app / "one.yaml", "env: {LAYER: one, ONE_ONLY: '1'}\n")
    write(app / "two.yaml", "env: {LAYER: two}\n")
    env = lambda ctx: ctx.values["env"]  # noqa: E731
    assert env(load()) == {"LAYER": "values-dev", "CLUSTER_ONLY": "c", "VALUES_ONLY": "v", "DEV_ONLY": "d"}
    assert env(load("one.yaml"))["LAYER"] == "one"
    assert env(load("one.yaml", "two.yaml")) == {"LAYER": "two", "CLUSTER_ONLY": "c", "VALUES_ONLY": "v",
                                                 "DEV_ONLY": "d", "ONE_ONLY": "1"}
    assert env(load("two.yaml", "one.yaml"))["LAYER"] == "one"
    assert env(load("one.yaml", "two.yaml", sets=("env.LAYER=set",)))["LAYER"] == "set"


def test_lain_defaults_come_first_and_can_be_overridden(app: Path) -> None:
    ctx = load()
    assert ctx.values["secretMountPath"] == "/lain/secrets"
    write(app / "x.yaml", "secretMountPath: /secrets\n")
    assert load("x.yaml").values["secretMountPath"] == "/secrets"


def test_cluster_defaults_sit_under_the_app_values(app: Path) -> None:
    assert load().values["deployments"]["web"]["replicaCount"] == 2  # from the cluster
    write(app / "x.yaml", "deployments: {web: {replicaCount: 5}}\n")
    assert load("x.yaml").values["deployments"]["web"]["replicaCount"] == 5


def test_values_of_another_cluster_are_not_applied(app: Path) -> None:
    add_cluster(app / "chart" / "clusters", "prod", "namespace: prod\n")
    write(app / "chart" / "values-dev.yaml", "env: {LAYER: values-dev}\n")
    ctx = load(cluster="prod")
    assert ctx.values["env"]["LAYER"] == "values"
    assert ctx.value_files == ("chart/values.yaml",)  # prod has no values
    assert load().value_files == ("chart/clusters/dev.yaml", "chart/values.yaml", "chart/values-dev.yaml")


def test_lists_replace_across_layers(app: Path) -> None:
    write(app / "x.yaml", "deployments: {web: {command: [z]}}\n")
    assert load("x.yaml").values["deployments"]["web"]["command"] == ["z"]


def test_set_values_are_typed(app: Path) -> None:
    ctx = load(sets=("deployments.web.replicaCount=3", "env.DEBUG=true", "env.RATIO=0.5",
                     "env.ID='007'", "deployments.web.command=[x,y]", "ingresses[0].paths=[/api]"))
    web = ctx.values["deployments"]["web"]
    assert web["replicaCount"] == 3
    assert web["command"] == ["x", "y"]
    assert ctx.values["env"]["DEBUG"] is True
    assert ctx.values["env"]["RATIO"] == "0.5"
    assert ctx.values["env"]["ID"] == "007"
    assert ctx.values["ingresses"] == [{"host": "dummy", "deployName": "web", "paths": ["/api"]}]


@pytest.mark.parametrize("sha", ["3549e18", "1234567", "0123abc"])
def test_set_image_tag_that_looks_like_a_number_stays_the_tag(app: Path, sha: str) -> None:
    ctx = load(sets=(f"imageTag={sha}",), tag=None)
    assert ctx.image_tag == sha
    assert ctx.images["deployments"]["web"] == f"registry.example.com/team/dummy:{sha}"


def test_appname_override_makes_a_separate_app(app: Path) -> None:
    write(app / "chart" / "values-dev2.yaml", "appname: dummy-dev\n")
    ctx = load("chart/values-dev2.yaml")
    assert ctx.appname == ctx.release_name == "dummy-dev"
    assert ctx.image_repository == "registry.example.com/team/dummy-dev"
    assert ctx.values["jobs"]["migrate"]["command"][2] == "backup /jfs/dummy-dev/ && migrate"
    assert ctx.values["ingresses"][0]["host"] == "dummy-dev"
    lain = ctx.chart_values()["lain"]
    assert lain["appname"] == "dummy-dev"
    assert lain["images"]["deployments"]["web"] == "registry.example.com/team/dummy-dev:t1"


def test_release_name(app: Path) -> None:
    ctx = load(sets=("releaseName=dummy-canary",))
    assert (ctx.appname, ctx.release_name) == ("dummy", "dummy-canary")


def test_image_tags_with_per_proc_locks(app: Path) -> None:
    ctx = load(tag="3f2a9c1")
    assert ctx.image_tag == "3f2a9c1"
    assert ctx.images == {
        "deployments": {"web": "registry.example.com/team/dummy:3f2a9c1",
                        "worker": "registry.example.com/team/dummy:locked-1",
                        "legacy": "kibana:7.5.0"},
        "statefulSets": {},
        "jobs": {"migrate": "registry.example.com/team/dummy:3f2a9c1"},
        "cronjobs": {},
        "tests": {},
    }
    assert ctx.image_of("worker") == "registry.example.com/team/dummy:locked-1"


def test_image_tag_from_set_or_values_when_not_given(app: Path) -> None:
    assert load(tag=None, sets=("imageTag=from-set",)).image_tag == "from-set"
    write(app / "x.yaml", "imageTag: 1234567\n")
    assert load("x.yaml", tag=None).image_tag == "1234567"
    assert load("x.yaml", tag="explicit").image_tag == "explicit"
    # a lock still wins over a --set imageTag
    assert load(tag=None, sets=("imageTag=from-set",)).images["deployments"]["worker"].endswith(":locked-1")


def _git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "alice", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "alice",
           "GIT_COMMITTER_EMAIL": "a@example.com", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_image_tag_from_git_with_dirty_suffix(app: Path) -> None:
    _git(app, "init", "-q")
    _git(app, "config", "user.name", "alice")
    _git(app, "add", ".")
    _git(app, "commit", "-q", "-m", "init")
    full = _git(app, "rev-parse", "HEAD")
    short = _git(app, "rev-parse", "--short", "HEAD")
    ctx = load(tag=None)
    assert ctx.image_tag == short
    assert ctx.git_revision == full
    assert ctx.user == "alice"
    (app / "chart" / "values.yaml").write_text(APP + "# changed\n")
    assert load(tag=None).image_tag == f"{short}-dirty"


def test_no_git_and_no_tag_is_an_error_with_a_hint(app: Path) -> None:
    with pytest.raises(UsageError) as exc_info:
        load(tag=None)
    assert exc_info.value.message == f"cannot choose an image tag: {app} is not a git repository with a commit"
    assert exc_info.value.hint == "commit the app to git, or pass --set imageTag=TAG"
    assert exc_info.value.exit_code == 2


def test_commands_that_roll_out_no_image_work_outside_git(app: Path) -> None:
    ctx = load_app_context(GlobalOptions(), need_image=False)
    assert ctx.image_tag == ""
    assert ctx.chart_values()["lain"]["imageTag"] == ""
    assert ctx.images["deployments"] == {
        "web": "registry.example.com/team/dummy",
        "worker": "registry.example.com/team/dummy:locked-1",
        "legacy": "kibana:7.5.0",
    }


def test_user_falls_back_to_USER(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "bob")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    ctx = load()
    assert ctx.user == "bob"
    assert ctx.git_revision == ""


def test_derived_fields(app: Path) -> None:
    ctx = load()
    assert ctx.cluster is not None and ctx.cluster.name == "dev"
    assert ctx.namespace == "team-a"
    assert ctx.chart_dir == app / "chart"
    assert dict(ctx.procs) == {"web": "deployment", "worker": "deployment", "legacy": "deployment",
                               "migrate": "job"}
    with pytest.raises(AttributeError):
        ctx.appname = "other"  # type: ignore[misc]


def test_chart_values_adds_the_reserved_lain_block(app: Path) -> None:
    ctx = load(tag="3f2a9c1")
    doc = ctx.chart_values()
    lain = doc.pop("lain")
    assert doc == ctx.values
    assert lain["appname"] == lain["releaseName"] == "dummy"
    assert lain["cluster"] == {"name": "dev", "namespace": "team-a", "domain": "example.com",
                               "ingressClass": "nginx", "externalIngressClass": "", "registry":
                               "registry.example.com/team", "hostAliases": [], "tlsClusterIssuer": ""}
    assert lain["imageTag"] == "3f2a9c1"
    assert lain["images"]["jobs"] == {"migrate": "registry.example.com/team/dummy:3f2a9c1"}
    assert len(lain["valuesChecksum"]) == 64
    assert set(lain) == {"appname", "releaseName", "cluster", "imageTag", "images", "initImages", "user",
                         "gitRevision", "valuesChecksum"}
    doc["deployments"]["web"]["replicaCount"] = 99
    assert ctx.values["deployments"]["web"]["replicaCount"] == 2  # a copy: the context stays frozen


def test_checksum_changes_with_the_values(app: Path) -> None:
    first = load().chart_values()["lain"]["valuesChecksum"]
    assert load().chart_values()["lain"]["valuesChecksum"] == first
    assert load(sets=("env.X=1",)).chart_values()["lain"]["valuesChecksum"] != first


def test_without_a_cluster_when_not_needed(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAIN_CLUSTER")
    ctx = load(need_cluster=False)
    assert ctx.cluster is None
    assert ctx.namespace == "default"
    assert ctx.image_repository == "dummy"
    assert ctx.chart_values()["lain"]["cluster"]["name"] == ""
    with pytest.raises(UsageError, match="no cluster selected"):
        load()


def test_errors_in_cluster_values_point_at_the_cluster_file(app: Path) -> None:
    add_cluster(app / "chart" / "clusters", "bad", "namespace: x\nvalues:\n  deployments:\n    web:\n"
                                                   "      replicas: 2\n")
    from lain_cli.errors import ConfigError

    with pytest.raises(ConfigError) as exc_info:
        load(cluster="bad")
    assert exc_info.value.message == ("chart/clusters/bad.yaml:5: deployments.web.replicas: unknown key; "
                                      "did you mean replicaCount?")


def test_errors_point_at_the_file_that_set_the_key(app: Path) -> None:
    from lain_cli.errors import ConfigError

    write(app / "chart" / "values-dev.yaml", "# dev\n\ndeployments:\n  web:\n    containerPort: 0\n")
    with pytest.raises(ConfigError) as exc_info:
        load()
    assert exc_info.value.file == "chart/values-dev.yaml"
    assert exc_info.value.line == 5
    assert exc_info.value.key_path == "deployments.web.containerPort"


def test_init_images_resolved_by_lain() -> None:
    from lain_cli.context import init_images

    merged = {"deployments": {"web": {"image": "nginx:1", "initContainers": [
        {"name": "own", "image": "busybox:1"}, {"name": "tagged", "imageTag": 1234567}, {"name": "plain"}]}},
        "jobs": {"j": None}}
    images = {"deployments": {"web": "nginx:1"}, "jobs": {"j": "reg/app:abc"}}
    out = init_images(merged, images, "reg/app")
    assert out["deployments"] == {"web": {"own": "busybox:1", "tagged": "reg/app:1234567", "plain": "nginx:1"}}
    assert out["jobs"] == {}
