"""`lain diff`: what a deploy would change, resource by resource.

Both sides are parsed objects: what ``helm template`` renders now, and what the
deployed revision applied (``helm get manifest`` plus ``helm get hooks``).  Each
object is dumped the same way (sorted keys) and compared with a unified diff.
lain's per-deploy bookkeeping annotations (who deployed, the git revision, the
values checksum) are left out of the comparison: they change on every deploy.
Secret ``data``/``stringData`` values never appear: every value is replaced by
``***`` on both sides, marked ``(changed)`` where old and new differ, so a
diff says *which* keys change without saying to what.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

MASK = "***"
SECRET_FIELDS = ("data", "stringData")
# Bookkeeping lain writes on every deploy (who, which commit, values checksum, and
# the run id on hook Jobs):
# they always differ, so comparing them would make every workload look changed.
BOOKKEEPING_ANNOTATIONS = (
    "lain.dev/git-revision", "lain.dev/deployed-by", "lain.dev/values-checksum", "lain.dev/run-id",
    "lain.dev/revision",
)


@dataclass(frozen=True)
class ResourceDiff:
    key: str  # "Deployment dummy-web"
    change: str  # added | removed | changed
    lines: tuple[str, ...]  # unified diff (or the whole object for added/removed)


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')} {meta.get('name', '?')}"


def index(objects: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {object_key(o): dict(o) for o in objects if isinstance(o, Mapping) and o.get("kind")}


def _is_secret(obj: Mapping[str, Any] | None) -> bool:
    return bool(obj) and obj.get("kind") == "Secret"  # type: ignore[union-attr]


def mask_secrets(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Copies of an old/new pair with Secret values masked, changed ones marked."""
    old_c = json.loads(json.dumps(old)) if old is not None else None
    new_c = json.loads(json.dumps(new)) if new is not None else None
    for field in SECRET_FIELDS:
        old_vals = (old_c or {}).get(field) if _is_secret(old_c) else None
        new_vals = (new_c or {}).get(field) if _is_secret(new_c) else None
        old_vals = old_vals if isinstance(old_vals, dict) else {}
        new_vals = new_vals if isinstance(new_vals, dict) else {}
        for key in set(old_vals) | set(new_vals):
            changed = key in old_vals and key in new_vals and old_vals[key] != new_vals[key]
            mark = f"{MASK} (changed)" if changed else MASK
            if key in old_vals:
                old_vals[key] = mark
            if key in new_vals:
                new_vals[key] = mark
        for doc, vals in ((old_c, old_vals), (new_c, new_vals)):
            if doc is not None and _is_secret(doc) and field in doc and doc[field] is not None:
                doc[field] = vals
    # Any Secret outside the pair logic (odd shapes) still gets masked.
    for doc in (old_c, new_c):
        if _is_secret(doc):
            for field in SECRET_FIELDS:
                if doc is not None and isinstance(doc.get(field), str):
                    doc[field] = MASK
    return old_c, new_c


def drop_bookkeeping(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """``obj`` without lain's per-deploy annotations (in place; ``obj`` is a private copy)."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        for key in BOOKKEEPING_ANNOTATIONS:
            annotations.pop(key, None)
        if not annotations:
            del obj["metadata"]["annotations"]  # type: ignore[index]
    return obj


def dump(obj: Mapping[str, Any] | None) -> list[str]:
    """A stable YAML rendering (sorted keys) as lines."""
    if obj is None:
        return []
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(_sorted(obj), buffer)
    return buffer.getvalue().splitlines()


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def diff_objects(
    deployed: Iterable[Mapping[str, Any]], rendered: Iterable[Mapping[str, Any]]
) -> list[ResourceDiff]:
    """Per-resource differences between the deployed objects and the rendered ones."""
    old_index, new_index = index(deployed), index(rendered)
    diffs = []
    for key in sorted(set(old_index) | set(new_index)):
        old, new = mask_secrets(old_index.get(key), new_index.get(key))
        old, new = drop_bookkeeping(old), drop_bookkeeping(new)
        old_lines, new_lines = dump(old), dump(new)
        if old_lines == new_lines:
            continue
        if old is None:
            diffs.append(ResourceDiff(key, "added", tuple(f"+ {ln}" for ln in new_lines)))
        elif new is None:
            diffs.append(ResourceDiff(key, "removed", tuple(f"- {ln}" for ln in old_lines)))
        else:
            unified = difflib.unified_diff(old_lines, new_lines, "deployed", "new", n=3, lineterm="")
            body = [ln for ln in unified if not ln.startswith(("---", "+++"))]
            diffs.append(ResourceDiff(key, "changed", tuple(body)))
    return diffs


MARKS = {"added": "+", "removed": "-", "changed": "~"}


def lines(diffs: Iterable[ResourceDiff]) -> list[str]:
    """How ``lain diff`` prints the changes: a headline per resource, its diff indented."""
    out = []
    for change in diffs:
        out.append(f"{MARKS[change.change]} {change.key} ({change.change})")
        out += [f"    {line}" for line in change.lines]
    return out


def as_json(diffs: Iterable[ResourceDiff]) -> list[dict[str, Any]]:
    """The changes as ``lain --json diff`` prints them."""
    return [{"resource": d.key, "change": d.change, "diff": list(d.lines)} for d in diffs]


def summary(diffs: Iterable[ResourceDiff]) -> str:
    counts = {"added": 0, "changed": 0, "removed": 0}
    for d in diffs:
        counts[d.change] += 1
    return f"{counts['changed']} to change, {counts['added']} to add, {counts['removed']} to remove"


class ManifestReader(Protocol):
    def manifest(self, release: str, *, hooks: bool = False) -> str: ...


def deployed_objects(helm: ManifestReader, release: str) -> list[dict[str, Any]]:
    """What the release's current revision applied: its manifest and its hooks."""
    return parse_objects(helm.manifest(release)) + parse_objects(helm.manifest(release, hooks=True))


def parse_objects(text: str) -> list[dict[str, Any]]:
    """Objects of helm manifest output (``helm template``, ``get manifest``, ``get hooks``)."""
    from lain_cli import helm

    return [m.body for m in helm.parse_manifests(text)]
