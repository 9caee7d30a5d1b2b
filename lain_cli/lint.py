"""`lain lint`: values, rendered objects against Kubernetes' schemas, helm lint.

:func:`lint_app` validates the values (loading the AppContext does that and
raises ConfigError), renders the chart with the real ``helm template``,
validates every object, and runs ``helm lint --strict`` on the staged chart.

The schemas are the JSON schemas shipped with ``kubernetes-validate`` (strict:
unknown fields are errors).  Its ``validate()`` re-reads the 1.2 MB definitions
file for every object; here each (version, kind) validator is built once per
process, so validating hundreds of objects costs milliseconds each.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from lain_cli.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from lain_cli.context import AppContext

# The oldest Kubernetes lain renders for; also the default schema version:
# objects valid for 1.30 are valid on every newer cluster lain supports.
MIN_KUBE_VERSION = "1.30"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rendered object."""

    where: str  # "Deployment dummy-web"
    path: str  # "spec.template.spec.containers[0].ports[0].containerPort"
    message: str
    values_key: str | None = None  # "deployments.web.containerPort", where traceable
    origin: str | None = None  # "chart/values.yaml:14": where that key was written

    def render(self) -> str:
        text = f"{self.where}: {self.path}: {self.message}" if self.path else f"{self.where}: {self.message}"
        if self.values_key:
            text += f" (from values key {self.values_key}"
            text += f", {self.origin})" if self.origin else ")"
        return text


def key_path(text: str) -> tuple[str | int, ...]:
    """``("deployments", "web", "initContainers", 0)`` from ``deployments.web.initContainers[0]``."""
    parts: list[str | int] = []
    for segment in text.split("."):
        name, _, rest = segment.partition("[")
        if name:
            parts.append(name)
        for index in re.findall(r"(\d+)\]", "[" + rest if rest else ""):
            parts.append(int(index))
    return tuple(parts)


def locate(problems: Sequence[Problem], where: Callable[[tuple[str | int, ...]], tuple[str, int | None]]) -> list[Problem]:
    """``problems`` with the file and line of their values key (``where`` is ``values.Origins.locate``)."""
    located = []
    for problem in problems:
        if problem.values_key:
            file, line = where(key_path(problem.values_key))
            problem = replace(problem, origin=f"{file}:{line}" if line else file)
        located.append(problem)
    return located


def _minor(version: str) -> tuple[int, int]:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    if not match:
        raise UsageError(f"{version!r} is not a Kubernetes version", hint="write it as 1.30")
    return int(match.group(1)), int(match.group(2))


def shipped_versions() -> list[str]:
    """Kubernetes minors that kubernetes-validate has schemas for (``1.30`` ...)."""
    from kubernetes_validate import utils

    return sorted({".".join(v.split(".")[:2]) for v in utils.all_versions()}, key=_minor)


def schema_version(requested: str | None) -> str:
    """The schema minor to validate against: the newest shipped one not newer than ``requested``.

    ``None`` means the oldest version lain supports (1.30).
    """
    wanted = _minor(requested or MIN_KUBE_VERSION)
    if wanted < _minor(MIN_KUBE_VERSION):
        raise UsageError(
            f"Kubernetes {requested} is older than lain supports ({MIN_KUBE_VERSION}+)",
            hint=f"use --kube-version {MIN_KUBE_VERSION} or newer",
        )
    usable = [v for v in shipped_versions() if _minor(v) <= wanted]
    if not usable:
        raise UsageError(f"kubernetes-validate has no schemas for Kubernetes {requested}")
    return usable[-1]


@cache
def _definitions(version: str) -> Any:
    from kubernetes_validate import utils

    return utils.schema_contents(f"kubernetes-json-schema/v{version}.0-local-strict/_definitions.json", version)


@cache
def _validator(version: str, kind: str, api_version: str) -> Any:
    """A jsonschema validator for one kind, or None when no schema exists for it."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/v{version}.0-local-strict/{kind.lower()}-{group}.json", version
        )
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(_definitions(version)) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def format_path(parts: Iterable[Any]) -> str:
    """``spec.template.spec.containers[0].image`` from a jsonschema error path."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        # "Additional properties are not allowed ('foo' was unexpected)"
        return f"unknown field ({error.message.split('(', 1)[-1].rstrip(')')})"
    return str(error.message)


def validate_object(body: dict[str, Any], version: str) -> list[tuple[str, str]]:
    """(path, message) of every schema violation of one object."""
    kind = str(body.get("kind") or "")
    api_version = str(body.get("apiVersion") or "")
    if not kind or not api_version:
        return [("", "object without kind or apiVersion")]
    validator = _validator(version, kind, api_version)
    if validator is None:
        return [("", f"Kubernetes {version} has no {kind} in {api_version}")]
    checked, kept = _without_plain_env(body, kind)
    errors = sorted(validator.iter_errors(checked), key=lambda e: [str(p) for p in e.absolute_path])
    return [(format_path(_original_path(e.absolute_path, kept)), _message(e)) for e in errors]


# An env entry of exactly a string name and a string value is valid for every
# Kubernetes schema; long env lists are validated without most of those (the
# first stays), each taking the time of a schema lookup.
_PLAIN_ENV_LIST = 20


def _plain_env(entry: Any) -> bool:
    return (type(entry) is dict and len(entry) == 2 and type(entry.get("name")) is str
            and type(entry.get("value")) is str)


def _without_plain_env(body: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[tuple[Any, ...], list[int]]]:
    """``body`` with its long env lists thinned, and for each thinned list the original indexes kept."""
    where = _POD_SPEC.get(kind)
    spec: Any = body
    for part in (where or "").split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return body, {}
    kept: dict[tuple[Any, ...], list[int]] = {}
    new_spec = dict(spec)
    for field_name in ("containers", "initContainers"):
        containers = spec.get(field_name)
        if not isinstance(containers, list):
            continue
        new_containers = list(containers)
        for index, container in enumerate(containers):
            env = container.get("env") if isinstance(container, dict) else None
            if not isinstance(env, list) or len(env) <= _PLAIN_ENV_LIST:
                continue
            plain = [i for i, entry in enumerate(env) if _plain_env(entry)]
            indexes = sorted(set(range(len(env))) - set(plain[1:]))
            kept[(*where.split("."), field_name, index, "env")] = indexes  # type: ignore[union-attr]
            new_containers[index] = {**container, "env": [env[i] for i in indexes]}
        new_spec[field_name] = new_containers
    if not kept:
        return body, {}
    # copy the path down to the pod spec, leaving the caller's object as it was
    parts = where.split(".")  # type: ignore[union-attr]
    copies = [dict(body)]
    for part in parts[:-1]:
        copies.append(dict(copies[-1][part]))
    copies[-1][parts[-1]] = new_spec
    for depth in range(len(parts) - 1, 0, -1):
        copies[depth - 1][parts[depth - 1]] = copies[depth]
    return copies[0], kept


def _original_path(path: Iterable[Any], kept: dict[tuple[Any, ...], list[int]]) -> list[Any]:
    parts = list(path)
    for prefix, indexes in kept.items():
        size = len(prefix)
        if tuple(parts[:size]) == prefix and len(parts) > size and isinstance(parts[size], int):
            parts[size] = indexes[parts[size]]
    return parts


# Where a pod spec sits in each workload kind, and the values key of each kind.
_POD_SPEC = {
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
    "Pod": "spec",
}
_VALUES_KIND = {
    "deployment": "deployments",
    "statefulset": "statefulSets",
    "job": "jobs",
    "cronjob": "cronjobs",
    "test": "tests",
}
# Pod-spec fields lain renders from a differently named values key.
_POD_FIELD_KEYS = {"securityContext": "podSecurityContext"}
_WORKLOAD_SPEC_PREFIXES = ("spec.jobTemplate.spec.", "spec.")


def values_key_for(body: dict[str, Any], path: str) -> str | None:
    """The values key that produced ``path`` of a rendered object, when it can be traced."""
    metadata = body.get("metadata") or {}
    labels = metadata.get("labels") or {}
    component = labels.get("app.kubernetes.io/component")
    values_kind = _VALUES_KIND.get(labels.get("lain.dev/kind", ""))
    kind = body.get("kind")
    if kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget") and component and values_kind:
        field = "hpa" if kind == "HorizontalPodAutoscaler" else "podDisruptionBudget"
        rest = path.removeprefix("spec.")
        return f"{values_kind}.{component}.{field}" + (f".{rest}" if rest and rest != path else "")
    if kind == "NetworkPolicy" and path.startswith("spec"):
        return "networkPolicy." + path
    if kind == "PersistentVolumeClaim" and path.startswith("spec."):
        name = str(metadata.get("name", ""))
        instance = str(labels.get("app.kubernetes.io/instance", ""))
        claim = name.removeprefix(f"{instance}-")
        return f"persistentVolumeClaims.{claim}.{path.removeprefix('spec.')}"
    pod_spec = _POD_SPEC.get(str(kind))
    if not (pod_spec and component and values_kind):
        return None
    base = f"{values_kind}.{component}"
    containers = f"{pod_spec}.containers[0]."
    if path.startswith(containers):
        field = path.removeprefix(containers)
        if field.startswith("ports[0]."):
            return f"{base}.containerPort"
        return f"{base}.{field}"
    init = f"{pod_spec}.initContainers"
    if path.startswith(init):
        return f"{base}.initContainers{path.removeprefix(init)}"
    if path.startswith(f"{pod_spec}."):
        field = path.removeprefix(f"{pod_spec}.")
        head, sep, rest = field.partition(".")
        return f"{base}.{_POD_FIELD_KEYS.get(head, head)}{sep}{rest}"
    for prefix in _WORKLOAD_SPEC_PREFIXES:
        if path.startswith(prefix) and not path.startswith(f"{prefix}template"):
            return f"{base}.{path.removeprefix(prefix)}"
    return None


def validate_manifests(manifests: Sequence[Any], kube_version: str | None = None) -> list[Problem]:
    """Every schema violation of rendered objects (``helm.Manifest``), with the values key where traceable."""
    version = schema_version(kube_version)
    problems = []
    for manifest in manifests:
        for path, message in validate_object(manifest.body, version):
            problems.append(Problem(manifest.label, path, message, values_key_for(manifest.body, path)))
    return problems


def duplicate_objects(manifests: Sequence[Any]) -> list[Problem]:
    """Objects rendered twice under the same kind and name (helm would refuse to install them)."""
    seen: dict[tuple[str, str], int] = {}
    problems = []
    for manifest in manifests:
        key = (manifest.kind, manifest.name)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            problems.append(
                Problem(
                    manifest.label,
                    "",
                    "rendered more than once (two ingresses with the same host and deployName?)",
                )
            )
    return problems


@dataclass(frozen=True)
class LintReport:
    """What ``lain lint`` found; ``problems`` empty means clean."""

    objects: int
    schema_version: str
    problems: list[Problem]
    helm_messages: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.helm_messages

    def error(self) -> ConfigError:
        """The problems as one ConfigError (exit 2), each on its own line."""
        details = [p.render() for p in self.problems] + self.helm_messages
        count = len(details)
        return ConfigError(
            f"{count} problem{'s' if count != 1 else ''} in the rendered manifests",
            details=details,
            hint="fix the values keys named above; `lain template` shows the rendered objects",
        )


def _in_background(work: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``work`` in a thread; the returned function waits for its result (or raises its error).

    helm lint renders the chart again on its own: run beside lain's render and
    validation, a big app's lint takes the longer of the two, not their sum.
    """
    import threading

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="helm-lint", daemon=True)
    thread.start()

    def wait() -> Any:
        while thread.is_alive():
            thread.join(0.1)  # short waits keep Ctrl-C responsive
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return wait


def lint_rendered(
    chart_dir: Any,
    release: str,
    *,
    namespace: str | None = None,
    kube_version: str | None = None,
    run_helm_lint: bool = True,
) -> LintReport:
    """Render a staged chart, validate every object and (optionally) run helm lint on it."""
    from lain_cli import helm

    version = schema_version(kube_version)
    linting = _in_background(lambda: helm.lint(chart_dir, namespace=namespace, kube_version=version)) \
        if run_helm_lint else None
    try:
        rendered = helm.render(chart_dir, release, namespace=namespace, kube_version=version)
        manifests = helm.parse_manifests(rendered)
        problems = duplicate_objects(manifests) + validate_manifests(manifests, version)
    except BaseException:
        if linting is not None:  # no helm left running on a chart directory about to go
            with contextlib.suppress(Exception):
                linting()
        raise
    messages: list[str] = []
    if linting is not None:
        result = linting()
        messages = result.messages
        if not result.ok and not messages:
            messages = ["helm lint failed without saying why; run `lain -v lint`"]
    return LintReport(len(manifests), version, problems, messages)


def lint_app(ctx: AppContext, *, kube_version: str | None = None) -> LintReport:
    """Lint an AppContext's release: its chart values rendered, validated and helm-linted."""
    from lain_cli import chart

    with chart.staged_chart(ctx.release_name, ctx.image_tag, ctx.chart_values()) as chart_dir:
        return lint_rendered(
            chart_dir, ctx.release_name, namespace=ctx.namespace, kube_version=kube_version
        )
