"""lain4's spellings, accepted with a one-line deprecation warning that names lain's key.

A ``chart/values.yaml`` written for lain4 deploys unchanged: its section
aliases (``deploy``, ``sts``, ``ing``, ...), a per-ingress ``ingressClass`` and
``build.workdir`` are read as lain's keys.  A cluster file may keep lain4's
``clusterIssuer``, ``domain_suffix``, ``internalRegistry`` and
``clusterHostAliases``.  Each spelling is rewritten in the layer it was written
in, before layers merge, so a lain4 ``deploy:`` in ``values.yaml`` and a
``deployments:`` in ``values-prod.yaml`` merge as one section, and errors
still point at the line the user wrote.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from lain_cli.findings import WARNING, Finding

KeyPath = tuple[str | int, ...]

# lain4's aliases of the values sections (lain4's HelmValuesSchema)
SECTION_ALIASES = {
    "deploy": "deployments",
    "deployment": "deployments",
    "sts": "statefulSets",
    "statefulSet": "statefulSets",
    "statefulset": "statefulSets",
    "cronjob": "cronjobs",
    "job": "jobs",
    "ing": "ingresses",
    "ingress": "ingresses",
    "externalIngress": "externalIngresses",
    "externalIng": "externalIngresses",
}
INGRESS_KEYS = {"ingressClass": "ingressClassName"}
BUILD_KEYS = {"workdir": "workingDir"}


def deprecation(old: str, new: str) -> str:
    return f"lain4's spelling, deprecated: rename it to {new}"


def _rename(lines: dict[KeyPath, int | None], old: KeyPath, new: KeyPath) -> None:
    """Move every line entry under ``old`` to ``new`` (where lain reports the key from now on)."""
    for path in [p for p in lines if p[: len(old)] == old]:
        lines[new + path[len(old):]] = lines.pop(path)


def _merge_into(target: Any, extra: Any) -> Any:
    """lain4 merged an alias into its section: mappings deeply (the alias wins), lists appended."""
    if isinstance(target, Mapping) and isinstance(extra, Mapping):
        merged = dict(target)
        for key, value in extra.items():
            merged[key] = _merge_into(merged[key], value) if key in merged else value
        return merged
    if isinstance(target, list) and isinstance(extra, list):
        return [*target, *extra]
    return extra


def translate_values(name: str, data: dict[str, Any], lines: dict[KeyPath, int | None]
                     ) -> tuple[dict[str, Any], dict[KeyPath, int | None], list[Finding]]:
    """A values layer with lain4's spellings rewritten, its line table to match, and the warnings."""
    if not isinstance(data, dict):
        return data, lines, []
    data = copy.copy(data)
    lines = dict(lines)
    warnings: list[Finding] = []

    def warn(old_path: KeyPath, new_path: KeyPath) -> None:
        from lain_cli.schema import format_path

        warnings.append(Finding(deprecation(format_path(old_path), format_path(new_path)), severity=WARNING,
                                file=name, line=lines.get(old_path), key=format_path(old_path)))

    for alias, section in SECTION_ALIASES.items():
        if alias not in data:
            continue
        warn((alias,), (section,))
        value = data.pop(alias)
        if section in data and data[section] is not None and value is not None:
            data[section] = _merge_into(data[section], value)
            offset = len(data[section]) - len(value) if isinstance(value, list) else 0
            for path in [p for p in lines if p[:1] == (alias,)]:
                rest = path[1:]
                if offset and rest and isinstance(rest[0], int):
                    rest = (rest[0] + offset, *rest[1:])
                lines[(section, *rest)] = lines.pop(path)
        else:
            data[section] = value
            _rename(lines, (alias,), (section,))
    for section in ("ingresses", "externalIngresses"):
        rules = data.get(section)
        if type(rules) is not list:  # a --set list of single items (values._Indexed) is left alone
            continue
        renamed = []
        for index, rule in enumerate(rules):
            if isinstance(rule, Mapping):
                rule = dict(rule)
                for old, new in INGRESS_KEYS.items():
                    if old in rule:
                        warn((section, index, old), (section, index, new))
                        value = rule.pop(old)
                        rule.setdefault(new, value)
                        _rename(lines, (section, index, old), (section, index, new))
            renamed.append(rule)
        data[section] = renamed
    build = data.get("build")
    if isinstance(build, Mapping):
        build = dict(build)
        for old, new in BUILD_KEYS.items():
            if old in build:
                warn(("build", old), ("build", new))
                build.setdefault(new, build.pop(old))
                _rename(lines, ("build", old), ("build", new))
        data["build"] = build
    return data, lines, warnings


# lain4 cluster keys -> where lain keeps them
CLUSTER_KEYS = {
    "clusterIssuer": "ingressTLS.clusterIssuer",
    "domain_suffix": "domain",
    "internalRegistry": "pullRegistry",
    "clusterHostAliases": "hostAliases",
}


def translate_cluster(name: str, data: dict[str, Any], lines: dict[KeyPath, int | None]
                      ) -> tuple[dict[str, Any], list[Finding], list[Finding]]:
    """A cluster file's data with lain4's keys moved to lain's: (data, warnings, errors)."""
    if not isinstance(data, dict):
        return data, [], []
    data = dict(data)
    warnings: list[Finding] = []
    errors: list[Finding] = []
    for old, new in CLUSTER_KEYS.items():
        if old not in data:
            continue
        value = data.pop(old)
        line = lines.get((old,))
        if old == "domain_suffix":
            if not isinstance(value, str) or not value.startswith("."):
                errors.append(Finding(
                    f"lain4's domain_suffix {value!r} does not start with a dot; lain appends "
                    "`.<domain>` to hosts without one: write domain: instead", file=name, line=line, key=old))
                continue
            value = value[1:]
        warnings.append(Finding(deprecation(old, new), severity=WARNING, file=name, line=line, key=old))
        if new == "ingressTLS.clusterIssuer":
            tls = dict(data.get("ingressTLS") or {}) if isinstance(data.get("ingressTLS"), Mapping) else {}
            tls.setdefault("clusterIssuer", value)
            data["ingressTLS"] = tls
        else:
            data.setdefault(new, value)
    return data, warnings, errors
