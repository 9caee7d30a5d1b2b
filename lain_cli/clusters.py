"""Cluster definitions and the choice made by ``lain use``.

A cluster is ``<name>.yaml``, looked up in ``$LAIN_CLUSTERS_DIR`` (one or more
directories separated by ``os.pathsep``), then ``chart/clusters/`` of the app
repo, then ``$XDG_CONFIG_HOME/lain/clusters/`` (``~/.config/lain/clusters/``).
The first file found for a name wins.  ``lain use NAME`` writes the name to
``$XDG_CONFIG_HOME/lain/current``; ``$LAIN_CLUSTER`` and ``--cluster`` override
it for one command.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lain_cli import docs, schema
from lain_cli.errors import ConfigError, UsageError
from lain_cli.findings import Finding

CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

CLUSTER_SCHEMA = schema.Mapping(
    fields={
        "kubeconfig": schema.Str(description="kubeconfig file; else $KUBECONFIG / ~/.kube/config. "
                                             "~ is expanded, relative paths are relative to the cluster file."),
        "context": schema.Str(description="kube context; else the kubeconfig's current one when "
                                          "`lain use` ran (pinned), else kubectl's current one."),
        "namespace": schema.Str(check=lambda v: None if schema.RFC1123_LABEL.match(v) and len(v) <= 63
                                else f"not a valid namespace name: {v!r}",
                                description="Namespace the apps are deployed to (-n overrides it)."),
        "registry": schema.Str(description="Image registry; images are <registry>/<appname>:<tag>."),
        "pullRegistry": schema.Str(description="Where the cluster pulls the app's image from, when that is not "
                                               "registry (a mirror inside the cluster); `deploy --build` still "
                                               "pushes to registry."),
        "hostAliases": schema.ListOf(item=schema.Mapping(fields={"ip": schema.Str(),
                                                                 "hostnames": schema.ListOf(item=schema.Str())},
                                                         required=("ip",)),
                                     description="/etc/hosts entries of every pod on this cluster, before "
                                                 "the app's own hostAliases."),
        "ingressTLS": schema.Mapping(fields={"clusterIssuer": schema.Str(
            description="cert-manager ClusterIssuer: every ingress without its own tls gets its annotation and a "
                        "wildcard certificate of its domain (secret <domain-with-dashes>), as lain4 did.")},
            description="TLS of the app's ingresses on this cluster."),
        "domain": schema.Str(description="Ingress hosts without a dot get .<domain>."),
        "ingressClass": schema.Str(description="IngressClass of ingresses."),
        "externalIngressClass": schema.Str(description="IngressClass of externalIngresses (default ingressClass)."),
        "webhook": schema.Mapping(fields={
            "url": schema.Str(description="Incoming webhook URL."),
            "provider": schema.Str(choices=("slack", "feishu", "dingtalk", "wecom", "generic"),
                                   description="Message format."),
        }, required=("url",), description="Where deploy notices go."),
        "notify": schema.Mapping(fields={
            "timeout": schema.Number(
                check=lambda v: None if v > 0 else f"must be more than 0 seconds, not {v}",
                description="Seconds the webhook notices may take in all once a command's work is "
                            "done, retries included (default 5)."),
        }, description="How webhook notices are sent."),
        "logLink": schema.Str(description="Log search link; {appname} is replaced."),
        "docsUrl": schema.Str(check=lambda v: None if re.match(r"https?://", v) else f"expected an http(s) URL, got {v!r}",
                              description="Where lain's hints link the documentation (a team's own copy); "
                                          "default: the published docs."),
        "ingressCheck": schema.Mapping(fields={
            "address": schema.Str(
                check=lambda v: None if re.fullmatch(r"[^\s:/]+:\d{1,5}", v) else f"expected HOST:PORT, got {v!r}",
                description="Connect here (the ingress controller or its load balancer); the ingress "
                            "host is sent as Host header and TLS name."),
            "scheme": schema.Str(choices=("http", "https"), description="Scheme for every endpoint check."),
        }, description="How `lain status` reaches the app's ingress endpoints when their hosts do not "
                       "resolve from where lain runs ($LAIN_INGRESS_ADDRESS / $LAIN_INGRESS_SCHEME win)."),
        "values": schema.Mapping(open=True, description="Cluster-wide defaults merged under the app's values."),
    },
    required=("namespace",),
)


@dataclass(frozen=True)
class Cluster:
    name: str
    namespace: str
    kubeconfig: str | None = None
    context: str | None = None
    registry: str = ""
    domain: str = ""
    ingress_class: str = ""
    external_ingress_class: str = ""
    webhook: dict[str, Any] | None = None
    log_link: str = ""
    docs_url: str = ""
    ingress_check_address: str = ""
    ingress_check_scheme: str = ""
    pull_registry: str = ""  # where pods pull the app's image from; default registry (pushes go there)
    host_aliases: list[dict[str, Any]] = field(default_factory=list)
    tls_cluster_issuer: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the file it was read from, as shown to people
    values_lines: dict[tuple[str | int, ...], int | None] = field(default_factory=dict, repr=False,
                                                                  compare=False)
    # Set by resolve() for a command: where context and namespace came from, what to warn about.
    shown_context: str = ""
    context_source: str = ""
    namespace_source: str = ""
    notes: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()  # lain4 keys in the file, each deprecated for lain's key
    kubeconfig_line: int | None = field(default=None, repr=False, compare=False)
    notify_timeout: float | None = None  # seconds notices may take after a command's work

    def check_kubeconfig(self) -> None:
        """A ConfigError naming the cluster file's ``kubeconfig`` key when that file does not exist.

        Checked when the cluster is about to be reached, not when the file is
        read: ``lain lint`` and ``lain template`` need no credentials.
        """
        if self.kubeconfig and not os.path.isfile(self.kubeconfig):
            problem = "is a directory, not a file" if os.path.isdir(self.kubeconfig) else "does not exist"
            raise ConfigError(
                f"{self.kubeconfig} {problem}",
                file=self.source or f"{self.name}.yaml",
                line=self.kubeconfig_line,
                key_path="kubeconfig",
                hint="fix the path (~ is expanded; a relative path is relative to the cluster file), "
                     "or remove the key to use $KUBECONFIG / ~/.kube/config",
            )

    def kubectl_args(self) -> list[str]:
        """``--kubeconfig``/``--context``/``--namespace``, to go right after the kubectl binary."""
        self.check_kubeconfig()
        args = []
        if self.kubeconfig:
            args += ["--kubeconfig", self.kubeconfig]
        if self.context:
            args += ["--context", self.context]
        return [*args, "--namespace", self.namespace]

    def helm_args(self) -> list[str]:
        """``--kubeconfig``/``--kube-context``/``--namespace`` for helm."""
        self.check_kubeconfig()
        args = []
        if self.kubeconfig:
            args += ["--kubeconfig", self.kubeconfig]
        if self.context:
            args += ["--kube-context", self.context]
        return [*args, "--namespace", self.namespace]

    def log_url(self, appname: str) -> str:
        return self.log_link.replace("{appname}", appname)

    def target_line(self) -> str:
        """``cluster prod · context admin@prod · namespace web``, with where each came from
        when it is not the cluster file: the first line of every command that talks to it."""
        from lain_cli import kubecontext

        context = self.shown_context or self.context or ""
        if not context:
            context_text = "context none (the kubeconfig has no current context)"
        elif self.context_source and self.context_source != kubecontext.FROM_FILE:
            context_text = f"context {context} ({self.context_source})"
        else:
            context_text = f"context {context}"
        namespace_text = f"namespace {self.namespace}"
        if self.namespace_source:
            namespace_text += f" ({self.namespace_source})"
        return f"cluster {self.name} · {context_text} · {namespace_text}"


@dataclass(frozen=True)
class ClusterFile:
    name: str
    path: Path
    origin: str  # "$LAIN_CLUSTERS_DIR", "chart/clusters", "~/.config/lain/clusters"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "lain"


def current_file() -> Path:
    return config_dir() / "current"


def find_app_root(start: Path | None = None) -> Path | None:
    """The nearest directory, from ``start`` (cwd) upwards, holding ``chart/values.yaml``.

    The search stops at a git repository's top (a directory with ``.git``).
    """
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "chart" / "values.yaml").is_file():
            return candidate
        if (candidate / ".git").exists():
            return None
    return None


def search_dirs(app_root: Path | None = None) -> list[tuple[Path, str]]:
    """Where cluster files are looked up, in order, with a label for each."""
    dirs: list[tuple[Path, str]] = []
    for entry in os.environ.get("LAIN_CLUSTERS_DIR", "").split(os.pathsep):
        if entry:
            dirs.append((Path(entry).expanduser(), "$LAIN_CLUSTERS_DIR"))
    root = app_root if app_root is not None else find_app_root()
    if root is not None:
        dirs.append((root / "chart" / "clusters", "chart/clusters"))
    dirs.append((config_dir() / "clusters", "~/.config/lain/clusters"))
    return dirs


def list_clusters(app_root: Path | None = None) -> list[ClusterFile]:
    """Every cluster file, the first one found for each name, sorted by name."""
    found: dict[str, ClusterFile] = {}
    for directory, origin in search_dirs(app_root):
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix in (".yaml", ".yml") and entry.is_file() and CLUSTER_NAME.match(entry.stem):
                found.setdefault(entry.stem, ClusterFile(entry.stem, entry, origin))
    return [found[name] for name in sorted(found)]


def selected_name() -> tuple[str | None, str]:
    """The current choice and where it came from ("$LAIN_CLUSTER", "lain use")."""
    env = os.environ.get("LAIN_CLUSTER", "").strip()
    if env:
        return env, "$LAIN_CLUSTER"
    try:
        text = current_file().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, ""
    return (text or None), "lain use"


def find(name: str, app_root: Path | None = None) -> ClusterFile:
    """The file of cluster ``name``, or a UsageError listing the known clusters."""
    known = list_clusters(app_root)
    for entry in known:
        if entry.name == name:
            return entry
    names = [c.name for c in known]
    if not names:
        where = ", ".join(str(d) for d, _ in search_dirs(app_root))
        raise UsageError(
            f"unknown cluster {name!r}: no cluster files found",
            hint=f"create {name}.yaml (with at least `namespace:`) in one of: {where}",
        )
    close = schema.suggest(name, names)
    return_hint = f"did you mean {close}? " if close else ""
    raise UsageError(
        f"unknown cluster {name!r}",
        hint=f"{return_hint}known clusters: {', '.join(names)}",
    )


def load(entry: ClusterFile) -> Cluster:
    """Read and validate a cluster file."""
    from lain_cli import lain4
    from lain_cli import values as values_mod

    layer = values_mod.load_file(entry.path)
    data, warnings, errors = lain4.translate_cluster(layer.name, layer.data, layer.lines)
    if errors:
        raise ConfigError(errors[0].message, file=errors[0].file, line=errors[0].line, key_path=errors[0].key,
                          hint=f"the keys of a cluster file: {docs.see('clusters', _docs_url_of(data))}")
    layer = values_mod.Layer(layer.name, data, layer.lines)
    problems: list[schema.Problem] = []
    schema.check_node(CLUSTER_SCHEMA, layer.data, (), problems)
    if problems:
        first = problems[0]
        line = layer.lines.get(first.path) or _parent_line(layer.lines, first.path)
        raise ConfigError(
            first.message,
            file=layer.name,
            line=line,
            key_path=schema.format_path(first.path),
            details=[f"{schema.format_path(p.path)}: {p.message}" for p in problems[1:10]],
            hint=f"the keys of a cluster file: {docs.see('clusters', _docs_url_of(layer.data))}",
        )
    data = layer.data
    kubeconfig = data.get("kubeconfig")
    if kubeconfig:
        expanded = Path(os.path.expanduser(kubeconfig))
        if not expanded.is_absolute():
            expanded = entry.path.parent / expanded
        kubeconfig = str(expanded)
    values_lines = {
        path[1:]: line for path, line in layer.lines.items() if path and path[0] == "values" and len(path) > 1
    }
    return Cluster(
        name=entry.name,
        namespace=data["namespace"],
        kubeconfig=kubeconfig,
        context=data.get("context"),
        registry=(data.get("registry") or "").rstrip("/"),
        domain=(data.get("domain") or "").lstrip("."),
        ingress_class=data.get("ingressClass") or "",
        external_ingress_class=data.get("externalIngressClass") or "",
        webhook=data.get("webhook"),
        log_link=data.get("logLink") or "",
        docs_url=data.get("docsUrl") or "",
        ingress_check_address=(data.get("ingressCheck") or {}).get("address") or "",
        ingress_check_scheme=(data.get("ingressCheck") or {}).get("scheme") or "",
        pull_registry=(data.get("pullRegistry") or "").rstrip("/"),
        host_aliases=list(data.get("hostAliases") or []),
        tls_cluster_issuer=(data.get("ingressTLS") or {}).get("clusterIssuer") or "",
        values=data.get("values") or {},
        source=layer.name,
        values_lines=values_lines,
        warnings=tuple(warnings),
        kubeconfig_line=layer.lines.get(("kubeconfig",)),
        notify_timeout=(data.get("notify") or {}).get("timeout"),
    )


def _docs_url_of(data: Any) -> str:
    """The docsUrl of a cluster file that may be invalid otherwise ("" when it has none)."""
    url = data.get("docsUrl") if isinstance(data, dict) else None
    return url if isinstance(url, str) and re.match(r"https?://", url) else ""


def _parent_line(lines: dict[tuple[str | int, ...], int | None], path: tuple[str | int, ...]) -> int | None:
    for end in range(len(path) - 1, 0, -1):
        if lines.get(path[:end]):
            return lines[path[:end]]
    return None


def resolve(
    name: str | None = None,
    app_root: Path | None = None,
    *,
    namespace: str | None = None,
    kube_context: str | None = None,
) -> Cluster:
    """The cluster to act on: ``name`` (``--cluster``), else ``$LAIN_CLUSTER``, else ``lain use``'s choice.

    ``namespace`` (``-n``) and ``kube_context`` (``--kube-context``) override the
    cluster file for this command; without either, the context is the file's,
    else the one ``lain use`` pinned, else kubectl's current one.
    """
    from dataclasses import replace

    from lain_cli import kubecontext

    if not name:
        name, _ = selected_name()
    if not name:
        known = [c.name for c in list_clusters(app_root)]
        listing = f" (known: {', '.join(known)})" if known else ""
        raise UsageError("no cluster selected", hint=f"run lain use <cluster>{listing}, or pass --cluster NAME")
    _check_name(name)
    cluster = load(find(name, app_root))
    choice = kubecontext.choose(cluster.name, cluster.context, cluster.kubeconfig, kube_context)
    cluster = replace(
        cluster,
        context=choice.passed,
        shown_context=choice.shown,
        context_source=choice.source,
        notes=(*cluster.notes, *choice.warnings),
    )
    if namespace:
        cluster = replace(cluster, namespace=check_namespace(namespace), namespace_source="-n")
    return cluster


def check_namespace(name: str) -> str:
    """``name`` if it is a valid namespace name, else a UsageError."""
    if schema.RFC1123_LABEL.match(name) and len(name) <= 63:
        return name
    raise UsageError(f"invalid namespace {name!r} (-n/--namespace)",
                     hint="namespaces are lowercase letters, digits and '-', at most 63 characters")


def announce(cluster: Cluster) -> None:
    """The first line of a command that talks to the cluster, then what to warn about."""
    from lain_cli import console

    console.step(cluster.target_line())
    for note in cluster.notes:
        console.warn(note)
    for warning in cluster.warnings:
        console.warn(warning.render())


def _check_name(name: str) -> None:
    if not CLUSTER_NAME.match(name):
        raise UsageError(f"invalid cluster name {name!r}",
                         hint="cluster names are file names: letters, digits, '.', '_' and '-'")


def use(name: str, app_root: Path | None = None) -> Cluster:
    """Validate cluster ``name`` and record it as the current one.

    A cluster file without ``context:`` gets the kubeconfig's current context
    pinned (returned as the cluster's ``context``, source "pinned by lain use").
    """
    from dataclasses import replace

    from lain_cli import kubecontext

    _check_name(name)
    cluster = load(find(name, app_root))
    if cluster.context:
        kubecontext.unpin(name)
    else:
        current = kubecontext.read_kubeconfig(cluster.kubeconfig).current
        if current:
            kubecontext.pin(name, current)
            cluster = replace(cluster, context=current, shown_context=current,
                              context_source=kubecontext.FROM_PIN)
        else:
            kubecontext.unpin(name)
    target = current_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".current.{os.getpid()}.tmp")
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return cluster
