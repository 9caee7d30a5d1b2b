"""The AppContext: everything a command needs to know about the app, built once.

``load_app_context`` loads and merges the values (design.md §2), validates
them, picks the cluster and the image tag, and derives names.  It never calls
helm or kubectl; the only processes it starts are a few quick ``git`` calls.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lain_cli import clusters, lain4, schema, values
from lain_cli.clusters import Cluster
from lain_cli.errors import ConfigError, LainError, UsageError
from lain_cli.findings import Finding

if TYPE_CHECKING:
    from lain_cli.cli import GlobalOptions

MAX_SHOWN_PROBLEMS = 10
# The image tag of template, lint and diff before the app's first commit (never deployed).
PLACEHOLDER_TAG = "uncommitted"


@dataclass(frozen=True)
class AppContext:
    appname: str
    release_name: str
    cluster: Cluster | None
    namespace: str
    image_repository: str  # <registry>/<appname>: where `deploy --build` pushes
    image_tag: str
    values: dict[str, Any]
    value_files: tuple[str, ...]
    chart_dir: Path
    procs: Mapping[str, str]  # name -> deployment | statefulset | job | cronjob | test
    user: str
    git_revision: str
    images: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # section -> name -> image
    warnings: tuple[Finding, ...] = ()  # what loading the values warned about (lain lint --json lists them)
    pull_repository: str = ""  # where pods pull the image from (the cluster's pullRegistry), else image_repository

    def require_cluster(self) -> Cluster:
        """The cluster to act on; UsageError when none is selected."""
        if self.cluster is None:
            raise UsageError("no cluster selected", hint="run `lain use <cluster>` first")
        return self.cluster

    def image_of(self, name: str) -> str:
        """The image a proc, job, cronjob or test runs (its imageTag lock or image applied)."""
        for section in schema.WORKLOAD_KINDS:
            if name in self.images.get(section, {}):
                return self.images[section][name]
        raise UsageError(f"unknown proc {name!r}", hint=f"procs: {', '.join(self.procs) or 'none'}")

    def values_checksum(self) -> str:
        import hashlib  # OpenSSL's library is loaded with it: only when asked

        text = json.dumps(self.values, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def chart_values(self) -> dict[str, Any]:
        """The one document handed to helm: the user's values plus the reserved ``lain`` block."""
        cluster = self.cluster
        doc = values.copy_plain(self.values)
        doc["lain"] = {
            "appname": self.appname,
            "releaseName": self.release_name,
            "cluster": {
                "name": cluster.name if cluster else "",
                "namespace": self.namespace,
                "domain": cluster.domain if cluster else "",
                "ingressClass": cluster.ingress_class if cluster else "",
                "externalIngressClass": cluster.external_ingress_class if cluster else "",
                "registry": cluster.registry if cluster else "",
                "hostAliases": list(cluster.host_aliases) if cluster else [],
                "tlsClusterIssuer": cluster.tls_cluster_issuer if cluster else "",
            },
            "imageTag": self.image_tag,
            "images": {section: dict(self.images.get(section, {})) for section in schema.WORKLOAD_KINDS},
            "initImages": init_images(self.values, self.images, self.pull_repository or self.image_repository),
            "user": self.user,
            "gitRevision": self.git_revision,
            "valuesChecksum": self.values_checksum(),
        }
        return doc


def find_chart_dir() -> Path:
    root = clusters.find_app_root()
    if root is None:
        raise ConfigError(
            "not found in this directory or its parents",
            file="chart/values.yaml",
            hint="run lain init to create it, or cd into the app's repo",
        )
    return root / "chart"


def collect_layers(
    chart_dir: Path,
    cluster: Cluster | None,
    values_files: Sequence[str],
    sets: Sequence[str],
    warnings: list[Finding] | None = None,
) -> list[values.Layer]:
    """Every layer in merge order (design.md §2), ``--set`` last, lain4's spellings rewritten
    (their deprecation warnings appended to ``warnings``)."""
    layers = _collect_layers(chart_dir, cluster, values_files, sets)
    translated = []
    for layer in layers:
        data, lines, found = lain4.translate_values(layer.name, layer.data, layer.lines)
        translated.append(values.Layer(layer.name, data, lines))
        if warnings is not None:
            warnings += found
    return translated


def _collect_layers(
    chart_dir: Path, cluster: Cluster | None, values_files: Sequence[str], sets: Sequence[str]
) -> list[values.Layer]:
    layers = [values.Layer("lain defaults", schema.lain_defaults())]
    if cluster is not None and cluster.values:
        layers.append(values.Layer(cluster.source, cluster.values, dict(cluster.values_lines)))
    layers.append(values.load_file(chart_dir / "values.yaml", missing_hint="run lain init to create it"))
    if cluster is not None:
        per_cluster = chart_dir / f"values-{cluster.name}.yaml"
        if per_cluster.is_file():
            layers.append(values.load_file(per_cluster))
    for extra in values_files:
        layers.append(values.load_file(extra, missing_hint="check the path given to -f/--values"))
    if sets:
        layers.append(values.set_layer(sets))
    return layers


def merge_and_validate(layers: Sequence[values.Layer]) -> tuple[dict[str, Any], list[Finding]]:
    """Merged values (``{{ appname }}`` expanded) and their warnings, located; ConfigError on any error."""
    file_layers = [layer for layer in layers if layer.name != "--set"]
    merged = values.merge_layers(file_layers)
    for layer in layers:
        if layer.name == "--set":
            merged = values.apply_list_sets(merged, layer)
    merged = values.finalize(merged)
    appname = merged.get("appname")
    if isinstance(appname, str):
        merged = values.expand_appname(merged, appname)
    problems = schema.validate_values(merged)
    origins = values.Origins(layers, default_file=_main_file(layers))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise problems_error(errors, origins)
    return merged, [finding_of(p, origins) for p in problems if p.severity == "warning"]


def _main_file(layers: Sequence[values.Layer]) -> str:
    for layer in layers:
        if layer.name.endswith("values.yaml"):
            return layer.name
    return "chart/values.yaml"


def finding_of(problem: schema.Problem, origins: values.Origins) -> Finding:
    """A schema problem with the file and line of its key."""
    file, line = origins.locate(problem.path)
    return Finding(problem.message, severity=problem.severity, file=file, line=line,
                   key=schema.format_path(problem.path) or None)


def locate_problem(problem: schema.Problem, origins: values.Origins) -> str:
    found = finding_of(problem, origins)
    where = f"{found.file}:{found.line}" if found.line else found.file
    return f"{where}: {found.key or '(top level)'}: {problem.message}"


def problems_error(problems: Sequence[schema.Problem], origins: values.Origins) -> ConfigError:
    """One ConfigError for all problems: the only one inline, several as details."""
    hint = "fix the values and check them with lain lint"
    findings = [finding_of(p, origins) for p in problems]
    if len(problems) == 1:
        problem = problems[0]
        file, line = origins.locate(problem.path)
        return ConfigError(problem.message, file=file, line=line,
                           key_path=schema.format_path(problem.path) or None, hint=hint, findings=findings)
    shown = [locate_problem(p, origins) for p in problems[:MAX_SHOWN_PROBLEMS]]
    if len(problems) > MAX_SHOWN_PROBLEMS:
        shown.append(f"... and {len(problems) - MAX_SHOWN_PROBLEMS} more")
    return ConfigError(f"{len(problems)} problems in the values", details=shown, hint=hint, findings=findings)


def load_app_context(
    opts: GlobalOptions,
    *,
    sets: Sequence[str] = (),
    image_tag: str | None = None,
    need_cluster: bool = True,
    need_image: bool = True,
    placeholder_tag: bool = False,
    announce: bool | None = None,
) -> AppContext:
    """Load, merge and validate everything; raise ConfigError before anything touches the cluster.

    Commands that never roll out an image (env, secret, logs, x, status) pass
    ``need_image=False``: outside git the tag is then left empty instead of
    being an error.  Commands that only show what a deploy would do (template,
    lint, diff) pass ``placeholder_tag=True``: before the first commit the tag
    is :data:`PLACEHOLDER_TAG`, with a warning.

    ``announce`` (default: ``need_cluster``) prints the cluster, context and
    namespace as the command's first line: every command that talks to the
    cluster does.
    """
    from lain_cli import console

    chart_dir = find_chart_dir()
    app_root = chart_dir.parent
    cluster = _pick_cluster(opts, app_root, need_cluster)
    announced = False
    if cluster is not None and (need_cluster if announce is None else announce):
        clusters.announce(cluster)
        announced = True
    spelled: list[Finding] = []
    layers = collect_layers(chart_dir, cluster, opts.values_files, sets, spelled)
    merged, warnings = merge_and_validate(layers)
    from_cluster = list(cluster.warnings) if cluster is not None else []
    for warning in [*([] if announced else from_cluster), *spelled, *warnings]:  # announce() said the cluster's
        console.warn(warning.render())
    warnings = [*from_cluster, *spelled, *warnings]

    git = _GitFacts(app_root, tag_from_git=not image_tag and merged.get("imageTag") in (None, ""))
    tag = _image_tag(image_tag, merged, git, app_root, required=need_image, placeholder=placeholder_tag)
    if tag == PLACEHOLDER_TAG and not git.short:
        warnings.append(Finding(
            f"no git commit yet: images are tagged {PLACEHOLDER_TAG!r}, a placeholder; "
            "`lain deploy` needs a commit (or --set imageTag=TAG)", severity="warning"))
        console.warn(warnings[-1].message)
    appname = merged["appname"]
    registry = cluster.registry if cluster else ""
    repository = f"{registry}/{appname}" if registry else appname
    pull_registry = (cluster.pull_registry or registry) if cluster else ""
    pull_repository = f"{pull_registry}/{appname}" if pull_registry else appname
    procs: dict[str, str] = {}
    images: dict[str, dict[str, str]] = {}
    for section, kind in schema.WORKLOAD_KINDS.items():
        images[section] = {}
        for name, spec in (merged.get(section) or {}).items():
            procs[name] = kind
            images[section][name] = _image_for(spec, pull_repository, tag)
    return AppContext(
        appname=appname,
        release_name=merged.get("releaseName") or appname,
        cluster=cluster,
        namespace=cluster.namespace if cluster else (clusters.check_namespace(opts.namespace)
                                                     if opts.namespace else "default"),
        image_repository=repository,
        image_tag=tag,
        values=merged,
        value_files=tuple(layer.name for layer in layers if layer.name not in ("lain defaults", "--set")),
        chart_dir=chart_dir,
        procs=procs,
        user=git.user(),
        git_revision=git.revision,
        images=images,
        warnings=tuple(warnings),
        pull_repository=pull_repository,
    )


def _pick_cluster(opts: GlobalOptions, app_root: Path, need_cluster: bool) -> Cluster | None:
    if need_cluster or opts.cluster or clusters.selected_name()[0]:
        return clusters.resolve(opts.cluster, app_root, namespace=opts.namespace, kube_context=opts.kube_context)
    return None


def _image_for(spec: Mapping[str, Any], repository: str, tag: str) -> str:
    if spec.get("image"):
        return str(spec["image"])
    if spec.get("imageTag") not in (None, ""):
        return f"{repository}:{spec['imageTag']}"
    return f"{repository}:{tag}" if tag else repository


def init_images(
    merged: Mapping[str, Any], images: Mapping[str, Mapping[str, str]], repository: str
) -> dict[str, dict[str, dict[str, str]]]:
    """The image of every init container: section -> workload -> init container name -> image.

    Its own ``image``, else the app's image at its ``imageTag``, else the
    image of the workload it belongs to.
    """
    out: dict[str, dict[str, dict[str, str]]] = {}
    for section in schema.WORKLOAD_KINDS:
        out[section] = {}
        for name, spec in (merged.get(section) or {}).items():
            containers = [c for c in (spec or {}).get("initContainers") or [] if isinstance(c, Mapping)]
            if containers:
                workload_image = images.get(section, {}).get(name, repository)
                out[section][name] = {
                    str(c.get("name")): str(c["image"]) if c.get("image")
                    else f"{repository}:{c['imageTag']}" if c.get("imageTag") not in (None, "")
                    else workload_image
                    for c in containers
                }
    return out


def _image_tag(
    explicit: str | None,
    merged: Mapping[str, Any],
    git: _GitFacts,
    app_root: Path,
    *,
    required: bool = True,
    placeholder: bool = False,
) -> str:
    if explicit:
        return explicit
    if merged.get("imageTag") not in (None, ""):
        return str(merged["imageTag"])
    if git.short:
        return git.short + ("-dirty" if git.dirty() else "")
    if placeholder:
        return PLACEHOLDER_TAG
    if not required:
        return ""
    raise UsageError(
        f"cannot choose an image tag: {app_root} is not a git repository with a commit",
        hint="commit the app to git, or pass --set imageTag=TAG",
    )


class _GitFacts:
    """HEAD's sha, the work tree's state and the user, asked of git once each, side
    by side (each answer is a git process of a few ms).  ``tag_from_git``: the
    image tag comes from HEAD, so whether the tree is dirty is asked too."""

    def __init__(self, root: Path, *, tag_from_git: bool = True) -> None:
        import threading

        self.root = root
        questions = {"user": ("config", "user.name")}
        if tag_from_git:
            questions["dirty"] = ("status", "--porcelain")
        self._answers: dict[str, str] = {}
        askers = [threading.Thread(target=self._ask, args=(key, args), name=f"git-{key}", daemon=True)
                  for key, args in questions.items()]
        for asker in askers:
            asker.start()
        out = self._git("log", "-1", "--format=%H%n%h")
        for asker in askers:
            asker.join()
        parts = out.split("\n") if out else []
        self.revision = parts[0] if len(parts) == 2 else ""
        self.short = parts[1] if len(parts) == 2 else ""

    def _ask(self, key: str, args: tuple[str, ...]) -> None:
        self._answers[key] = self._git(*args)

    def _git(self, *args: str) -> str:
        from lain_cli import proc

        try:
            result = proc.run(["git", "-C", str(self.root), *args], timeout=20, check=False)
        except LainError:
            return ""
        return result.stdout.strip() if result.ok else ""

    def dirty(self) -> bool:
        if "dirty" not in self._answers:
            self._answers["dirty"] = self._git("status", "--porcelain")
        return bool(self._answers["dirty"])

    def user(self) -> str:
        name = self._answers["user"]
        return name or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
