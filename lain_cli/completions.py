"""What shell completion offers: cluster names, and the procs, jobs and cronjobs of the app.

Completion runs on every TAB, so it reads local files only (the cluster files'
names, the app's values files) and never the cluster.  It never fails: a
missing or broken file just means nothing to offer, because a traceback or an
error line in the middle of the user's command line helps nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def cluster_names(incomplete: str) -> list[str]:
    """The names of the cluster files lain finds (as `lain use` lists them)."""
    try:
        from lain_cli import clusters

        names = [entry.name for entry in clusters.list_clusters(clusters.find_app_root())]
    except Exception:  # noqa: BLE001 - completion never fails
        return []
    return [name for name in names if name.startswith(incomplete)]


def workload_names(sections: Iterable[str], incomplete: str, *, values_files: Sequence[str] = (),
                   cluster: str | None = None) -> list[str]:
    """The names under ``sections`` (``deployments``, ``jobs`` ...) of the app's values:
    chart/values.yaml, chart/values-<cluster>.yaml and the ``-f`` files, in that order."""
    try:
        found: dict[str, None] = {}
        for document in _values_documents(values_files, cluster):
            for section in sections:
                entries = document.get(section)
                if isinstance(entries, dict):
                    found.update(dict.fromkeys(str(name) for name in entries))
    except Exception:  # noqa: BLE001 - completion never fails
        return []
    return [name for name in found if name.startswith(incomplete)]


def _values_documents(values_files: Sequence[str], cluster: str | None) -> list[dict[str, Any]]:
    from lain_cli import clusters

    root = clusters.find_app_root()
    if root is None:
        return []
    name = cluster or clusters.selected_name()[0]
    paths = [root / "chart" / "values.yaml"]
    if name:
        paths.append(root / "chart" / f"values-{name}.yaml")
    paths += [Path(f) for f in values_files]
    return [doc for doc in (_read(p) for p in paths) if doc]


def _read(path: Path) -> dict[str, Any] | None:
    from lain_cli import values

    try:
        data, _lines = values.parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except Exception:  # noqa: BLE001 - a broken file offers nothing
        return None
    return data if isinstance(data, dict) else None
