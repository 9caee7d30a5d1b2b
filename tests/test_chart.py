"""Golden renderings of the built-in chart, with the real helm.

Regenerate the golden files (then review the diff as you would a code change):

    LAIN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_chart.py

Each case is an app under tests/apps/<app>/chart/ (the seed page's examples
placed into an app as the seed shows), loaded with the real
``load_app_context`` against the cluster files in tests/apps/clusters/,
rendered with the real ``helm template``, compared with tests/golden/<case>.yaml,
validated with kubernetes-validate's strict schemas and passed through
``helm lint --strict``.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lain_cli import chart, helm, lint, schema
from lain_cli.cli import GlobalOptions
from lain_cli.context import AppContext, load_app_context

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
GOLDEN = HERE / "golden"
IMAGE_TAG = "3f2a9c1"
REGISTRY = "registry.example.com/team"

# case -> (app directory, extra -f files, cluster)
CASES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "seed-migration": ("seed-migration", (), "test"),
    # the cluster is named prod, so chart/values-prod.yaml applies on top by itself
    "seed-rolling-update": ("seed-rolling-update", (), "prod"),
    "seed-two-apps": ("seed-two-apps", (), "test"),
    "seed-appname-override": ("seed-two-apps", ("chart/values-dev.yaml",), "test"),
    "every-key": ("every-key", (), "test"),
    "env-list": ("env-list", (), "test"),
}


def app_context(case: str, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    app, files, cluster = CASES[case]
    monkeypatch.chdir(APPS / app)
    monkeypatch.setenv("LAIN_CLUSTERS_DIR", str(APPS / "clusters"))
    ctx = load_app_context(
        GlobalOptions(values_files=files, cluster=cluster), image_tag=IMAGE_TAG, need_cluster=True
    )
    # who and which commit: fixed, so the golden files do not change with every commit
    return dataclasses.replace(ctx, user="alice", git_revision="0" * 40)


def normalized(rendered: str) -> str:
    """helm output with one layout for helm 3 and 4 (helm 4 adds blank lines between documents)."""
    return "".join(f"---\n# Source: {source}\n{text}" for source, text in helm.split_documents(rendered))


@dataclasses.dataclass
class Rendering:
    text: str
    manifests: list[helm.Manifest]
    lint_messages: list[str]
    lint_ok: bool

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for manifest in self.manifests:
            if manifest.kind == kind and manifest.name == name:
                return manifest.body
        raise AssertionError(f"no {kind} {name} in {[m.label for m in self.manifests]}")

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.manifests]


@pytest.fixture(scope="module")
def renderings() -> dict[str, Rendering]:
    return {}


def render_case(case: str, monkeypatch: pytest.MonkeyPatch, cache: dict[str, Rendering]) -> Rendering:
    if case not in cache:
        ctx = app_context(case, monkeypatch)
        with chart.staged_chart(ctx.release_name, ctx.image_tag, ctx.chart_values()) as chart_dir:
            text = helm.render(chart_dir, ctx.release_name, namespace=ctx.namespace, kube_version="1.30")
            result = helm.lint(chart_dir, namespace=ctx.namespace, kube_version="1.30")
        cache[case] = Rendering(normalized(text), helm.parse_manifests(text), result.messages, result.ok)
    return cache[case]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    rendering = render_case(case, monkeypatch, renderings)
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("LAIN_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(rendering.text)
    assert golden.is_file(), f"no golden file {golden}; run LAIN_UPDATE_GOLDEN=1 pytest {__file__}"
    assert rendering.text == golden.read_text(), (
        f"{case} renders differently from {golden.name}; if the change is intended, "
        "regenerate with LAIN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_chart.py"
    )
    # every golden rendering is valid Kubernetes and passes helm lint --strict
    problems = lint.duplicate_objects(rendering.manifests) + lint.validate_manifests(rendering.manifests)
    assert [p.render() for p in problems] == []
    assert rendering.lint_ok and rendering.lint_messages == []


def test_seed_migration_job(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("seed-migration", monkeypatch, renderings)
    job = r.get("Job", "dummy-init")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    spec = job["spec"]
    assert (spec["ttlSecondsAfterFinished"], spec["activeDeadlineSeconds"], spec["backoffLimit"]) == (86400, 3600, 0)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    backup = pod["initContainers"][0]
    assert backup["name"] == "backup"
    assert backup["image"] == "ccr.ccs.tencentyun.com/yashi/ubuntu-python:latest"
    # {{ appname }} is expanded inside value strings
    assert "/jfs/backup/dummy/$MYSQL_DB-backup.sql.gz" in backup["command"][2]
    assert {"name": "jfs-backup-dir", "mountPath": "/jfs/backup/dummy/"} in backup["volumeMounts"]
    assert backup["envFrom"][0]["secretRef"] == {"name": "dummy-env", "optional": True}
    assert {"name": "jfs-backup-dir", "hostPath": {"path": "/jfs/backup/dummy/", "type": "Directory"}} in pod["volumes"]
    main = pod["containers"][0]
    assert main["image"] == f"registry.example.com/team/dummy:{IMAGE_TAG}"
    assert main["command"] == ["bash", "-c", "set -e\nalembic upgrade heads\n"]


def test_seed_rolling_update_strategy(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("seed-rolling-update", monkeypatch, renderings)
    spec = r.get("Deployment", "dummy-web")["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    assert spec["replicas"] == 20


def test_seed_two_apps_from_one_repo(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("seed-two-apps", monkeypatch, renderings)
    assert sorted(r.labels) == [
        "Deployment dummy-web", "Deployment dummy-web-dev",
        "Ingress dummy-web-dev-dummy-dev",
        "Service dummy-web", "Service dummy-web-dev",
    ]
    assert r.get("Deployment", "dummy-web")["spec"]["replicas"] == 20
    assert r.get("Deployment", "dummy-web-dev")["spec"]["replicas"] == 1
    service = r.get("Service", "dummy-web-dev")["spec"]
    assert service["ports"][0]["port"] == 5000
    assert service["selector"]["app.kubernetes.io/component"] == "web-dev"
    ingress = r.get("Ingress", "dummy-web-dev-dummy-dev")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    rule = ingress["rules"][0]
    assert rule["host"] == "dummy-dev.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "dummy-web-dev", "port": {"number": 5000}}


def test_seed_appname_override(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("seed-appname-override", monkeypatch, renderings)
    assert sorted(r.labels) == [
        "Deployment dummy-dev-web", "Deployment dummy-dev-web-dev",
        "Ingress dummy-dev-web-dev-dummy-dev",
        "Service dummy-dev-web", "Service dummy-dev-web-dev",
    ]
    web = r.get("Deployment", "dummy-dev-web")
    assert web["metadata"]["labels"]["app.kubernetes.io/name"] == "dummy-dev"
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"registry.example.com/team/dummy-dev:{IMAGE_TAG}"
    assert container["envFrom"][0]["secretRef"]["name"] == "dummy-dev-env"


def test_every_key(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("every-key", monkeypatch, renderings)
    web = r.get("Deployment", "every-rel-web")
    assert "replicas" not in web["spec"]  # the HPA owns the replica count
    pod = web["spec"]["template"]["spec"]
    env = pod["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert names[:3] == ["LAIN_CLUSTER", "K8S_NAMESPACE", "IMAGE_TAG"]
    assert len(names) == len(set(names))
    values = {e["name"]: e["value"] for e in env}
    assert values["WORKERS"] == "8" and values["BIG_NUMBER"] == "1000000" and values["DEBUG"] == "false"
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["node-1", "node-2"]
    assert web["metadata"]["annotations"]["lain.dev/deployed-by"] == "alice"
    assert r.get("HorizontalPodAutoscaler", "every-rel-web")["spec"]["minReplicas"] == 3
    assert r.get("Service", "every-rel-web")["spec"]["ports"][0]["nodePort"] == 32001
    assert r.get("StatefulSet", "every-rel-worker")["spec"]["serviceName"] == "every-rel-worker-headless"
    assert r.get("Service", "every-rel-worker-headless")["spec"]["clusterIP"] == "None"
    warm = r.get("Job", "every-rel-warm-cache")["metadata"]["annotations"]
    assert warm["helm.sh/hook"] == "post-install,post-upgrade"
    assert warm["helm.sh/hook-delete-policy"] == "before-hook-creation"
    assert r.get("Pod", "every-rel-test-smoke")["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert r.get("PersistentVolumeClaim", "every-rel-data")["spec"]["storageClassName"] == "standard"
    assert r.get("NetworkPolicy", "every-rel")["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "every"
    assert r.get("PodDisruptionBudget", "every-rel-worker")["spec"]["minAvailable"] == 1


# Kubernetes structures passed through: their inner fields are Kubernetes', not lain's keys.
_PASSTHROUGH = {"resources", "lifecycle", "affinity", "strategy", "updateStrategy", "hostAliases"}


def _present(node: Any, parts: list[str]) -> bool:
    """Whether the schema path ``parts`` occurs in ``node`` (``<name>`` and ``[]`` match any entry)."""
    if not parts:
        return node is not None
    head, rest = parts[0], parts[1:]
    if head.startswith("<"):
        return isinstance(node, dict) and any(_present(v, rest) for v in node.values())
    if head.endswith("[]"):
        items = node.get(head[:-2]) if isinstance(node, dict) else None
        return isinstance(items, list) and any(_present(i, rest) for i in items)
    return isinstance(node, dict) and head in node and _present(node[head], rest)


def test_every_key_app_uses_every_schema_key() -> None:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load((APPS / "every-key" / "chart" / "values.yaml").read_text())
    workload_sections = list(schema.WORKLOAD_KINDS)
    missing = []
    for doc in schema.iter_keys():
        parts = doc.path.split(".")
        if any(p.removesuffix("[]") in _PASSTHROUGH for p in parts[:-1]):
            continue
        shared = parts[0] in workload_sections and len(parts) > 2 and parts[2] in schema.CONTAINER_FIELDS
        # rendered by the chart's one shared pod helper: once on any workload shows it
        if shared and any(_present(data, [s, "<any>", *parts[2:]]) for s in workload_sections):
            continue
        # minAvailable or maxUnavailable: one per proc, so each is shown on a different section
        pdb = "podDisruptionBudget" in parts
        if pdb and any(_present(data, [s, "<any>", *parts[2:]]) for s in ("deployments", "statefulSets")):
            continue
        if not _present(data, parts):
            missing.append(doc.path)
    assert missing == []


# -- no schema key is silently ignored -------------------------------------------
#
# For every leaf key of the schema that is not lain_only, the every-key app sets
# a distinctive value (not the schema default, somewhere) and the rendering of
# that one `helm template` call must show it: under the same field name in an
# object belonging to the workload (or ingress) that set it, or as described in
# _CHECKS for keys the chart renders under another name or transforms.

def _covers(actual: Any, wanted: Any) -> bool:
    """Whether ``wanted`` appears in ``actual``: mappings as subsets, lists item by item, scalars as strings."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(k in actual and _covers(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(actual, list) and all(any(_covers(a, w) for a in actual) for w in wanted)
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted or str(actual).lower() == str(wanted).lower()
    return actual == wanted or str(actual) == str(wanted)


def _fields(node: Any, key: str) -> Iterator[Any]:
    """Every value of a field named ``key``, at any depth."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _fields(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _fields(item, key)


def _has(objects: list[dict[str, Any]], key: str, value: Any) -> bool:
    return any(_covers(found, value) for obj in objects for found in _fields(obj, key))


def _env_shown(objects: list[dict[str, Any]], env: Any) -> bool:
    items = env if isinstance(env, list) else [{"name": k, "value": v} for k, v in env.items()]
    wanted = [{**i, "value": chart.env_string(i["value"])} if "value" in i else i for i in items]
    return all(_has(objects, "env", [w]) for w in wanted)


Check = Callable[[list[dict[str, Any]], Any, dict[str, Any]], bool]

# leaf path (placeholders as in schema.iter_keys) -> check(objects in scope, value, the owner's values)
_CHECKS: dict[str, Check] = {
    "appname": lambda objs, v, _: _has(objs, "app.kubernetes.io/name", v),
    "releaseName": lambda objs, v, _: any(o["metadata"]["name"].startswith(f"{v}-") for o in objs),
    "env": lambda objs, v, _: _env_shown(objs, v),
    "podSecurityContext": lambda objs, v, _: _has(objs, "securityContext", v),
    "podAnnotations": lambda objs, v, _: _has(objs, "annotations", v),
    "extraEnvFrom": lambda objs, v, _: _has(objs, "envFrom", v),
    "secretMountPath": lambda objs, v, _: _has(objs, "mountPath", v),
    "ingressAnnotations": lambda objs, v, _: _has([o for o in objs if o["kind"] == "Ingress"], "annotations", v),
    "externalIngressAnnotations": lambda objs, v, _: _has(
        [o for o in objs if o["kind"] == "Ingress" and o["metadata"]["name"].endswith("-external")],
        "annotations", v),
    "serviceAnnotations": lambda objs, v, _: _has([o for o in objs if o["kind"] == "Service"], "annotations", v),
    "networkPolicy": lambda objs, v, _: _has([o for o in objs if o["kind"] == "NetworkPolicy"], "spec",
                                             v.get("spec", v)),
    "persistentVolumeClaims": lambda objs, v, _: all(
        _has([o for o in objs if o["kind"] == "PersistentVolumeClaim"], "spec", spec) for spec in v.values()),
    # the image tag lock: the app's image at that tag, unless image wins (lain4's rule)
    "imageTag": lambda objs, v, owner: "image" in owner or _has(objs, "image", f"{REGISTRY}/every:{v}"),
    # a replicaCount under an hpa is its minReplicas default; the workload has no replicas then
    "replicaCount": lambda objs, v, owner: _has(objs, "replicas", v) or (
        "hpa" in owner and _has(objs, "minReplicas", owner["hpa"].get("minReplicas", v))),
    "nodes": lambda objs, v, _: _has(objs, "matchExpressions", [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": v}]),
    "initContainers": lambda objs, v, _: _has(objs, "initContainers", [{"name": c["name"]} for c in v]),
    "host": lambda objs, v, _: _has(objs, "host", v if "." in v else f"{v}.example.com"),
    "deployName": lambda objs, v, _: _has(objs, "service", {"name": f"every-rel-{v}"}),
    "paths": lambda objs, v, _: all(_has(objs, "path", p) for p in v),
    "tls": lambda objs, v, _: _has(objs, "tls", [v] if isinstance(v, dict) else [{"hosts": []}]),
}

# initContainers items are open mappings, so schema.iter_keys stops at the list: their known fields
_INIT_FIELDS = ("name", "image", "imageTag", "command", "args", "workingDir", "env", "volumeMounts", "resources")
_INIT_CHECKS: dict[str, Check] = {
    "name": lambda objs, v, _: _has(objs, "initContainers", [{"name": v}]),
    "image": lambda objs, v, owner: _has(objs, "initContainers", [{"name": owner["name"], "image": v}]),
    "imageTag": lambda objs, v, owner: _has(
        objs, "initContainers", [{"name": owner["name"], "image": f"{REGISTRY}/every:{v}"}]),
    "env": lambda objs, v, owner: _env_shown(
        [c for o in objs for c in _fields(o, "initContainers") for c in c if c["name"] == owner["name"]], v),
}


def _owners(data: dict[str, Any], parts: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(scope, the mapping holding the leaf key) for every place ``parts`` is set in ``data``."""
    if len(parts) == 1:
        if parts[0] in data:
            yield "", data
        return
    head, rest = parts[0], parts[1:]
    if head in schema.WORKLOAD_KINDS and rest and rest[0].startswith("<"):
        for name, spec in (data.get(head) or {}).items():
            for _, owner in _owners(spec or {}, rest[1:]):
                yield f"{head}/{name}", owner
    elif head.endswith("[]"):
        for index, item in enumerate(data.get(head[:-2]) or []):
            for _, owner in _owners(item, rest):
                yield f"{head[:-2]}/{index}", owner
    elif isinstance(data.get(head), dict):
        yield from _owners(data[head], rest)


def _scope(r: Rendering, data: dict[str, Any], scope: str) -> list[dict[str, Any]]:
    """The rendered objects a key at ``scope`` may show in."""
    if not scope:
        return [m.body for m in r.manifests]
    section, name = scope.split("/")
    if section in ("ingresses", "externalIngresses"):
        host = data[section][int(name)]["host"]
        external = section == "externalIngresses"
        return [m.body for m in r.manifests if m.kind == "Ingress"
                and m.body["spec"]["rules"][0]["host"].split(".")[0] == host.split(".")[0]
                and m.name.endswith("-external") == external]
    return [m.body for m in r.manifests
            if (m.body["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == name]


def _leaf_paths() -> list[schema.KeyDoc]:
    keys = [k for k in schema.iter_keys() if not k.lain_only
            and not any(p.removesuffix("[]") in _PASSTHROUGH for p in k.path.split(".")[:-1])]
    paths = {k.path for k in keys}
    leaves = [k for k in keys if not any(p.startswith(k.path + ".") or p.startswith(k.path + "[]") for p in paths)]
    init = [dataclasses.replace(k, path=f"{k.path}[].{f}") for k in keys if k.path.endswith(".initContainers")
            for f in _INIT_FIELDS]
    return leaves + init


def test_no_schema_key_is_silently_ignored(monkeypatch: pytest.MonkeyPatch,
                                           renderings: dict[str, Rendering]) -> None:
    """Every key the chart consumes shows in the every-key app's rendering, where it was set."""
    data = app_context("every-key", monkeypatch).values  # merged, {{ appname }} expanded
    r = render_case("every-key", monkeypatch, renderings)
    ignored, unset, not_distinctive = [], [], []
    for key in _leaf_paths():
        parts = key.path.split(".")
        leaf = parts[-1]
        if parts[0] in schema.WORKLOAD_KINDS and len(parts) > 2 \
                and parts[2].removesuffix("[]") in schema.CONTAINER_FIELDS:
            # the container fields are rendered by one shared pod helper: checked once, through the
            # deployments path, wherever a workload of any kind sets them
            if parts[0] != "deployments":
                continue
            candidates = [[s, *parts[1:]] for s in schema.WORKLOAD_KINDS]
        elif parts[0] in ("deployments", "statefulSets") and len(parts) > 2 \
                and parts[2] in schema.DEPLOYMENT.fields and parts[2] in schema.STATEFULSET.fields:
            # the same for both (replicaCount, ports, podDisruptionBudget): checked through deployments
            if parts[0] != "deployments":
                continue
            candidates = [["deployments", *parts[1:]], ["statefulSets", *parts[1:]]]
        else:
            candidates = [parts]
        owners = [(scope, owner) for c in candidates for scope, owner in _owners(data, c)]
        if not owners:
            unset.append(key.path)
            continue
        if key.default is not None and all(owner[leaf] == key.default for _, owner in owners):
            not_distinctive.append(key.path)
        in_init = "initContainers[]" in parts
        check = (_INIT_CHECKS.get(leaf) if in_init else None) or _CHECKS.get(leaf) \
            or (lambda objs, v, _, leaf=leaf: _has(objs, leaf, v))
        for scope, owner in owners:
            if not check(_scope(r, data, scope), owner[leaf], owner):
                ignored.append(f"{key.path} ({scope or 'top level'}): {owner[leaf]!r}")
    assert unset == [], "keys the every-key app does not set"
    assert not_distinctive == [], "keys set only to their default in the every-key app"
    assert ignored == [], "keys accepted by the schema but not in the rendered manifests"


def test_lain_only_keys_are_lain_consumers() -> None:
    """The keys the chart never sees are exactly these, each used by lain (or warned about)."""
    top = sorted({k.path.split(".")[0] for k in schema.iter_keys() if k.lain_only})
    assert top == ["build", "canaryGroups", "errorLogPattern", "imageTag", "prometheus_query_range",
                   "release", "webhook"]
    # not used yet: accepted with a warning, never silently
    for key in ("canaryGroups", "prometheus_query_range", "release"):
        assert key in schema.NOT_SUPPORTED
    problems = schema.validate_values({"appname": "dummy", "release": {"dest_base": "python:3.11-slim"}})
    assert [(p.path, p.severity) for p in problems] == [(("release",), "warning")]


def test_cluster_external_ingress_class(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("every-key", monkeypatch, renderings)
    ingresses = {m.name: m.body["spec"] for m in r.manifests if m.kind == "Ingress"}
    assert ingresses["every-rel-worker-worker-public-example-org-external"]["ingressClassName"] == "nginx-public"
    # an entry's own ingressClassName wins over the cluster's
    assert ingresses["every-rel-web-every-example-org-external"]["ingressClassName"] == "public"
    assert ingresses["every-rel-web-every"]["ingressClassName"] == "nginx"


def test_top_level_pod_fields_and_per_proc_wins(monkeypatch: pytest.MonkeyPatch,
                                                renderings: dict[str, Rendering]) -> None:
    r = render_case("every-key", monkeypatch, renderings)
    web = r.get("Deployment", "every-rel-web")["spec"]["template"]["spec"]
    worker = r.get("StatefulSet", "every-rel-worker")["spec"]["template"]["spec"]
    assert (web["serviceAccountName"], worker["serviceAccountName"]) == ("web-sa", "every-sa")
    assert (web["nodeSelector"], worker["nodeSelector"]) == ({"pool": "web"}, {"disktype": "ssd"})
    assert web["tolerations"] == [{"key": "web", "operator": "Exists"}]
    assert worker["tolerations"][0]["key"] == "dedicated"
    assert "podAffinity" in web["affinity"] and "podAntiAffinity" not in web["affinity"]
    assert "podAntiAffinity" in worker["affinity"]
    # hostAliases add up: app-level, then the workload's
    assert [a["ip"] for a in web["hostAliases"]] == ["127.0.0.1", "10.0.0.1"]
    # the default grace period (lain4's 100 s) unless the workload sets one
    assert (web["terminationGracePeriodSeconds"], worker["terminationGracePeriodSeconds"]) == (30, 100)


def test_init_container_images_come_from_lain(monkeypatch: pytest.MonkeyPatch,
                                              renderings: dict[str, Rendering]) -> None:
    r = render_case("every-key", monkeypatch, renderings)
    pod = r.get("Deployment", "every-rel-web")["spec"]["template"]["spec"]
    images = {c["name"]: c["image"] for c in pod["initContainers"]}
    assert images == {
        "fixtures": "docker.io/library/busybox:1.36",  # its own image
        "warm": "registry.example.com/team/every-web:pinned",  # the workload's image
        "wait-db": f"{REGISTRY}/every:20231231",  # the app's image at its imageTag
    }
    ctx = app_context("every-key", monkeypatch)
    assert ctx.chart_values()["lain"]["initImages"]["deployments"]["web"] == images


def test_env_mapping_and_list_forms(monkeypatch: pytest.MonkeyPatch, renderings: dict[str, Rendering]) -> None:
    r = render_case("env-list", monkeypatch, renderings)

    def env(kind: str, name: str, container: str = "containers") -> list[dict[str, Any]]:
        spec = r.get(kind, name)["spec"]["template"]["spec"]
        return spec[container][0]["env"]

    secret = {"secretKeyRef": {"name": "db", "key": "password"}}
    web = env("Deployment", "envlist-web")
    assert [e["name"] for e in web] == ["LAIN_CLUSTER", "K8S_NAMESPACE", "DB_PASSWORD", "BIG_NUMBER", "IMAGE_TAG",
                                        "DEBUG", "WORKERS"]
    by_name = {e["name"]: e for e in web}
    assert by_name["DB_PASSWORD"] == {"name": "DB_PASSWORD", "valueFrom": secret}
    assert by_name["BIG_NUMBER"]["value"] == "1000000"
    assert by_name["IMAGE_TAG"]["value"] == "overridden-by-the-app"
    assert (by_name["WORKERS"]["value"], by_name["DEBUG"]["value"]) == ("8", "false")
    init = {e["name"]: e for e in env("Deployment", "envlist-web", "initContainers")}
    assert init["DB_PASSWORD"] == {"name": "DB_PASSWORD", "value": "plain-for-init"}
    job = {e["name"]: e for e in env("Job", "envlist-report")}
    assert job["WORKERS"] == {"name": "WORKERS", "value": "1"}
    assert job["NODE"] == {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    assert job["DB_PASSWORD"]["valueFrom"] == secret


# -- staging -------------------------------------------------------------------


def test_staged_chart_is_private_and_removed() -> None:
    values = {"appname": "dummy", "env": {"N": 1000000, "F": False, "E": None}}
    with chart.staged_chart("dummy", "abc", values) as chart_dir:
        assert stat.S_IMODE(chart_dir.parent.stat().st_mode) == 0o700
        chart_yaml = (chart_dir / "Chart.yaml").read_text()
        assert '"name": "dummy"' in chart_yaml and '"appVersion": "abc"' in chart_yaml
        assert (chart_dir / "templates" / "deployment.yaml").is_file()
        written = (chart_dir / "values.yaml").read_text()
        assert '"N": "1000000"' in written and '"F": "false"' in written and '"E": ""' in written
    assert not chart_dir.parent.exists()


def test_staged_chart_removed_on_error() -> None:
    with pytest.raises(KeyboardInterrupt), chart.staged_chart("dummy", "abc", {"appname": "dummy"}) as chart_dir:
        raise KeyboardInterrupt
    assert not chart_dir.parent.exists()


def test_values_for_helm_stringifies_every_env_mapping() -> None:
    doc = chart.values_for_helm({
        "env": {"A": 1},
        "deployments": {"web": {"env": {"B": True}, "initContainers": [{"name": "i", "env": {"C": 1.5}}]}},
        "jobs": {"j": {"env": [{"name": "D", "value": "x"}]}},
    })
    assert doc["env"] == {"A": "1"}
    assert doc["deployments"]["web"]["env"] == {"B": "true"}
    assert doc["deployments"]["web"]["initContainers"][0]["env"] == {"C": "1.5"}
    assert doc["jobs"]["j"]["env"] == [{"name": "D", "value": "x"}]  # a Kubernetes list stays as written


def test_write_manifests_one_file_per_object(tmp_path: Path) -> None:
    rendered = (
        "---\n# Source: d/templates/service.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: d-web\n"
        "---\n# Source: d/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d-web\n"
    )
    written = chart.write_manifests(rendered, tmp_path / "out")
    assert [p.name for p in written] == ["service-d-web.yaml", "deployment-d-web.yaml"]
    assert written[1].read_text().startswith("# Source: d/templates/deployment.yaml\napiVersion: apps/v1\n")
