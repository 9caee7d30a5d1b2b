"""The one place that builds kubectl argv, and turns kubectl's failures into errors.

argv builders are small pure functions of the kubectl binary, the cluster's
connection arguments (``Cluster.kubectl_args()``) and the request, tested
exactly; the runners below them go through :func:`lain_cli.proc.run`.  Objects
that may hold secrets are sent on stdin (``-f -``), never in argv, so
``lain -v`` can echo every command safely.

kubectl reports every failure as text on stderr; :func:`classify_failure`
recognises the usual ones (unreachable cluster, rejected credentials, TLS
trouble, timeouts, not found, conflicts) so the user reads one clear line
instead of a Go error chain.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lain_cli.errors import ClusterError, CommandFailed, stderr_tail

# How long one API request may take before kubectl gives up, and the margin
# the process gets on top of it (start-up, discovery from cache).
REQUEST_TIMEOUT = 30.0
_PROCESS_MARGIN = 15.0


class ClusterLike(Protocol):
    @property
    def name(self) -> str: ...

    def kubectl_args(self) -> list[str]: ...


class NotFound(ClusterError):
    """The object (or its namespace) does not exist."""


class Conflict(ClusterError):
    """The object changed (or was created or deleted) since it was read."""


class AlreadyExists(Conflict):
    """``create`` found the object already there: someone created it first."""


# ---------------------------------------------------------------- argv builders


def _timeout_flag(request_timeout: float) -> str:
    return f"--request-timeout={request_timeout:g}s"


def get_argv(
    kubectl: str,
    cluster_args: Sequence[str],
    kind: str,
    name: str | None = None,
    *,
    selector: str | None = None,
    request_timeout: float = REQUEST_TIMEOUT,
) -> list[str]:
    """``kubectl get KIND [NAME] [-l SELECTOR] -o json``."""
    argv = [kubectl, *cluster_args, "get", kind]
    if name:
        argv.append(name)
    if selector:
        argv += ["--selector", selector]
    return [*argv, "--output", "json", _timeout_flag(request_timeout)]


def create_argv(
    kubectl: str, cluster_args: Sequence[str], *, request_timeout: float = REQUEST_TIMEOUT
) -> list[str]:
    """``kubectl create -f -``: the object comes on stdin, the created object back as JSON."""
    return [
        kubectl,
        *cluster_args,
        "create",
        "--filename",
        "-",
        "--validate=false",  # the API server validates; kubectl's own check downloads the OpenAPI first
        "--output",
        "json",
        _timeout_flag(request_timeout),
    ]


def replace_argv(
    kubectl: str, cluster_args: Sequence[str], *, request_timeout: float = REQUEST_TIMEOUT
) -> list[str]:
    """``kubectl replace -f -``: a PUT carrying the object's resourceVersion (409 if it changed)."""
    return [
        kubectl,
        *cluster_args,
        "replace",
        "--filename",
        "-",
        "--validate=false",  # the API server validates; kubectl's own check downloads the OpenAPI first
        "--output",
        "json",
        _timeout_flag(request_timeout),
    ]


def dry_run_argv(
    kubectl: str, cluster_args: Sequence[str], *, create: bool, request_timeout: float = REQUEST_TIMEOUT
) -> list[str]:
    """The API server's own dry run (``dryRun=All``) of objects sent on stdin.

    ``create``: a POST, as helm creates hook objects; otherwise a server-side
    apply (PATCH) as helm's field manager, as helm updates (or creates) the
    release's objects.  The server validates, runs admission and checks
    immutable fields, and persists nothing."""
    verb = ["create"] if create else ["apply", "--server-side", "--force-conflicts", "--field-manager=helm"]
    return [kubectl, *cluster_args, *verb, "--dry-run=server", "--filename", "-", "--validate=false",
            "--output", "name", _timeout_flag(request_timeout)]


def delete_argv(
    kubectl: str, cluster_args: Sequence[str], kind: str, name: str, *, request_timeout: float = REQUEST_TIMEOUT
) -> list[str]:
    """``kubectl delete KIND NAME --ignore-not-found``, not waiting for finalizers."""
    return [kubectl, *cluster_args, "delete", kind, name, "--ignore-not-found", "--wait=false",
            _timeout_flag(request_timeout)]


def patch_argv(
    kubectl: str, cluster_args: Sequence[str], kind: str, name: str, patch: Mapping[str, Any], *,
    patch_type: str = "merge", field_manager: str = "lain", request_timeout: float = REQUEST_TIMEOUT,
) -> list[str]:
    """``kubectl patch KIND NAME --type TYPE --patch JSON``: only for patches without secrets
    (the patch is in argv, so ``lain -v`` shows it)."""
    return [kubectl, *cluster_args, "patch", kind, name, "--type", patch_type,
            "--patch", json.dumps(patch, separators=(",", ":"), sort_keys=True),
            f"--field-manager={field_manager}", "--output", "json", _timeout_flag(request_timeout)]


# ---------------------------------------------------------------- failures

_UNREACHABLE = (
    "connection refused",
    "was refused",
    "no such host",
    "network is unreachable",
    "no route to host",
    "unable to connect to the server",
    "connection reset by peer",
)
_TIMEOUT = (
    "i/o timeout",
    "context deadline exceeded",
    "client.timeout",
    "tls handshake timeout",
    "timed out",
)
_AUTH = (
    "unauthorized",
    "you must be logged in",
    "provide credentials",
    "token has expired",
    "expired",
)
_TLS = ("x509:", "certificate")
_KLOG = re.compile(r"^[EWI]\d{4} \d\d:\d\d:\d\d\.\d+ ")


def _first_error_line(stderr: str) -> str:
    # klog lines (E1125 12:00:00.000 ... memcache.go ...) repeat the error noisily; skip them
    lines = [ln for ln in stderr_tail(stderr, lines=20) if not _KLOG.match(ln)]
    for line in lines:
        if line.lower().startswith(("error", "unable", "the server")):
            return line
    return lines[-1] if lines else ""


def classify_failure(
    stderr: str, cluster_name: str, *, what: str = "", tool: str = "kubectl", default_hint: str | None = None
) -> ClusterError:
    """A readable :class:`ClusterError` (or NotFound/Conflict/AlreadyExists) for kubectl's
    (or helm's: both speak client-go's errors) stderr.  ``default_hint`` is given
    when the failure has no more specific hint of its own."""
    error = _classify(stderr, cluster_name, what=what, tool=tool)
    if error.hint is None:
        error.hint = default_hint
    return error


def _classify(stderr: str, cluster_name: str, *, what: str, tool: str) -> ClusterError:
    text = stderr.lower()
    line = _first_error_line(stderr)
    subject = f"{what}: " if what else ""
    if "(conflict)" in text or "the object has been modified" in text:
        return Conflict(
            f"{subject}the object changed on cluster {cluster_name} since it was read",
            details=[line],
        )
    if "(alreadyexists)" in text or "already exists" in text:
        return AlreadyExists(
            f"{subject}the object was created on cluster {cluster_name} meanwhile", details=[line]
        )
    if "(notfound)" in text or ("not found" in text and "error from server" in text):
        return NotFound(f"{subject}not found on cluster {cluster_name}", details=[line])
    if "(forbidden)" in text or "forbidden" in text:
        return ClusterError(
            f"{subject}cluster {cluster_name} refused the request: not allowed",
            details=[line],
            hint="ask the cluster's admins for access to this namespace",
        )
    if any(word in text for word in _TLS) and "certificate has expired" not in text:
        return ClusterError(
            f"{subject}cannot talk to cluster {cluster_name}: TLS certificate problem",
            details=[line],
            hint="check the kubeconfig's certificate-authority data, or your clock",
        )
    if any(word in text for word in _AUTH) or "certificate has expired" in text:
        return ClusterError(
            f"{subject}cluster {cluster_name} rejected your credentials",
            details=[line],
            hint="log in again (refresh the kubeconfig), then retry",
        )
    if any(word in text for word in _TIMEOUT):
        return ClusterError(
            f"{subject}cluster {cluster_name} did not answer in time",
            details=[line],
            hint="check the network / VPN to the cluster, then retry",
        )
    if any(word in text for word in _UNREACHABLE):
        return ClusterError(
            f"{subject}cannot reach cluster {cluster_name}",
            details=[line],
            hint="check the network / VPN and the kubeconfig's server address",
        )
    return ClusterError(
        f"{subject}{tool} failed on cluster {cluster_name}", details=stderr_tail(stderr)
    )


def _run(
    argv: Sequence[str],
    cluster: ClusterLike,
    *,
    what: str,
    input: str | None = None,
    request_timeout: float = REQUEST_TIMEOUT,
) -> str:
    from lain_cli import proc

    try:
        # kubectl may spend the request timeout twice (discovery, then the request)
        process_timeout = min(request_timeout + _PROCESS_MARGIN, 2 * request_timeout + 2)
        result = proc.run(argv, input=input, check=False, timeout=process_timeout,
                          waiting_for=f"cluster {cluster.name} to answer ({what})")
    except CommandFailed as exc:  # the process itself overran its timeout
        raise ClusterError(
            f"{what}: cluster {cluster.name} did not answer in time",
            hint="check the network / VPN to the cluster, then retry",
        ) from exc
    if not result.ok:
        raise classify_failure(result.stderr, cluster.name, what=what)
    return result.stdout


def _parse(stdout: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise ClusterError(f"{what}: kubectl printed something that is not JSON") from exc
    if not isinstance(data, dict):
        raise ClusterError(f"{what}: kubectl printed JSON that is not an object")
    return data


def _kubectl() -> str:
    from lain_cli import tools

    return tools.kubectl().path


# ---------------------------------------------------------------- runners


def get_json(
    cluster: ClusterLike,
    kind: str,
    name: str | None = None,
    selector: str | None = None,
    *,
    request_timeout: float = REQUEST_TIMEOUT,
) -> dict[str, Any] | None:
    """The object (or a List of objects) as JSON; None when the named object does not exist."""
    what = f"get {kind}/{name}" if name else f"get {kind}"
    argv = get_argv(
        _kubectl(),
        cluster.kubectl_args(),
        kind,
        name,
        selector=selector,
        request_timeout=request_timeout,
    )
    try:
        stdout = _run(argv, cluster, what=what, request_timeout=request_timeout)
    except NotFound:
        if name:
            return None
        raise
    return _parse(stdout, what)


def _object_label(obj: Mapping[str, Any]) -> str:
    return f"{str(obj.get('kind', 'object')).lower()}/{obj.get('metadata', {}).get('name', '')}"


def create(
    cluster: ClusterLike, obj: Mapping[str, Any], *, request_timeout: float = REQUEST_TIMEOUT
) -> dict[str, Any]:
    """Create ``obj`` (sent on stdin); AlreadyExists if it is there already."""
    what = f"create {_object_label(obj)}"
    stdout = _run(
        create_argv(_kubectl(), cluster.kubectl_args(), request_timeout=request_timeout), cluster, what=what,
        input=json.dumps(obj), request_timeout=request_timeout,
    )
    return _parse(stdout, what)


def delete(cluster: ClusterLike, kind: str, name: str, *, request_timeout: float = REQUEST_TIMEOUT) -> None:
    """Delete one object; nothing happens when it is already gone."""
    argv = delete_argv(_kubectl(), cluster.kubectl_args(), kind, name, request_timeout=request_timeout)
    _run(argv, cluster, what=f"delete {kind}/{name}", request_timeout=request_timeout)


def replace(
    cluster: ClusterLike, obj: Mapping[str, Any], *, request_timeout: float = REQUEST_TIMEOUT
) -> dict[str, Any]:
    """Replace ``obj`` (sent on stdin).

    ``obj`` must carry ``metadata.resourceVersion``: the API refuses the write
    with :class:`Conflict` if the object changed since that version was read,
    and :class:`NotFound` if it was deleted.
    """
    if not obj.get("metadata", {}).get("resourceVersion"):
        raise ValueError("replace needs metadata.resourceVersion to detect concurrent changes")
    what = f"replace {_object_label(obj)}"
    stdout = _run(
        replace_argv(_kubectl(), cluster.kubectl_args(), request_timeout=request_timeout), cluster, what=what,
        input=json.dumps(obj), request_timeout=request_timeout,
    )
    return _parse(stdout, what)


_REJECTED = re.compile(r"^Error from server(?: \((\w+)\))?: (.*)$")
_INVALID = re.compile(r'^The (?:\S+ "[^"]*"|request) is invalid')
_SOURCE = re.compile(r'error when [a-z -]+ "[^"]*": ')


def rejections(stderr: str) -> list[tuple[str, str]]:
    """(reason, message) of each object the API server refused, from kubectl's stderr.

    kubectl words an Invalid object ``The StatefulSet.apps "x" is invalid: spec:
    Forbidden: ...`` (one line per cause, ``* ...``, when there are several) and
    every other refusal ``Error from server (Reason): ...``; the ``error when
    creating "STDIN":`` it adds is left out."""
    found: list[tuple[str, list[str]]] = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line:
            continue
        refused = _REJECTED.match(line)
        if refused:
            found.append((refused.group(1) or "", [_SOURCE.sub("", refused.group(2))]))
        elif _INVALID.match(line):
            found.append(("Invalid", [line]))
        elif found and line.startswith("* "):
            found[-1][1].append(line)
    return [(reason, " ".join([parts[0], "; ".join(p.removeprefix("* ") for p in parts[1:])]).strip())
            for reason, parts in found]


def dry_run(
    cluster: ClusterLike, objects: Sequence[Mapping[str, Any]], *, create: bool,
    request_timeout: float = REQUEST_TIMEOUT,
) -> list[tuple[str, str]]:
    """Send ``objects`` to the API server as a dry run; what it refused ([] when it
    accepts them all).  A failure that is not the server refusing objects (an
    unreachable cluster, rejected credentials) raises ClusterError."""
    from lain_cli import proc

    if not objects:
        return []
    argv = dry_run_argv(_kubectl(), cluster.kubectl_args(), create=create, request_timeout=request_timeout)
    what = "dry run of the release's objects"
    stream = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    try:
        process_timeout = min(request_timeout + _PROCESS_MARGIN, 2 * request_timeout + 2)
        result = proc.run(argv, input=stream, check=False, timeout=process_timeout,
                          waiting_for=f"cluster {cluster.name} to check {len(objects)} objects (server dry run)")
    except CommandFailed as exc:
        raise ClusterError(f"{what}: cluster {cluster.name} did not answer in time",
                           hint="check the network / VPN to the cluster, then retry") from exc
    if result.ok:
        return []
    refused = rejections(result.stderr)
    if not refused:
        raise classify_failure(result.stderr, cluster.name, what=what)
    return refused


def patch(
    cluster: ClusterLike, kind: str, name: str, body: Mapping[str, Any], *, patch_type: str = "merge",
    request_timeout: float = REQUEST_TIMEOUT,
) -> dict[str, Any]:
    """Patch one object (NotFound when it does not exist); the patched object back."""
    what = f"patch {kind}/{name}"
    argv = patch_argv(_kubectl(), cluster.kubectl_args(), kind, name, body, patch_type=patch_type,
                      request_timeout=request_timeout)
    return _parse(_run(argv, cluster, what=what, request_timeout=request_timeout), what)


_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def valid_object_name(name: str) -> bool:
    """A valid Kubernetes object name (DNS subdomain, at most 253 characters)."""
    return len(name) <= 253 and bool(_NAME_RE.fullmatch(name))


# ---------------------------------------------------------------- logs and exec (lain logs, x, status)


def logs_argv(
    kubectl: str,
    cluster_args: Sequence[str],
    *,
    selector: str | None = None,
    pod: str | None = None,
    container: str | None = None,
    all_containers: bool = False,
    prefix: bool = True,
    follow: bool = False,
    previous: bool = False,
    tail: int | None = None,
    since: str | None = None,
    max_requests: int = 0,
    ignore_errors: bool = False,
) -> list[str]:
    """``kubectl logs`` of one pod, or of every pod matching ``selector``.

    ``--prefix`` names the pod and container on each line, so several pods can
    be interleaved; ``--max-log-requests`` lifts kubectl's limit of 5
    concurrent follows; ``--ignore-errors`` keeps going past a container that
    has not started (kubectl then prints an unprefixed ``error:`` line).
    """
    if (selector is None) == (pod is None):
        raise ValueError("logs_argv needs exactly one of selector and pod")
    argv = [kubectl, *cluster_args, "logs"]
    argv += [pod] if pod else ["--selector", selector or ""]
    if container:
        argv += ["--container", container]
    elif all_containers:
        argv.append("--all-containers=true")
    if prefix:
        argv.append("--prefix=true")
    if previous:
        argv.append("--previous=true")
    if follow:
        argv.append("--follow=true")
    if tail is not None:
        argv.append(f"--tail={tail}")
    if since:
        argv.append(f"--since={since}")
    if selector and max_requests:
        argv.append(f"--max-log-requests={max_requests}")
    if ignore_errors:
        argv.append("--ignore-errors=true")
    return argv


def exec_argv(
    kubectl: str,
    cluster_args: Sequence[str],
    pod: str,
    command: Sequence[str],
    *,
    container: str | None = None,
    stdin: bool = True,
    tty: bool = False,
) -> list[str]:
    """``kubectl exec [-i] [-t] POD [-c C] -- CMD...``: ``command`` is passed through untouched."""
    argv = [kubectl, *cluster_args, "exec"]
    if stdin:
        argv.append("--stdin=true")
    if tty:
        argv.append("--tty=true")
    argv.append(pod)
    if container:
        argv += ["--container", container]
    return [*argv, "--", *command]
