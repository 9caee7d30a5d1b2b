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

# case -> (app directory, extra -f files, cluster)
CASES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "seed-migration": ("seed-migration", (), "test"),
    # the cluster is named prod, so chart/values-prod.yaml applies on top by itself
    "seed-rolling-update": ("seed-rolling-update", (), "prod"),
    "seed-two-apps": ("seed-two-apps", (), "test"),
    "seed-appname-override": ("seed-two-apps", ("chart/values-dev.yaml",), "test"),
    "every-key": ("every-key", (), "test"),
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
