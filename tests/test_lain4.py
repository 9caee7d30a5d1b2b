"""lain4's spellings in values and cluster files, and the takeover plan of a lain4 release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lain_cli import lain4, takeover
from lain_cli.cli import GlobalOptions
from lain_cli.context import load_app_context
from lain_cli.errors import ConfigError
from tests.fixtures_values import add_cluster, make_app, run_lain

LAIN4_VALUES = """\
appname: dummy
deploy:
  web:
    replicaCount: 2
    containerPort: 5000
sts:
  db:
    containerPort: 5432
cronjob:
  daily:
    schedule: "0 17 * * *"
    command: [python, daily.py]
job:
  migrate:
    command: [alembic, upgrade, heads]
ing:
  - host: dummy
    deployName: web
    paths: [/]
    ingressClass: lain-internal
externalIngress:
  - host: www.example.com
    deployName: web
    paths: [/]
build:
  base: python:3.11
  workdir: /srv/app
"""

CLUSTER = """\
namespace: default
registry: registry.example.com/team
domain_suffix: .example.com
internalRegistry: registry.in.example.com/team
clusterHostAliases:
  - ip: 10.0.0.1
    hostnames: [kube-apiserver]
clusterIssuer: letsencrypt-dns
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_app(tmp_path / "app", LAIN4_VALUES)
    add_cluster(root / "chart" / "clusters", "lain4", CLUSTER)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LAIN_CLUSTER", "lain4")
    return root


def test_lain4_values_load_as_lains_keys(app: Path) -> None:
    ctx = load_app_context(GlobalOptions(), image_tag="t1", need_cluster=True)
    values = ctx.values
    assert set(values["deployments"]) == {"web"} and set(values["statefulSets"]) == {"db"}
    assert set(values["cronjobs"]) == {"daily"} and set(values["jobs"]) == {"migrate"}
    assert values["ingresses"][0]["ingressClassName"] == "lain-internal"
    assert "ingressClass" not in values["ingresses"][0]
    assert values["externalIngresses"][0]["host"] == "www.example.com"
    assert values["build"]["workingDir"] == "/srv/app"
    for alias in lain4.SECTION_ALIASES:
        assert alias not in values


def test_each_spelling_warns_once_naming_the_new_key_and_its_line(app: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_lain(["template", "--set", "imageTag=t1"], capsys)
    assert code == 0, err
    for line, old, new in [(2, "deploy", "deployments"), (6, "sts", "statefulSets"), (9, "cronjob", "cronjobs"),
                           (13, "job", "jobs"), (16, "ing", "ingresses"),
                           (20, "ingresses[0].ingressClass", "ingresses[0].ingressClassName"),
                           (21, "externalIngress", "externalIngresses"),
                           (27, "build.workdir", "build.workingDir")]:
        expected = f"warning: chart/values.yaml:{line}: {old}: lain4's spelling, deprecated: rename it to {new}\n"
        assert err.count(expected) == 1, f"{expected}\n{err}"
    for old, new in [("domain_suffix", "domain"), ("internalRegistry", "pullRegistry"),
                     ("clusterHostAliases", "hostAliases"), ("clusterIssuer", "ingressTLS.clusterIssuer")]:
        assert err.count(f": {old}: lain4's spelling, deprecated: rename it to {new}\n") == 1, err


def test_lint_json_lists_the_deprecations(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lain(["lint", "--json", "--set", "imageTag=t1"], capsys)
    assert code == 0
    keys = {f["key"] for f in json.loads(out) if "lain4's spelling" in f["message"]}
    assert {"deploy", "sts", "ing", "build.workdir", "internalRegistry", "clusterIssuer"} <= keys


def test_an_alias_merges_with_its_section_as_lain4_did() -> None:
    data = {"deployments": {"web": {"replicaCount": 1, "containerPort": 5000}},
            "deploy": {"web": {"replicaCount": 3}, "worker": {}},
            "ingresses": [{"host": "a", "deployName": "web"}], "ing": [{"host": "b", "deployName": "web"}]}
    lines = {("deploy",): 3, ("deploy", "web", "replicaCount"): 4, ("ing",): 8, ("ing", 0, "host"): 9}
    out, out_lines, warnings = lain4.translate_values("v.yaml", data, lines)
    assert out["deployments"] == {"web": {"replicaCount": 3, "containerPort": 5000}, "worker": {}}
    assert [r["host"] for r in out["ingresses"]] == ["a", "b"]
    assert out_lines[("deployments", "web", "replicaCount")] == 4
    assert out_lines[("ingresses", 1, "host")] == 9
    assert [w.key for w in warnings] == ["deploy", "ing"]


def test_lain4_cluster_keys_take_effect(app: Path) -> None:
    ctx = load_app_context(GlobalOptions(), image_tag="t1")
    assert ctx.cluster is not None and ctx.cluster.domain == "example.com"
    # pods pull from the in-cluster mirror, deploy --build pushes to the registry
    assert ctx.images["deployments"]["web"] == "registry.in.example.com/team/dummy:t1"
    assert ctx.image_repository == "registry.example.com/team/dummy"
    lain = ctx.chart_values()["lain"]
    assert lain["cluster"]["hostAliases"] == [{"ip": "10.0.0.1", "hostnames": ["kube-apiserver"]}]
    assert lain["cluster"]["tlsClusterIssuer"] == "letsencrypt-dns"


def test_lain4_cluster_keys_render_as_lain4_did(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_lain(["template", "--set", "imageTag=t1", "--json"], capsys)
    assert code == 0, err
    objects = {(o["kind"], o["metadata"]["name"]): o for o in json.loads(out)}
    web = objects[("Deployment", "dummy-web")]["spec"]["template"]["spec"]
    assert web["hostAliases"] == [{"ip": "10.0.0.1", "hostnames": ["kube-apiserver"]}]
    internal = objects[("Ingress", "dummy-web-dummy")]
    assert internal["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-dns"
    assert internal["spec"]["tls"] == [{"hosts": ["*.example.com", "example.com"], "secretName": "example-com"}]
    assert internal["spec"]["ingressClassName"] == "lain-internal"
    external = objects[("Ingress", "dummy-web-www-example-com-external")]
    assert external["spec"]["tls"] == [{"hosts": ["*.example.com", "example.com"], "secretName": "example-com"}]


def test_domain_suffix_without_a_dot_is_refused_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import clusters

    (tmp_path / "odd.yaml").write_text("namespace: default\ndomain_suffix: -dev.example.com\n")
    monkeypatch.setenv("LAIN_CLUSTERS_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        clusters.resolve("odd")
    assert "odd.yaml:2: domain_suffix: lain4's domain_suffix '-dev.example.com' does not start with a dot" in \
        err.value.message


# ---------------------------------------------------------------- the takeover plan

def live(kind: str, name: str, spec: dict[str, Any], release: str = "dummy") -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "annotations": {"meta.helm.sh/release-name": release}},
            "spec": spec}


LAIN4_LIVE = [
    live("Deployment", "dummy-web", {"selector": {"matchLabels": {
        "app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-web"}}}),
    live("Service", "dummy-web", {"ports": [{"port": 80, "targetPort": 5000}]}),
    live("StatefulSet", "dummy-db", {"serviceName": "dummy-db", "selector": {"matchLabels": {
        "app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-db"}}}),
    live("Ingress", "dummy-example-com-dummy-web", {}),
    live("Ingress", "www-example-com-dummy-web", {}),
    # another release's objects never count
    live("Deployment", "dummy-worker", {"selector": {"matchLabels": {
        "app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-worker"}}}, release="other"),
]
VALUES = {
    "deployments": {"web": {"containerPort": 5000}, "worker": {}},
    "statefulSets": {"db": {"containerPort": 5432}},
    "ingresses": [{"host": "dummy", "deployName": "web"}],
    "externalIngresses": [{"host": "www.example.com", "deployName": "web"}],
}


def test_plan_keeps_lain4s_selectors_ports_service_names_and_object_names() -> None:
    plan = takeover.plan_adoption(VALUES, appname="dummy", release="dummy", domain="example.com", live=LAIN4_LIVE)
    assert plan.selectors == {
        "web": {"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-web"},
        "db": {"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-db"},
    }
    assert plan.service_ports == {"web": 80}
    assert plan.service_names == {"db": "dummy-db"}
    assert plan.names == {"Ingress/dummy-web-dummy": "dummy-example-com-dummy-web",
                          "Ingress/dummy-web-www-example-com-external": "www-example-com-dummy-web"}
    assert plan.pod_selector == {
        "matchLabels": {"app.kubernetes.io/name": "dummy"},
        "matchExpressions": [{"key": "app.kubernetes.io/instance", "operator": "In",
                              "values": ["dummy", "dummy-db", "dummy-web"]}],
    }
    assert plan.summary("dummy").startswith("taking over lain4's release dummy in place: db, web keep")


def test_objects_of_an_old_helm_are_known_by_lain4s_chart_label() -> None:
    old = [{"kind": "Deployment", "metadata": {"name": "dummy-web", "labels": {"helm.sh/chart": "dummy"}},
            "spec": LAIN4_LIVE[0]["spec"]}]
    plan = takeover.plan_adoption(VALUES, appname="dummy", release="dummy", domain="example.com", live=old)
    assert set(plan.selectors) == {"web"}


def test_a_release_lain_deployed_needs_no_plan() -> None:
    ours = [live("Deployment", "dummy-web", {"selector": {"matchLabels": {
        "app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy",
        "app.kubernetes.io/component": "web"}}}),
        live("Service", "dummy-web", {"ports": [{"port": 5000}]}),
        live("Ingress", "dummy-web-dummy", {})]
    assert not takeover.plan_adoption(VALUES, appname="dummy", release="dummy", domain="example.com", live=ours)
    assert not takeover.plan_adoption(VALUES, appname="dummy", release="dummy", domain="example.com", live=[])


def test_an_hpa_of_a_taken_over_proc_keeps_lain4s_name_when_the_release_is_renamed() -> None:
    values = {"deployments": {"web": {"hpa": {"maxReplicas": 3}}}}
    objects = [live("Deployment", "dummy-dev-web", {"selector": {"matchLabels": {
        "app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-dev-web"}}}, release="dummy-dev")]
    plan = takeover.plan_adoption(values, appname="dummy", release="dummy-dev", domain="", live=objects)
    assert plan.names == {"HorizontalPodAutoscaler/dummy-dev-web": "dummy-web"}


ADOPTED_APP = """\
appname: dummy
deployments:
  web:
    replicaCount: 2
    containerPort: 5000
    hpa: {maxReplicas: 4}
    podDisruptionBudget: {minAvailable: 1}
statefulSets:
  db:
    containerPort: 5432
ingresses:
  - host: dummy
    deployName: web
networkPolicy:
  spec:
    ingress: [{}]
"""


def test_the_chart_renders_an_adoption_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import chart, diff

    root = make_app(tmp_path / "app", ADOPTED_APP)
    add_cluster(root / "chart" / "clusters", "c", "namespace: default\ndomain: example.com\n")
    monkeypatch.chdir(root)
    ctx = load_app_context(GlobalOptions(cluster="c"), image_tag="t1")
    plan = takeover.plan_adoption(ctx.values, appname="dummy", release="dummy", domain="example.com",
                                  live=LAIN4_LIVE)
    values = ctx.chart_values()
    values["lain"]["adopt"] = plan.values()
    objects = {(o["kind"], o["metadata"]["name"]): o
               for o in diff.parse_objects(chart.render_app(ctx, values=values))}
    lain4_web = {"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-web"}
    web = objects[("Deployment", "dummy-web")]
    assert web["spec"]["selector"]["matchLabels"] == lain4_web
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    assert pod_labels.items() >= {**lain4_web, "app.kubernetes.io/component": "web"}.items()
    assert web["metadata"]["labels"]["app.kubernetes.io/instance"] == "dummy"  # the workload's own: lain's
    service = objects[("Service", "dummy-web")]
    assert service["spec"]["selector"] == lain4_web
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 5000)]
    ingress = objects[("Ingress", "dummy-example-com-dummy-web")]
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"number": 80}
    assert objects[("StatefulSet", "dummy-db")]["spec"]["serviceName"] == "dummy-db"
    assert objects[("PodDisruptionBudget", "dummy-web")]["spec"]["selector"]["matchLabels"] == lain4_web
    assert objects[("HorizontalPodAutoscaler", "dummy-web")]["spec"]["scaleTargetRef"]["name"] == "dummy-web"
    assert objects[("NetworkPolicy", "dummy")]["spec"]["podSelector"] == plan.pod_selector
    # without a plan: lain's own layout
    plain = {(o["kind"], o["metadata"]["name"]): o for o in diff.parse_objects(chart.render_app(ctx))}
    assert plain[("Deployment", "dummy-web")]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] \
        == "web"
    assert ("Ingress", "dummy-web-dummy") in plain
    assert plain[("Service", "dummy-web")]["spec"]["ports"][0]["port"] == 5000


def test_diff_says_what_a_deploy_would_take_over() -> None:
    plan = takeover.plan_adoption(VALUES, appname="dummy", release="dummy", domain="example.com", live=LAIN4_LIVE)
    assert plan.summary("dummy", would=True).startswith("lain deploy would take over lain4's release dummy in place")
