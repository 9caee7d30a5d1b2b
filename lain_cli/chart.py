"""Staging lain's built-in chart for one render or deploy.

:func:`staged_chart` copies ``chart_template/`` into a private temporary
directory (mode 0700), writes ``Chart.yaml`` (name = release name, appVersion
= image tag) and ``values.yaml`` (the app's ``chart_values()``), and removes
the directory on every exit path.  Chart values hold no secrets (env and
secret files live in Kubernetes Secrets), but the directory is private anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lain_cli import __version__
from lain_cli.errors import ToolError

if TYPE_CHECKING:
    from lain_cli.context import AppContext

_PACKAGE_DIR = Path(__file__).resolve().parent

# Where workloads keep an env (its values stringified before helm sees them, see below).
_WORKLOAD_KINDS = ("deployments", "statefulSets", "jobs", "cronjobs", "tests")


def template_dir() -> Path:
    """The chart shipped with lain: inside the installed package, else the checkout's."""
    for candidate in (_PACKAGE_DIR / "chart_template", _PACKAGE_DIR.parent / "chart_template"):
        if (candidate / "Chart.yaml").is_file() and (candidate / "templates").is_dir():
            return candidate
    raise ToolError(
        "lain's chart (chart_template/) is missing from this installation",
        hint="reinstall lain (`make setup` in a checkout)",
    )


def chart_yaml(release: str, image_tag: str) -> str:
    """Chart.yaml of a staged chart."""
    doc = {
        "apiVersion": "v2",
        "name": release,
        "description": f"{release}, rendered by lain from chart/values.yaml",
        "type": "application",
        "version": __version__,
        "appVersion": image_tag or "unknown",
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def env_string(value: Any) -> str:
    """A YAML scalar as the string Kubernetes gets, spelled as the user wrote it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _stringify_env(env: Any) -> Any:
    if isinstance(env, Mapping):
        return {str(k): env_string(v) for k, v in env.items()}
    if isinstance(env, list):  # a Kubernetes env list: each item's value, if any
        return [{**item, "value": env_string(item["value"])} if isinstance(item, Mapping) and "value" in item
                else item for item in env]
    return env


def values_for_helm(values: Mapping[str, Any]) -> dict[str, Any]:
    """``chart_values()`` prepared for helm: every ``env`` value stringified here.

    helm turns numbers into float64 (``1000000`` would reach the container as
    ``1e+06``), so env values are made strings before helm parses them.
    """
    doc = dict(values)
    if "env" in doc:
        doc["env"] = _stringify_env(doc["env"])
    for kind in _WORKLOAD_KINDS:
        workloads = doc.get(kind)
        if not isinstance(workloads, Mapping):
            continue
        prepared = {}
        for name, spec in workloads.items():
            if isinstance(spec, Mapping):
                spec = dict(spec)
                if "env" in spec:
                    spec["env"] = _stringify_env(spec["env"])
                if isinstance(spec.get("initContainers"), list):
                    spec["initContainers"] = [
                        {**c, "env": _stringify_env(c["env"])} if isinstance(c, Mapping) and "env" in c else c
                        for c in spec["initContainers"]
                    ]
            prepared[name] = spec
        doc[kind] = prepared
    return doc


def write_values(path: Path, values: Mapping[str, Any]) -> None:
    """values.yaml as JSON (valid YAML): no YAML 1.1 surprises such as ``on`` becoming true."""
    path.write_text(json.dumps(values_for_helm(values), indent=1, ensure_ascii=False, default=str) + "\n")


@contextmanager
def staged_chart(release: str, image_tag: str, values: Mapping[str, Any]) -> Iterator[Path]:
    """A private copy of the chart with the app's values, removed on exit (Ctrl-C included)."""
    source = template_dir()
    tmp = Path(tempfile.mkdtemp(prefix="lain-chart-"))
    try:
        os.chmod(tmp, 0o700)
        chart = tmp / release
        shutil.copytree(source, chart, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (chart / "Chart.yaml").write_text(chart_yaml(release, image_tag))
        write_values(chart / "values.yaml", values)
        yield chart
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render_app(ctx: AppContext, *, kube_version: str | None = None,
               values: Mapping[str, Any] | None = None) -> str:
    """``helm template`` output of an AppContext's release, exactly as deploy renders it
    (``values``: chart values other than ``ctx.chart_values()``, e.g. a takeover's)."""
    from lain_cli import helm

    with staged_chart(ctx.release_name, ctx.image_tag, values or ctx.chart_values()) as chart_dir:
        return helm.render(chart_dir, ctx.release_name, namespace=ctx.namespace, kube_version=kube_version)


def manifest_filename(kind: str, name: str) -> str:
    """``deployment-dummy-web.yaml``: the file ``lain template --output`` writes an object to."""
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in f"{kind.lower()}-{name}")
    return f"{safe}.yaml"


def write_manifests(rendered: str, directory: Path) -> list[Path]:
    """One file per rendered object in ``directory`` (created if missing); the files written."""
    from lain_cli import helm

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for manifest in helm.parse_manifests(rendered):
        path = directory / manifest_filename(manifest.kind, manifest.name)
        if path in written:
            stem, n = path.stem, 2
            while path in written:
                path = directory / f"{stem}-{n}.yaml"
                n += 1
        header = f"# Source: {manifest.source}\n" if manifest.source else ""
        path.write_text(header + manifest.text)
        written.append(path)
    return written
