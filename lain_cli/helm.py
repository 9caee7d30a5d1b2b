"""The one place that builds helm argv, and helpers for what helm prints.

argv builders are small pure functions of the helm binary, its major version
and the request, so every flag is tested exactly (tests/test_helm.py); the
runners below them go through :func:`lain_cli.proc.run`.  Flags that differ
between helm 3 and helm 4 are decided here and nowhere else.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from lain_cli.errors import CommandFailed, ConfigError, ToolError

if TYPE_CHECKING:
    from lain_cli.clusters import Cluster

# helm template/lint are local work; a minute means something is wrong.
RENDER_TIMEOUT = 120

_SOURCE_RE = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_DOC_SPLIT_RE = re.compile(r"^---[ \t]*$", re.MULTILINE)
# "Error: execution error at (dummy/templates/ingress.yaml:13:44): <the chart's message>"
_EXECUTION_ERROR_RE = re.compile(r"execution error at \(([^)]*)\): (.+)$")


def _check_major(major: int) -> None:
    if major not in (3, 4):
        raise ToolError(f"helm {major}.x is not supported (lain supports helm 3.17+ and 4.x)")


def template_argv(
    helm: str,
    major: int,
    release: str,
    chart_dir: str | os.PathLike[str],
    *,
    namespace: str | None = None,
    kube_version: str | None = None,
    values_files: Sequence[str | os.PathLike[str]] = (),
) -> list[str]:
    """``helm template`` of a staged chart (its values.yaml already holds the app's values).

    helm 3 and 4 take the same flags here; the major is checked so a future
    difference has one place to go.
    """
    _check_major(major)
    argv = [helm, "template", release, os.fspath(chart_dir)]
    if namespace:
        argv += ["--namespace", namespace]
    if kube_version:
        argv += ["--kube-version", kube_version]
    for path in values_files:
        argv += ["--values", os.fspath(path)]
    return argv


def lint_argv(
    helm: str,
    major: int,
    chart_dir: str | os.PathLike[str],
    *,
    namespace: str | None = None,
    kube_version: str | None = None,
    strict: bool = False,
    values_files: Sequence[str | os.PathLike[str]] = (),
) -> list[str]:
    """``helm lint`` of a staged chart."""
    _check_major(major)
    argv = [helm, "lint", os.fspath(chart_dir)]
    if namespace:
        argv += ["--namespace", namespace]
    if kube_version:
        argv += ["--kube-version", kube_version]
    if strict:
        argv.append("--strict")
    for path in values_files:
        argv += ["--values", os.fspath(path)]
    return argv


@dataclass(frozen=True)
class Manifest:
    """One rendered object: the template that produced it and its parsed body."""

    source: str
    text: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def label(self) -> str:
        """``Deployment dummy-web``: how errors name the object."""
        return f"{self.kind} {self.name}".strip()


def split_documents(rendered: str) -> Iterator[tuple[str, str]]:
    """(source template, document text) for each non-empty document of helm output."""
    for chunk in _DOC_SPLIT_RE.split(rendered):
        match = _SOURCE_RE.search(chunk)
        source = match.group(1).strip() if match else ""
        body = _SOURCE_RE.sub("", chunk).strip("\n")
        if body.strip() and any(
            line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()
        ):
            yield source, body + "\n"


@cache
def _manifest_loader() -> type:
    """A YAML 1.2-minded PyYAML loader (the C one when built): fast on big renders.

    PyYAML comes with kubernetes-validate.  Unlike YAML 1.1 it reads ``yes``,
    ``on`` and ``2024-01-01`` as strings, as Kubernetes does.
    """
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class ManifestLoader(base):  # type: ignore[misc, valid-type]
        pass

    resolvers = {}
    for first, entries in base.yaml_implicit_resolvers.items():
        kept = [
            (tag, regexp)
            for tag, regexp in entries
            if tag != "tag:yaml.org,2002:timestamp"
        ]
        resolvers[first] = [
            (tag, _YAML12_BOOL if tag == "tag:yaml.org,2002:bool" else regexp) for tag, regexp in kept
        ]
    ManifestLoader.yaml_implicit_resolvers = resolvers
    return ManifestLoader


_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def parse_manifests(rendered: str) -> list[Manifest]:
    """The objects of ``helm template`` output, in helm's order."""
    import yaml

    loader = _manifest_loader()
    manifests = []
    for source, text in split_documents(rendered):
        try:
            body = yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"the chart rendered invalid YAML in {source or 'a template'}: {exc}",
                hint="this is a bug in lain's chart or a value that breaks YAML; run `lain -v template` to see it",
            ) from exc
        if isinstance(body, dict):
            manifests.append(Manifest(source, text, body))
    return manifests


def parse_json(stdout: str, what: str) -> Any:
    """helm's ``-o json`` output, or a CommandFailed naming ``what`` when it is not JSON."""
    try:
        return json.loads(stdout or "null")
    except ValueError as exc:
        raise CommandFailed(
            ["helm", what], 0, stdout, "", message=f"helm {what} printed something that is not JSON"
        ) from exc


def explain_render_error(stderr: str) -> str:
    """The useful part of a failed ``helm template``: the chart's own message when it has one."""
    lines = [
        ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("Use --debug")
    ]
    for line in reversed(lines):
        match = _EXECUTION_ERROR_RE.search(line)
        if match:
            message = match.group(2)
            # older helm: "error calling required: <message>"
            return re.sub(r"^error calling \w+: ", "", message)
    return lines[-1].removeprefix("Error: ") if lines else "helm template failed"


def render(
    chart_dir: str | os.PathLike[str],
    release: str,
    *,
    namespace: str | None = None,
    kube_version: str | None = None,
) -> str:
    """Run ``helm template`` on a staged chart and return its stdout.

    A template error (a ``required`` or ``fail`` in the chart, which is how
    the chart reports values it cannot render) becomes a ConfigError.
    """
    from lain_cli import proc, tools

    helm = tools.helm()
    argv = template_argv(
        helm.path, helm.major, release, chart_dir, namespace=namespace, kube_version=kube_version
    )
    result = proc.run(argv, timeout=RENDER_TIMEOUT, check=False)
    if not result.ok:
        raise ConfigError(
            f"helm could not render the chart: {explain_render_error(result.stderr)}",
            hint="fix the values named above; `lain -v template` shows the helm command",
        )
    return result.stdout


@dataclass(frozen=True)
class LintResult:
    ok: bool
    messages: list[str]


def lint(
    chart_dir: str | os.PathLike[str],
    *,
    namespace: str | None = None,
    kube_version: str | None = None,
) -> LintResult:
    """Run ``helm lint --strict`` on a staged chart; its [ERROR]/[WARNING] lines."""
    from lain_cli import proc, tools

    helm = tools.helm()
    argv = lint_argv(
        helm.path, helm.major, chart_dir, namespace=namespace, kube_version=kube_version, strict=True
    )
    result = proc.run(argv, timeout=RENDER_TIMEOUT, check=False)
    return LintResult(result.ok, parse_lint_messages(result.stdout + "\n" + result.stderr))


def parse_lint_messages(output: str) -> list[str]:
    """The [ERROR] and [WARNING] lines of ``helm lint`` output, de-duplicated, in order."""
    seen: list[str] = []
    for line in output.splitlines():
        line = line.strip()
        if (line.startswith("[ERROR]") or line.startswith("[WARNING]")) and line not in seen:
            seen.append(line)
    return seen


# -- releases: upgrade, rollback and what helm recorded (lain deploy/rollback/history/diff) --
#
# lain never asks helm to wait for workloads: it tracks the rollout itself with
# fail-fast verdicts.  helm 3 therefore gets no --wait; helm 4 gets its
# hook-only strategy spelled out (its default), so hooks (migrations) are still
# waited for by both.  helm 4's server-side apply default is kept.

def helm_duration(seconds: float) -> str:
    """A helm ``--timeout`` value: whole seconds, at least one."""
    return f"{max(1, int(round(seconds)))}s"


def upgrade_argv(
    helm: str,
    major: int,
    release: str,
    chart_dir: str | os.PathLike[str],
    *,
    cluster_args: Sequence[str] = (),
    description: str = "",
    timeout: float = 300,
    history_max: int = 10,
    dry_run: bool = False,
) -> list[str]:
    """``helm upgrade --install`` of a staged chart whose values.yaml holds every value.

    ``--reset-values`` makes the staged values the whole truth: nothing from a
    previous revision's ``--set`` is carried over.  ``dry_run``: helm's
    ``--dry-run=server`` (both majors spell it so), printing the release it would
    make as JSON: helm reads the cluster (history, lookups, objects that would
    clash) but records nothing, runs no hook and writes no object.
    """
    _check_major(major)
    argv = [helm, "upgrade", release, os.fspath(chart_dir), "--install", *cluster_args, "--reset-values"]
    if description:
        argv += ["--description", description]
    argv += ["--timeout", helm_duration(timeout), "--history-max", str(history_max)]
    if major == 4:
        argv.append("--wait=hookOnly")
    if dry_run:
        argv += ["--dry-run=server", "--output", "json"]
    return argv


@dataclass(frozen=True)
class DryRunRelease:
    """What ``helm upgrade --dry-run=server --output json`` says the release would be."""

    revision: int
    manifest: str  # the objects helm would apply
    hooks: tuple[tuple[str, tuple[str, ...], str], ...]  # (hook name, events, manifest)


def parse_dry_run(stdout: str) -> DryRunRelease:
    """The release document of a dry-run upgrade (same shape from helm 3 and helm 4)."""
    doc = parse_json(stdout, "upgrade --dry-run")
    if not isinstance(doc, dict):
        raise CommandFailed(["helm", "upgrade --dry-run"], 0, stdout, "",
                            message="helm upgrade --dry-run printed no release")
    hooks = []
    for hook in doc.get("hooks") or []:
        if isinstance(hook, dict):
            events = tuple(str(e) for e in hook.get("events") or [])
            hooks.append((str(hook.get("name", "")), events, str(hook.get("manifest", ""))))
    return DryRunRelease(int(doc.get("version") or 0), str(doc.get("manifest") or ""), tuple(hooks))


def rollback_argv(
    helm: str,
    major: int,
    release: str,
    revision: int,
    *,
    cluster_args: Sequence[str] = (),
    timeout: float = 300,
    history_max: int = 10,
) -> list[str]:
    """``helm rollback RELEASE REVISION`` without waiting for workloads (lain tracks them)."""
    _check_major(major)
    argv = [helm, "rollback", release, str(revision), *cluster_args]
    argv += ["--timeout", helm_duration(timeout), "--history-max", str(history_max)]
    if major == 4:
        argv.append("--wait=hookOnly")
    return argv


def uninstall_argv(
    helm: str, major: int, release: str, *, cluster_args: Sequence[str] = (), timeout: float = 300
) -> list[str]:
    """``helm uninstall RELEASE``: lain waits for the objects to go itself (helm only runs hooks)."""
    _check_major(major)
    return [helm, "uninstall", release, *cluster_args, "--timeout", helm_duration(timeout)]


def history_argv(
    helm: str, major: int, release: str, *, cluster_args: Sequence[str] = (), max_revisions: int = 256
) -> list[str]:
    _check_major(major)
    return [helm, "history", release, *cluster_args, "--max", str(max_revisions), "--output", "json"]


def get_values_argv(
    helm: str, major: int, release: str, *, cluster_args: Sequence[str] = (), revision: int | None = None
) -> list[str]:
    """``helm get values --all``: lain stages every value in the chart, so --all is the whole document."""
    _check_major(major)
    argv = [helm, "get", "values", release, *cluster_args, "--all", "--output", "json"]
    if revision is not None:
        argv += ["--revision", str(revision)]
    return argv


def get_manifest_argv(
    helm: str,
    major: int,
    release: str,
    *,
    cluster_args: Sequence[str] = (),
    revision: int | None = None,
    hooks: bool = False,
) -> list[str]:
    """``helm get manifest`` (or ``get hooks``): the objects a revision applied."""
    _check_major(major)
    argv = [helm, "get", "hooks" if hooks else "manifest", release, *cluster_args]
    if revision is not None:
        argv += ["--revision", str(revision)]
    return argv


_KLOG = re.compile(r"^[EWI]\d{4} \d\d:\d\d:\d\d\.\d+ ")


def error_lines(output: str, lines: int = 8) -> list[str]:
    """The last lines of helm's output worth showing: client-go's klog noise
    (``E1201 ... reflector.go ... Failed to watch``) left out, as it repeats the
    error helm states itself."""
    kept = [ln.rstrip() for ln in output.splitlines() if ln.strip() and not _KLOG.match(ln)]
    return kept[-lines:]


def release_not_found(stderr: str) -> bool:
    """True when helm says the release does not exist (both majors word it this way)."""
    return "release: not found" in stderr or "release not found" in stderr.lower()


# -- helm test (lain status --test) --

TEST_TIMEOUT = 300
_FAILED_TEST_RE = re.compile(r"pod (\S+) failed")


def test_argv(
    helm: str, major: int, release: str, *, cluster_args: Sequence[str] = (), timeout: float = TEST_TIMEOUT
) -> list[str]:
    """``helm test`` of a release, printing the test pods' logs (same flags in helm 3 and 4)."""
    _check_major(major)
    return [helm, "test", release, *cluster_args, "--logs", "--timeout", helm_duration(timeout)]


def failed_tests(output: str) -> list[str]:
    """The test pods helm names as failed (``pod dummy-test-smoke failed``), in order."""
    names: list[str] = []
    for name in _FAILED_TEST_RE.findall(output):
        if name not in names:
            names.append(name)
    return names


def run_tests(cluster: Cluster, release: str, *, timeout: float = TEST_TIMEOUT) -> tuple[bool, list[str], list[str]]:
    """Run the release's test pods: (passed, output lines, failed test pods)."""
    from lain_cli import proc, tools

    helm = tools.helm()
    argv = test_argv(helm.path, helm.major, release, cluster_args=cluster.helm_args(), timeout=timeout)
    result = proc.run(argv, timeout=timeout + 30, check=False)
    output = (result.stdout + "\n" + result.stderr).strip()
    return result.ok, output.splitlines(), failed_tests(output)
