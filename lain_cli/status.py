"""The green light: is the release healthy, and if not, why.

Green (design.md §5.8, seed "绿灯") means: no abnormal container, no recent
error line in the logs, every ingress endpoint answers over HTTP, and the
app's ``tests`` pass when they were run.  This module gathers the facts and
builds a :class:`StatusReport`; :mod:`lain_cli.panel` presents it.

Cost does not grow with the number of pods: one LIST of the release's objects
(or a snapshot from a :class:`~lain_cli.watch.ReleaseWatch`), one LIST of the
namespace's Events only when something looks wrong, one ``kubectl logs -l``
for the whole release, and one HTTP request per ingress path.

Pod and workload verdicts come from :mod:`lain_cli.tracking`; the rules that
combine everything into GREEN / PROGRESSING / RED live in :func:`decide`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lain_cli.labels import app_selector
from lain_cli.logs import COMPONENT_LABEL
from lain_cli.tracking.objects import live_pods, parse_time, started_containers
from lain_cli.tracking.objects import meta as _meta

if TYPE_CHECKING:
    from lain_cli.clusters import Cluster
    from lain_cli.context import AppContext
    from lain_cli.kubeproxy import ApiReader, KubectlProxy

SCHEMA_VERSION = 1
GREEN, PROGRESSING, RED, NOT_DEPLOYED = "GREEN", "PROGRESSING", "RED", "NOT DEPLOYED"
# `lain status --exit-code`: 2 is taken by usage errors.
EXIT_CODES = {GREEN: 0, RED: 1, PROGRESSING: 3, NOT_DEPLOYED: 1}
# Endpoint results: an answer below 500; a failure from a host that resolved; a
# name that does not resolve from where lain runs (says nothing about the app).
OK, FAIL, UNCHECKED = "ok", "fail", "unchecked"

OBJECT_KINDS = ("deployments", "statefulsets", "jobs", "cronjobs", "pods")
LOG_WINDOW = "10m"
LOG_TAIL = 200
MAX_ERROR_LINES = 20
MAX_SCANNED_PODS = 20
HTTP_TIMEOUT = 3.0
DEFAULT_ERROR_LOG_PATTERN = r"(?i)\b(error|exception|traceback|fatal|panic)\b"

Obj = Mapping[str, Any]


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class ProcRow:
    name: str
    kind: str
    desired: int
    ready: int
    updated: int
    available: int
    state: str
    reason: str = ""
    old: int = 0  # old-version pods still running beside ``ready`` new ones


@dataclass(frozen=True)
class PodRow:
    name: str
    proc: str
    phase: str
    status: str
    ready: bool
    restarts: int
    age_seconds: float | None
    node: str
    state: str
    reason: str = ""
    message: str = ""
    last_event: str = ""


@dataclass(frozen=True)
class JobRow:
    name: str
    proc: str
    state: str
    succeeded: int
    failed: int
    started: str | None
    finished: str | None
    reason: str = ""


@dataclass(frozen=True)
class CronJobRow:
    name: str
    proc: str
    schedule: str
    suspended: bool
    active: int
    last_schedule: str | None
    last_success: str | None
    last_run_state: str


@dataclass(frozen=True)
class LogLine:
    proc: str
    pod: str
    container: str
    line: str


@dataclass(frozen=True)
class LogScan:
    """Error lines found in the release's recent logs (``error`` when kubectl failed)."""

    pattern: str
    window: str
    lines: tuple[LogLine, ...] = ()
    total: int = 0
    error: str = ""


@dataclass(frozen=True)
class EndpointCheck:
    url: str
    host: str
    path: str
    proc: str
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str = ""
    result: str = ""  # OK, FAIL or UNCHECKED; "" means derived from ``ok``
    hint: str = ""

    def __post_init__(self) -> None:
        if not self.result:
            object.__setattr__(self, "result", OK if self.ok else FAIL)


@dataclass(frozen=True)
class ReleaseState:
    """What helm records of the release: its newest revision, or none at all, and
    the revision running now (the newest deployed one) with when it was made."""

    installed: bool
    revision: int | None = None
    status: str = ""
    pending: bool = False
    running: int | None = None
    running_since: str | None = None  # RFC 3339


REVISION_ANNOTATION = "lain.dev/revision"  # on hook Jobs: the revision whose upgrade ran them
HOOK_ANNOTATION = "helm.sh/hook"


def is_leftover(job: Obj, state: ReleaseState | None) -> bool:
    """A hook Job of another revision than the one running now: a failed migration of a
    deploy that did not go through, or of a revision rolled back from.  Without lain's
    revision annotation (an older chart), a hook Job older than the running revision."""
    if state is None or state.running is None:
        return False
    annotations = _meta(job).get("annotations") or {}
    if HOOK_ANNOTATION not in annotations or _owner_kind(job) == "CronJob":
        return False
    revision = annotations.get(REVISION_ANNOTATION)
    if revision is not None:
        return str(revision) != str(state.running)
    created = parse_time(_meta(job).get("creationTimestamp"))
    since = parse_time(state.running_since)
    return created is not None and since is not None and (since - created).total_seconds() > 5


def split_leftovers(objects: Mapping[str, Sequence[Obj]], state: ReleaseState | None
                    ) -> tuple[dict[str, list[Obj]], list[Obj], list[Obj]]:
    """(the objects of the release as it runs now, leftover Jobs, their pods)."""
    from lain_cli.tracking.objects import owned_by

    now = {kind: list(items) for kind, items in objects.items()}
    leftovers = [j for j in now.get("jobs", []) if is_leftover(j, state)]
    if not leftovers:
        return now, [], []
    now["jobs"] = [j for j in now["jobs"] if j not in leftovers]
    their_pods = [p for p in now.get("pods", []) if any(owned_by(p, j) for j in leftovers)]
    now["pods"] = [p for p in now.get("pods", []) if p not in their_pods]
    return now, leftovers, their_pods


def describe_leftovers(jobs: Sequence[Obj], pods: Sequence[Obj], now: datetime, tol: Any,
                       events: Sequence[Obj]) -> list[str]:
    """One line per leftover Job: whose revision, how it ended, how to be rid of it."""
    from lain_cli import tracking
    from lain_cli.tracking.objects import owned_by

    lines = []
    for job in jobs:
        revision = (_meta(job).get("annotations") or {}).get(REVISION_ANNOTATION)
        whose = f"from revision {revision}" if revision else "from an earlier revision"
        ws = tracking.workload_status(job, [p for p in pods if owned_by(p, job)], now, tol, events)
        fatal = [p for p in ws.problems if p.fatal]
        if fatal:
            state = f"failed: {fatal[0].reason}"
        elif ws.problems:
            state = f"not done: {ws.problems[0].reason}"
        else:
            state = ws.state.value
        lines.append(f"job {_name(job)} {whose} {state}; not counted: it is replaced at the next deploy, "
                     f"or `kubectl delete job {_name(job)}` removes it")
    return lines


@dataclass(frozen=True)
class TestResult:
    ran: bool
    ok: bool
    output: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogLink:
    proc: str | None
    url: str


@dataclass
class StatusReport:
    app: str
    release: str
    cluster: str
    namespace: str
    verdict: str
    reasons: list[str]
    procs: list[ProcRow] = field(default_factory=list)
    pods: list[PodRow] = field(default_factory=list)
    jobs: list[JobRow] = field(default_factory=list)
    cronjobs: list[CronJobRow] = field(default_factory=list)
    logs: LogScan | None = None
    endpoints: list[EndpointCheck] = field(default_factory=list)
    tests: TestResult | None = None
    log_links: list[LogLink] = field(default_factory=list)
    generated_at: str = ""
    release_state: ReleaseState | None = None
    leftovers: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def unchecked(self) -> int:
        return sum(1 for e in self.endpoints if e.result == UNCHECKED)

    @property
    def verdict_line(self) -> str:
        """``GREEN``, or ``GREEN (2 endpoints unchecked)``."""
        if self.unchecked and self.verdict != NOT_DEPLOYED:
            return f"{self.verdict} ({self.unchecked} endpoint{'s' if self.unchecked > 1 else ''} unchecked)"
        return self.verdict

    def as_dict(self) -> dict[str, Any]:
        """The documented ``lain status --json`` document (docs/status.rst)."""
        return {
            "schemaVersion": SCHEMA_VERSION,
            "app": self.app,
            "release": self.release,
            "cluster": self.cluster,
            "namespace": self.namespace,
            "generatedAt": self.generated_at,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "procs": [_camel(asdict(p)) for p in self.procs],
            "pods": [_camel(asdict(p)) for p in self.pods],
            "jobs": [_camel(asdict(j)) for j in self.jobs],
            "cronjobs": [_camel(asdict(c)) for c in self.cronjobs],
            "errorLogs": _camel(asdict(self.logs)) if self.logs else None,
            "endpoints": [_camel(asdict(e)) for e in self.endpoints],
            "tests": _camel(asdict(self.tests)) if self.tests else None,
            "logLinks": [_camel(asdict(link)) for link in self.log_links],
            "releaseState": _camel(asdict(self.release_state)) if self.release_state else None,
            "leftovers": list(self.leftovers),
        }


def _camel(data: Any) -> Any:
    if isinstance(data, dict):
        return {_camel_key(k): _camel(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_camel(v) for v in data]
    return data


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


# ---------------------------------------------------------------- small helpers


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", ""))


def _component(obj: Obj) -> str:
    return str((_meta(obj).get("labels") or {}).get(COMPONENT_LABEL, ""))


def _owner_kind(obj: Obj) -> str:
    for ref in _meta(obj).get("ownerReferences") or []:
        return str(ref.get("kind", ""))
    return ""


def age_seconds(obj: Obj, now: datetime) -> float | None:
    created = parse_time(_meta(obj).get("creationTimestamp"))
    return max(0.0, (now - created).total_seconds()) if created else None


def ingress_host(host: str, domain: str) -> str:
    """A host without a dot gets the cluster's domain (values ``ingresses``)."""
    if "." in host or not domain:
        return host
    return f"{host}.{domain}"


def render_log_link(template: str, **fields: str) -> str:
    """The cluster's ``logLink`` with ``{appname}``, ``{namespace}``, ``{cluster}``,
    ``{proc}`` and ``{pod}`` filled in; unknown placeholders are left as written."""

    class _Keep(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    try:
        return template.format_map(_Keep(fields))
    except (ValueError, IndexError):
        return template


def log_links(
    template: str | None, *, app: str, namespace: str, cluster: str, procs: Sequence[str]
) -> list[LogLink]:
    """One link for the app, or one per proc when the template has ``{proc}``."""
    if not template:
        return []
    base = {"appname": app, "namespace": namespace, "cluster": cluster}
    if "{proc}" not in template:
        return [LogLink(None, render_log_link(template, **base, proc="", pod=""))]
    return [LogLink(p, render_log_link(template, **base, proc=p, pod="")) for p in procs]


# ---------------------------------------------------------------- error logs


def compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The values' ``errorLogPattern`` (None or empty turns the scan off)."""
    if pattern is None:
        pattern = DEFAULT_ERROR_LOG_PATTERN
    return re.compile(pattern) if pattern else None


def error_lines(text: str, pattern: re.Pattern[str], proc: str, pod: str, container: str) -> list[LogLine]:
    """The lines of one container's log matching ``pattern``."""
    return [LogLine(proc, pod, container, line) for line in text.splitlines() if pattern.search(line)]


def sample_pods(proc_of_pod: Mapping[str, str], limit: int, first: Sequence[str] = ()) -> list[str]:
    """At most ``limit`` pods to read logs from: ``first`` (abnormal ones), then
    round-robin over the procs so every proc is represented."""
    chosen = [p for p in first if p in proc_of_pod][:limit]
    by_proc: dict[str, list[str]] = {}
    for pod in sorted(proc_of_pod):
        if pod not in chosen:
            by_proc.setdefault(proc_of_pod[pod], []).append(pod)
    queues = [by_proc[proc] for proc in sorted(by_proc)]
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen


def log_reads(pods: Sequence[Obj], sample: Sequence[str]) -> list[tuple[str, str, str]]:
    """(proc, pod, container) of every container of the sampled pods that has run
    (init containers first), as ``kubectl logs --all-containers`` reads them; a
    container still waiting to start has no log yet and is skipped."""
    by_name = {_name(p): p for p in pods}
    return [(_component(by_name[name]), name, container)
            for name in sample if name in by_name
            for container, _ in started_containers(by_name[name])]


def scan_error_logs(
    cluster: Cluster,
    pattern_text: str | None,
    pods: Sequence[Obj],
    *,
    window: str = LOG_WINDOW,
    tail: int = LOG_TAIL,
    first: Sequence[str] = (),
    api: ApiReader | None = None,
    proxy_error: str = "",
) -> LogScan:
    """The release's recent log lines matching the error pattern.

    ``pods`` are the release's live pods; up to :data:`MAX_SCANNED_PODS` of them
    are read (a bigger release is sampled: abnormal pods, ``first``, then pods of
    every proc in turn), every started container's last ``tail`` lines of the
    last ``window``.  All of it goes through one ``kubectl proxy``
    (:mod:`lain_cli.kubeproxy`), the reads side by side: one kubectl process
    whatever the number of pods, and no client-side rate limit (``api``: a proxy
    the caller opened already; ``proxy_error``: why the caller's could not start, so
    it is not tried again).
    """
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    from lain_cli.durations import parse_duration
    from lain_cli.errors import LainError
    from lain_cli.kubeproxy import KubectlProxy, api_error_message, pod_log_path

    pattern = compile_pattern(pattern_text)
    text = pattern.pattern if pattern else ""
    proc_of_pod = {_name(p): _component(p) for p in pods}
    if pattern is None or not proc_of_pod:
        return LogScan(text, window)
    reads = log_reads(pods, sample_pods(proc_of_pod, MAX_SCANNED_PODS, first))
    if not reads:
        return LogScan(text, window)
    if proxy_error:
        return LogScan(text, window, error=proxy_error)
    namespace = str(getattr(cluster, "namespace", "") or "default")
    params = {"tailLines": tail, "sinceSeconds": int(parse_duration(window))}

    def read(target: tuple[str, str, str], api: ApiReader) -> tuple[list[LogLine], str]:
        proc, pod, container = target
        try:
            status, body = api.get(pod_log_path(namespace, pod), {**params, "container": container})
        except OSError as exc:
            return [], f"pod {pod}: {exc}"
        if status != 200:
            return [], f"pod {pod}: {api_error_message(status, body)}"
        return error_lines(body, pattern, proc, pod, container), ""

    try:
        with contextlib.ExitStack() as stack:
            reader = api or stack.enter_context(KubectlProxy(cluster))
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=min(8, len(reads))))
            results = list(pool.map(lambda target: read(target, reader), reads))
    except LainError as exc:
        return LogScan(text, window, error=exc.message)
    found = [line for lines, _ in results for line in lines]
    errors = [error for _, error in results if error]
    # One container that cannot be read (just restarted, its node gone) is no news;
    # nothing readable at all is: say why.
    error = errors[0] if errors and len(errors) == len(results) else ""
    return LogScan(text, window, tuple(found[-MAX_ERROR_LINES:]), len(found), error)


# ---------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    host: str
    path: str
    proc: str
    scheme: str


def endpoints_of(values: Mapping[str, Any], domain: str, scheme: str | None = None) -> list[Endpoint]:
    """Every host and path of ``ingresses`` and ``externalIngresses``.

    The scheme is the cluster's ``ingressCheck.scheme`` when set, else https for
    an ingress with ``tls`` and http otherwise.
    """
    found: list[Endpoint] = []
    for section in ("ingresses", "externalIngresses"):
        for ing in values.get(section) or []:
            if not isinstance(ing, Mapping) or not ing.get("host"):
                continue
            host = ingress_host(str(ing["host"]), domain)
            chosen = scheme or ("https" if ing.get("tls") else "http")
            for path in ing.get("paths") or ["/"]:
                found.append(Endpoint(host, str(path), str(ing.get("deployName", "")), chosen))
    return found


def endpoint_url(ep: Endpoint) -> str:
    return f"{ep.scheme}://{ep.host}{ep.path if ep.path.startswith('/') else '/' + ep.path}"


def check_endpoint(ep: Endpoint, *, address: str | None = None, timeout: float = HTTP_TIMEOUT) -> EndpointCheck:
    """GET the endpoint (redirects not followed).  OK means an answer below 500.

    With ``address`` (``IP[:PORT]``, the cluster's ``ingressCheck.address``) the
    request goes to that address with the ``Host`` header (and TLS server name)
    of the ingress, as when checking through a load balancer before DNS.
    """
    import requests

    url = endpoint_url(ep)
    session = requests.Session()
    session.trust_env = address is None
    headers = {"User-Agent": "lain-status"}
    target = url
    if address:
        target = f"{ep.scheme}://{address}{url.split(ep.host, 1)[1]}"
        headers["Host"] = ep.host
        if ep.scheme == "https":
            session.mount("https://", _pinned_tls_adapter(ep.host))
    started = time.monotonic()
    try:
        resp = session.get(target, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
        resp.close()
    except requests.RequestException as exc:
        if address is None and _does_not_resolve(exc):
            return EndpointCheck(url, ep.host, ep.path, ep.proc, False, None, None,
                                 f"{ep.host} does not resolve from here", UNCHECKED, UNCHECKED_HINT)
        return EndpointCheck(url, ep.host, ep.path, ep.proc, False, None, None, _short_error(exc))
    finally:
        session.close()
    latency = round((time.monotonic() - started) * 1000, 1)
    ok = resp.status_code < 500
    return EndpointCheck(
        url, ep.host, ep.path, ep.proc, ok, resp.status_code, latency, "" if ok else f"HTTP {resp.status_code}"
    )


UNCHECKED_HINT = ("check it through the ingress by address: `ingressCheck: {address: IP[:PORT]}` in the "
                  "cluster file, or LAIN_INGRESS_ADDRESS=IP[:PORT]")


def _does_not_resolve(exc: BaseException) -> bool:
    """Whether a request failed because the host name does not resolve (DNS), as
    opposed to a host that resolved and then refused, reset or timed out."""
    import socket

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or type(current).__name__ == "NameResolutionError":
            return True
        todo += [current.__cause__, current.__context__,
                 *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException)),
                 getattr(current, "reason", None) if isinstance(getattr(current, "reason", None), BaseException)
                 else None]
    return False


def _pinned_tls_adapter(hostname: str) -> Any:
    """An adapter that speaks TLS for ``hostname`` while connecting to another address."""
    from requests.adapters import HTTPAdapter

    class PinnedTLS(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["server_hostname"] = hostname
            kwargs["assert_hostname"] = hostname
            super().init_poolmanager(*args, **kwargs)

    return PinnedTLS()


def _short_error(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "certificate"):
        if marker.lower() in text.lower():
            return f"{exc.__class__.__name__}: {marker}"
    return f"{exc.__class__.__name__}: {text[:160]}"


def check_endpoints(
    endpoints: Sequence[Endpoint], *, address: str | None = None, timeout: float = HTTP_TIMEOUT
) -> list[EndpointCheck]:
    """Check every endpoint concurrently; results in the endpoints' order."""
    if not endpoints:
        return []
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(endpoints))) as pool:
        return list(pool.map(lambda ep: check_endpoint(ep, address=address, timeout=timeout), endpoints))


# ---------------------------------------------------------------- pods and workloads


def status_tolerances(grace: float | None = None) -> Any:
    """The tracker's tolerances; ``grace`` (``lain status --grace``) caps how long a
    pod may be unschedulable, not ready or failing to pull before it counts as failed."""
    from lain_cli import tracking

    if grace is None:
        return tracking.Tolerances()
    return tracking.Tolerances(
        pull_grace=grace,
        unschedulable_grace=grace,
        readiness_grace=grace,
        no_probe_readiness_grace=grace,
        config_grace=min(grace, tracking.Tolerances().config_grace),
    )


@dataclass
class Evaluation:
    procs: list[ProcRow]
    pods: list[PodRow]
    jobs: list[JobRow]
    cronjobs: list[CronJobRow]
    fatal: list[str]
    progressing: list[str]
    unhealthy_pods: int


def _pod_row(status: Any, pod: Obj, events: Sequence[Obj], now: datetime) -> PodRow:
    from lain_cli import tracking

    problems = sorted(status.problems, key=lambda p: not p.fatal)
    first = problems[0] if problems else None
    last_event = ""
    if status.state.value not in ("ready", "succeeded"):
        warnings = [e for e in tracking.failure_details(pod, events, now) if e.startswith("Warning")]
        last_event = warnings[-1] if warnings else ""
    return PodRow(
        name=status.name,
        proc=status.component or "",
        phase=status.phase,
        status=status.short_status,
        ready=status.ready,
        restarts=status.restarts,
        age_seconds=round(status.age_seconds, 1) if status.age_seconds is not None else None,
        node=status.node or "",
        state=status.state.value,
        reason=first.reason if first else "",
        message=first.message if first else "",
        last_event=last_event,
    )


def _job_row(job: Obj, workload: Any) -> JobRow:
    st = job.get("status") or {}
    failed_cond = next(
        (c for c in st.get("conditions") or [] if c.get("type") == "Failed" and c.get("status") == "True"), None
    )
    fatal = [p for p in workload.problems if p.fatal]
    return JobRow(
        name=_name(job),
        proc=_component(job),
        state=workload.state.value,
        succeeded=int(st.get("succeeded") or 0),
        failed=int(st.get("failed") or 0),
        started=st.get("startTime"),
        finished=st.get("completionTime") or (failed_cond or {}).get("lastTransitionTime"),
        reason=fatal[0].describe() if fatal else "",
    )


def _cronjob_row(cron: Obj, runs: Sequence[JobRow]) -> CronJobRow:
    spec, st = cron.get("spec") or {}, cron.get("status") or {}
    last = max(runs, key=lambda r: r.started or "", default=None)
    return CronJobRow(
        name=_name(cron),
        proc=_component(cron),
        schedule=str(spec.get("schedule", "")),
        suspended=bool(spec.get("suspend")),
        active=len(st.get("active") or []),
        last_schedule=st.get("lastScheduleTime"),
        last_success=st.get("lastSuccessfulTime"),
        last_run_state=last.state if last else "none",
    )


def evaluate(objects: Mapping[str, Sequence[Obj]], events: Sequence[Obj], now: datetime, tol: Any) -> Evaluation:
    """Rows and verdict reasons for the release's objects (pure: no I/O, no clock)."""
    from lain_cli import tracking
    from lain_cli.tracking.objects import OwnerIndex, pods_and_sets_of

    # the release as it is now: not the lingering pods of a deleted Job, nor pods being deleted
    pods = live_pods(objects)
    pod_index, set_index = OwnerIndex(pods), OwnerIndex(objects.get("replicasets") or [])
    workloads: list[Any] = []
    procs: list[ProcRow] = []
    for kind in ("deployments", "statefulsets"):
        for obj in sorted(objects.get(kind) or [], key=_name):
            owned, sets = pods_and_sets_of(obj, pod_index, set_index)
            ws = tracking.workload_status(obj, owned, now, tol, events, sets)
            workloads.append(ws)
            fatal = [p for p in ws.problems if p.fatal]
            procs.append(ProcRow(_component(obj) or _name(obj), kind[:-1], ws.desired, ws.ready, ws.updated,
                                 ws.available, ws.state.value, fatal[0].describe() if fatal else "", ws.old))
    jobs: list[JobRow] = []
    cron_runs: dict[str, list[JobRow]] = {}
    for obj in sorted(objects.get("jobs") or [], key=lambda j: (j.get("status") or {}).get("startTime") or ""):
        ws = tracking.workload_status(obj, pod_index.of(obj), now, tol, events)
        row = _job_row(obj, ws)
        if _owner_kind(obj) == "CronJob":
            cron_runs.setdefault(_component(obj), []).append(row)
        else:
            workloads.append(ws)
            jobs.append(row)
    cronjobs = [_cronjob_row(c, cron_runs.get(_component(c), [])) for c in sorted(objects.get("cronjobs") or [], key=_name)]
    for pod in pods:  # helm test pods: no owner, lain.dev/kind=test
        if not _meta(pod).get("ownerReferences") and (_meta(pod).get("labels") or {}).get("lain.dev/kind") == "test":
            workloads.append(tracking.workload_status(pod, [], now, tol, events))

    # every pod of a workload was judged with it already; judge the others (test pods)
    judged = {s.name: s for ws in workloads for s in (*ws.pods, *ws.old_pods)}
    statuses = [(judged.get(_name(p)) or tracking.pod_status(p, now, tol, events), p) for p in pods]
    rows = sorted((_pod_row(s, p, events, now) for s, p in statuses), key=lambda r: (r.proc, r.name))
    verdict = tracking.release_verdict(workloads)
    fatal_lines = [p.describe() for p in verdict.problems if p.fatal]
    for cron in cronjobs:
        if cron.last_run_state == "failed":
            fatal_lines.append(f"CronJob {cron.name}: the last run failed (see `lain logs {cron.proc}`)")
    progressing = [verdict.summary.removeprefix("progressing: ")] if verdict.state.value == "progressing" else []
    unhealthy = sum(1 for r in rows if r.state not in ("ready", "succeeded"))
    return Evaluation(procs, rows, jobs, cronjobs, fatal_lines, progressing, unhealthy)


# ---------------------------------------------------------------- the verdict


def decide(
    ev: Evaluation,
    logs: LogScan | None,
    endpoints: Sequence[EndpointCheck],
    tests: TestResult | None,
    release_state: ReleaseState | None = None,
    where: str = "",
) -> tuple[str, list[str]]:
    """GREEN, PROGRESSING, RED or NOT DEPLOYED, and why.

    NOT DEPLOYED: nothing of the app in the namespace, whether helm knows no
    release of that name or its release has nothing there (``where`` names
    release, namespace and cluster).  Objects of the app without a helm release
    (made by hand, or by another tool) are judged as they are.  RED: a fatal pod/workload
    problem, a failed job or last cronjob run, error lines in the recent logs,
    failed tests, or an endpoint failing while no workload is still rolling out.
    PROGRESSING: workloads on their way, or a release helm has pending (an
    endpoint failing meanwhile is listed, not fatal).  GREEN otherwise.  An
    endpoint whose name does not resolve here (UNCHECKED) never counts.
    """
    nothing = not ev.procs and not ev.pods and not ev.jobs and not ev.cronjobs
    if release_state is not None and nothing:
        if not release_state.installed:
            return NOT_DEPLOYED, [f"no release {where}; `lain deploy` installs it (check the appname and "
                                  "the cluster file's namespace if it should be there)"]
        return NOT_DEPLOYED, [f"release {where} has nothing running there (revision {release_state.revision}, "
                              f"{release_state.status}); `lain history` shows its revisions"]
    progressing = list(ev.progressing)
    if release_state is not None and release_state.pending:
        progressing.insert(0, f"release is {release_state.status} (revision {release_state.revision}): "
                              "a deploy is in progress, or was left stuck (`lain history`)")
    red = list(ev.fatal)
    if logs is not None and logs.total:
        per_proc: dict[str, int] = {}
        for line in logs.lines:
            per_proc[line.proc or line.pod] = per_proc.get(line.proc or line.pod, 0) + 1
        where = ", ".join(f"{proc} ({n})" for proc, n in sorted(per_proc.items()))
        red.append(f"{logs.total} error line(s) in the last {logs.window} of logs: {where}")
    if tests is not None and tests.ran and not tests.ok:
        red.append("tests failed: " + (", ".join(tests.failed) or "see the output"))
    failing = [f"endpoint {e.url}: {e.error}" for e in endpoints if e.result == FAIL]
    if progressing:
        if red:
            return RED, red + failing
        return PROGRESSING, progressing + failing
    red += failing
    if red:
        return RED, red
    return GREEN, []


# ---------------------------------------------------------------- gathering


# plural -> (API path prefix, kind) of what the green light lists
_API_OF = {
    "deployments": ("/apis/apps/v1", "Deployment"),
    "statefulsets": ("/apis/apps/v1", "StatefulSet"),
    "replicasets": ("/apis/apps/v1", "ReplicaSet"),
    "jobs": ("/apis/batch/v1", "Job"),
    "cronjobs": ("/apis/batch/v1", "CronJob"),
    "pods": ("/api/v1", "Pod"),
    "events": ("/api/v1", "Event"),
}


def list_through(api: ApiReader, namespace: str, plurals: Sequence[str],
                 selector: str | None = None) -> dict[str, list[dict[str, Any]]] | None:
    """LISTs of ``plurals`` in ``namespace`` straight from the API server, side by side
    through the proxy (no kubectl re-printing a thousand pods), each item with the
    ``kind`` and ``apiVersion`` kubectl would give it; None when any of them is not
    answered (the caller asks kubectl, whose error says why)."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    params = {"labelSelector": selector} if selector else None

    def get(plural: str) -> list[dict[str, Any]] | None:
        prefix, kind = _API_OF[plural]
        try:
            status, body = api.get(f"{prefix}/namespaces/{namespace}/{plural}", params)
            doc = json.loads(body) if status == 200 else None
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
            return None
        version = prefix.removeprefix("/apis/").removeprefix("/api/")
        return [{"kind": kind, "apiVersion": version, **item} for item in doc["items"] if isinstance(item, dict)]

    with ThreadPoolExecutor(max_workers=len(plurals)) as pool:
        results = list(zip(plurals, pool.map(get, plurals), strict=True))
    listed: dict[str, list[dict[str, Any]]] = {}
    for plural, items in results:
        if items is None:
            return None
        if items:
            listed[plural] = items
    return listed


def list_objects(ctx: AppContext, api: ApiReader | None = None) -> dict[str, list[dict[str, Any]]]:
    """The release's objects by kind: through ``api`` (a :class:`~lain_cli.kubeproxy.KubectlProxy`)
    when given, else (or when it does not answer) from one ``kubectl get`` LIST."""
    from lain_cli import kube

    if api is not None:
        listed = list_through(api, ctx.require_cluster().namespace or "default",
                              (*OBJECT_KINDS, "replicasets"), app_selector(ctx))
        if listed is not None:
            return listed
    listing = kube.get_json(ctx.require_cluster(), ",".join(OBJECT_KINDS + ("replicasets",)),
                            selector=app_selector(ctx)) or {}
    from lain_cli.watch import plural_of

    objects: dict[str, list[dict[str, Any]]] = {}
    for obj in listing.get("items") or []:
        objects.setdefault(plural_of(str(obj.get("kind", ""))), []).append(obj)
    return objects


def list_events(ctx: AppContext, api: ApiReader | None = None) -> list[dict[str, Any]]:
    from lain_cli import kube

    if api is not None:
        listed = list_through(api, ctx.require_cluster().namespace or "default", ("events",))
        if listed is not None:
            return listed.get("events", [])
    return list((kube.get_json(ctx.require_cluster(), "events") or {}).get("items") or [])


def proc_of_pods(objects: Mapping[str, Sequence[Obj]]) -> dict[str, str]:
    """The proc of every live pod (the ones whose logs the green light reads)."""
    return {_name(p): _component(p) for p in live_pods(objects)}


def ingress_check_override(cluster: Cluster | None = None) -> tuple[str | None, str | None]:
    """(scheme, address) for endpoint checks: ``$LAIN_INGRESS_SCHEME`` /
    ``$LAIN_INGRESS_ADDRESS``, else the cluster file's ``ingressCheck``."""
    import os

    scheme = os.environ.get("LAIN_INGRESS_SCHEME") or getattr(cluster, "ingress_check_scheme", "") or None
    address = os.environ.get("LAIN_INGRESS_ADDRESS") or getattr(cluster, "ingress_check_address", "") or None
    return scheme, address


def app_endpoints(ctx: AppContext) -> list[Endpoint]:
    scheme, _ = ingress_check_override(ctx.require_cluster())
    domain = ctx.cluster.domain if ctx.cluster else ""
    return endpoints_of(ctx.values, domain, scheme)


def read_release_state(ctx: AppContext) -> ReleaseState | None:
    """The release's newest revision from ``helm history`` (None if helm cannot tell)."""
    from lain_cli import release
    from lain_cli.errors import LainError
    from lain_cli.executors import Helm

    try:
        history = Helm.for_cluster(ctx.require_cluster()).history(ctx.release_name)
    except LainError:
        return None
    head = release.current(history)
    if head is None:
        return ReleaseState(False)
    running = release.last_deployed(history)
    since = running.updated.isoformat() if running and running.updated else None
    return ReleaseState(True, head.number, head.status, head.pending, running.number if running else None, since)


def where_release(ctx: AppContext) -> str:
    """``dummy in namespace default of cluster dev``: how NOT DEPLOYED names it."""
    return f"{ctx.release_name} in namespace {ctx.namespace} of cluster {ctx.require_cluster().name}"


def run_endpoint_checks(ctx: AppContext) -> list[EndpointCheck]:
    _, address = ingress_check_override(ctx.require_cluster())
    return check_endpoints(app_endpoints(ctx), address=address)


def app_log_links(ctx: AppContext) -> list[LogLink]:
    long_running = [name for name, kind in ctx.procs.items() if kind in ("deployment", "statefulset")]
    return log_links(ctx.require_cluster().log_link, app=ctx.appname, namespace=ctx.namespace,
                     cluster=ctx.require_cluster().name, procs=sorted(long_running) or sorted(ctx.procs))


def build_report(
    ctx: AppContext,
    ev: Evaluation,
    *,
    logs: LogScan | None,
    endpoints: Sequence[EndpointCheck],
    tests: TestResult | None,
    now: datetime,
    release_state: ReleaseState | None = None,
    leftovers: Sequence[str] = (),
) -> StatusReport:
    verdict, reasons = decide(ev, logs, endpoints, tests, release_state, where_release(ctx))
    return StatusReport(
        app=ctx.appname,
        release=ctx.release_name,
        cluster=ctx.require_cluster().name,
        namespace=ctx.namespace,
        verdict=verdict,
        reasons=reasons,
        procs=ev.procs,
        pods=ev.pods,
        jobs=ev.jobs,
        cronjobs=ev.cronjobs,
        logs=logs,
        endpoints=list(endpoints),
        tests=tests,
        log_links=app_log_links(ctx),
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        release_state=release_state,
        leftovers=list(leftovers),
    )


def collect(
    ctx: AppContext,
    *,
    run_tests: bool = False,
    objects: Mapping[str, Sequence[Obj]] | None = None,
    events: Sequence[Obj] | None = None,
    tolerances: Any = None,
    api: KubectlProxy | None = None,
) -> StatusReport:
    """Everything the green light needs, now: one LIST of the release's objects
    (unless a watch's ``objects`` snapshot is given), Events when a pod is not
    healthy, one log scan, the endpoint checks and, with ``run_tests``, helm test."""
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    from lain_cli.errors import LainError
    from lain_cli.kubeproxy import KubectlProxy

    tol = tolerances or status_tolerances()
    with ThreadPoolExecutor(max_workers=4) as pool, contextlib.ExitStack() as stack:
        state = pool.submit(read_release_state, ctx)
        http = pool.submit(run_endpoint_checks, ctx)
        # one kubectl for the reads: the LISTs, the Events, the log scan (kubectl get's
        # own errors, when the proxy does not start or answer, say what is wrong)
        proxy_error = ""
        if api is None:  # the command's own, if it runs one; else one for these reads
            try:
                api = stack.enter_context(KubectlProxy(ctx.require_cluster()))
            except LainError as exc:
                proxy_error = exc.message
        listed = dict(objects) if objects is not None else list_objects(ctx, api)
        now = datetime.now(UTC)
        release_state = state.result()
        objs, old_jobs, old_pods = split_leftovers(listed, release_state)
        ev = evaluate(objs, list(events or []), now, tol)
        scan = pool.submit(scan_error_logs, ctx.require_cluster(), ctx.values.get("errorLogPattern"),
                           live_pods(objs), first=[p.name for p in ev.pods if p.state not in ("ready", "succeeded")],
                           api=api, proxy_error=proxy_error)
        needs_events = events is None and (ev.unhealthy_pods or ev.fatal or ev.progressing)
        fetched = pool.submit(list_events, ctx, api) if needs_events else None
        tests = run_helm_tests(ctx) if run_tests else None
        all_events = fetched.result() if fetched is not None else list(events or [])
        if fetched is not None:
            ev = evaluate(objs, all_events, now, tol)
        leftovers = describe_leftovers(old_jobs, old_pods, now, tol, all_events)
        return build_report(ctx, ev, logs=scan.result(), endpoints=http.result(), tests=tests, now=now,
                            release_state=release_state, leftovers=leftovers)


def run_helm_tests(ctx: AppContext) -> TestResult:
    """``helm test`` of the release: the app's ``tests``, pass or fail, with their logs."""
    from lain_cli import helm

    ok, output, failed = helm.run_tests(ctx.require_cluster(), ctx.release_name)
    return TestResult(True, ok, tuple(output[-40:]), tuple(failed))
