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
from typing import Any

from lain_cli.labels import app_selector
from lain_cli.logs import COMPONENT_LABEL, release_selector
from lain_cli.tracking.objects import meta as _meta
from lain_cli.tracking.objects import parse_time

SCHEMA_VERSION = 1
GREEN, PROGRESSING, RED = "GREEN", "PROGRESSING", "RED"
# `lain status --exit-code`: 2 is taken by usage errors.
EXIT_CODES = {GREEN: 0, RED: 1, PROGRESSING: 3}

OBJECT_KINDS = ("deployments", "statefulsets", "jobs", "cronjobs", "pods")
LOG_WINDOW = "10m"
LOG_TAIL = 200
MAX_ERROR_LINES = 20
MAX_SCANNED_PODS = 10
HTTP_TIMEOUT = 3.0
DEFAULT_ERROR_LOG_PATTERN = r"(?i)\b(error|exception|traceback|fatal|panic)\b"
_PREFIX_RE = re.compile(r"^\[pod/(?P<pod>[^/\]]+)/(?P<container>[^\]]+)\] ?(?P<line>.*)$")

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

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

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


def match_error_lines(
    output: str, pattern: re.Pattern[str], proc_of_pod: Mapping[str, str]
) -> tuple[list[LogLine], list[str]]:
    """Lines of ``kubectl logs --prefix`` output matching ``pattern``, and kubectl's own
    complaints (unprefixed lines, e.g. a container still waiting to start).

    Only the pods in ``proc_of_pod`` count: a label selector also reaches pods that are
    no longer the release (a deleted Job's pod, kept until garbage collection)."""
    found: list[LogLine] = []
    complaints: list[str] = []
    for raw in output.splitlines():
        match = _PREFIX_RE.match(raw)
        if match is None:
            if raw.strip():
                complaints.append(raw.strip())
            continue
        line = match.group("line")
        pod = match.group("pod")
        if pod in proc_of_pod and pattern.search(line):
            found.append(LogLine(proc_of_pod[pod], pod, match.group("container"), line))
    return found, complaints


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


def scan_error_logs(
    cluster: Any,
    release: str,
    pattern_text: str | None,
    proc_of_pod: Mapping[str, str],
    *,
    window: str = LOG_WINDOW,
    tail: int = LOG_TAIL,
    first: Sequence[str] = (),
    selector: str | None = None,
) -> LogScan:
    """The release's recent log lines matching the error pattern.

    Up to :data:`MAX_SCANNED_PODS` pods this is one ``kubectl logs -l
    <release>``.  kubectl reads a selector's pods one request at a time under
    its client-side rate limit (about 5 per second after a burst of 10), so a
    release with more pods is sampled instead: abnormal pods (``first``), then
    pods of every proc in turn, one kubectl per sampled pod, run together.
    """
    from concurrent.futures import ThreadPoolExecutor

    from lain_cli import kube

    pattern = compile_pattern(pattern_text)
    text = pattern.pattern if pattern else ""
    if pattern is None or not proc_of_pod:
        return LogScan(text, window)
    if len(proc_of_pod) <= MAX_SCANNED_PODS:
        results = [kube.scan_logs(cluster, selector or release_selector(release), since=window, tail=tail)]
    else:
        sample = sample_pods(proc_of_pod, MAX_SCANNED_PODS, first)
        with ThreadPoolExecutor(max_workers=len(sample)) as pool:
            results = list(pool.map(lambda p: kube.scan_logs(cluster, pod=p, since=window, tail=tail), sample))
    found: list[LogLine] = []
    errors: list[str] = []
    for result in results:
        if result is None:
            errors.append("kubectl logs did not answer in time")
            continue
        output, error = result
        found += match_error_lines(output, pattern, proc_of_pod)[0]
        if error:
            errors.append(error)
    return LogScan(text, window, tuple(found[-MAX_ERROR_LINES:]), len(found), "; ".join(dict.fromkeys(errors)))


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
        return EndpointCheck(url, ep.host, ep.path, ep.proc, False, None, None, _short_error(exc))
    finally:
        session.close()
    latency = round((time.monotonic() - started) * 1000, 1)
    ok = resp.status_code < 500
    return EndpointCheck(
        url, ep.host, ep.path, ep.proc, ok, resp.status_code, latency, "" if ok else f"HTTP {resp.status_code}"
    )


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
    from lain_cli.tracking.objects import live_pods, pods_of

    # the release as it is now: not the lingering pods of a deleted Job, nor pods being deleted
    pods = live_pods(objects)
    replicasets = list(objects.get("replicasets") or [])
    workloads: list[Any] = []
    procs: list[ProcRow] = []
    for kind in ("deployments", "statefulsets"):
        for obj in sorted(objects.get(kind) or [], key=_name):
            owned = pods_of(obj, pods, replicasets)
            ws = tracking.workload_status(obj, owned, now, tol, events, replicasets)
            workloads.append(ws)
            fatal = [p for p in ws.problems if p.fatal]
            procs.append(ProcRow(_component(obj) or _name(obj), kind[:-1], ws.desired, ws.ready, ws.updated,
                                 ws.available, ws.state.value, fatal[0].describe() if fatal else ""))
    jobs: list[JobRow] = []
    cron_runs: dict[str, list[JobRow]] = {}
    for obj in sorted(objects.get("jobs") or [], key=lambda j: (j.get("status") or {}).get("startTime") or ""):
        ws = tracking.workload_status(obj, pods_of(obj, pods), now, tol, events)
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

    statuses = [(tracking.pod_status(p, now, tol, events), p) for p in pods]
    rows = sorted((_pod_row(s, p, events, now) for s, p in statuses), key=lambda r: (r.proc, r.name))
    verdict = tracking.release_verdict(workloads)
    fatal = [p.describe() for p in verdict.problems if p.fatal]
    for cron in cronjobs:
        if cron.last_run_state == "failed":
            fatal.append(f"CronJob {cron.name}: the last run failed (see `lain logs {cron.proc}`)")
    progressing = [verdict.summary.removeprefix("progressing: ")] if verdict.state.value == "progressing" else []
    unhealthy = sum(1 for r in rows if r.state not in ("ready", "succeeded"))
    return Evaluation(procs, rows, jobs, cronjobs, fatal, progressing, unhealthy)


# ---------------------------------------------------------------- the verdict


def decide(
    ev: Evaluation,
    logs: LogScan | None,
    endpoints: Sequence[EndpointCheck],
    tests: TestResult | None,
) -> tuple[str, list[str]]:
    """GREEN, PROGRESSING or RED, and why.

    RED: a fatal pod/workload problem, a failed job or last cronjob run, error
    lines in the recent logs, failed tests, or an endpoint failing while no
    workload is still rolling out.  PROGRESSING: workloads on their way (an
    endpoint failing meanwhile is listed, not fatal).  GREEN otherwise.
    """
    red = list(ev.fatal)
    if logs is not None and logs.total:
        per_proc: dict[str, int] = {}
        for line in logs.lines:
            per_proc[line.proc or line.pod] = per_proc.get(line.proc or line.pod, 0) + 1
        where = ", ".join(f"{proc} ({n})" for proc, n in sorted(per_proc.items()))
        red.append(f"{logs.total} error line(s) in the last {logs.window} of logs: {where}")
    if tests is not None and tests.ran and not tests.ok:
        red.append("tests failed: " + (", ".join(tests.failed) or "see the output"))
    failing = [f"endpoint {e.url}: {e.error}" for e in endpoints if not e.ok]
    if ev.progressing:
        if red:
            return RED, red + failing
        return PROGRESSING, ev.progressing + failing
    red += failing
    if red:
        return RED, red
    return GREEN, []


# ---------------------------------------------------------------- gathering


def list_objects(ctx: Any) -> dict[str, list[dict[str, Any]]]:
    """The release's objects by kind, from one ``kubectl get`` LIST."""
    from lain_cli import kube

    listing = kube.get_json(ctx.cluster, ",".join(OBJECT_KINDS + ("replicasets",)),
                            selector=app_selector(ctx)) or {}
    from lain_cli.watch import plural_of

    objects: dict[str, list[dict[str, Any]]] = {}
    for obj in listing.get("items") or []:
        objects.setdefault(plural_of(str(obj.get("kind", ""))), []).append(obj)
    return objects


def list_events(ctx: Any) -> list[dict[str, Any]]:
    from lain_cli import kube

    return list((kube.get_json(ctx.cluster, "events") or {}).get("items") or [])


def proc_of_pods(objects: Mapping[str, Sequence[Obj]]) -> dict[str, str]:
    """The proc of every live pod (the ones whose logs the green light reads)."""
    from lain_cli.tracking.objects import live_pods

    return {_name(p): _component(p) for p in live_pods(objects)}


def ingress_check_override(cluster: Any = None) -> tuple[str | None, str | None]:
    """(scheme, address) for endpoint checks: ``$LAIN_INGRESS_SCHEME`` /
    ``$LAIN_INGRESS_ADDRESS``, else the cluster file's ``ingressCheck``."""
    import os

    scheme = os.environ.get("LAIN_INGRESS_SCHEME") or getattr(cluster, "ingress_check_scheme", "") or None
    address = os.environ.get("LAIN_INGRESS_ADDRESS") or getattr(cluster, "ingress_check_address", "") or None
    return scheme, address


def app_endpoints(ctx: Any) -> list[Endpoint]:
    scheme, _ = ingress_check_override(ctx.cluster)
    domain = ctx.cluster.domain if ctx.cluster else ""
    return endpoints_of(ctx.values, domain, scheme)


def run_endpoint_checks(ctx: Any) -> list[EndpointCheck]:
    _, address = ingress_check_override(ctx.cluster)
    return check_endpoints(app_endpoints(ctx), address=address)


def app_log_links(ctx: Any) -> list[LogLink]:
    long_running = [name for name, kind in ctx.procs.items() if kind in ("deployment", "statefulset")]
    return log_links(ctx.cluster.log_link, app=ctx.appname, namespace=ctx.namespace,
                     cluster=ctx.cluster.name, procs=sorted(long_running) or sorted(ctx.procs))


def build_report(
    ctx: Any,
    ev: Evaluation,
    *,
    logs: LogScan | None,
    endpoints: Sequence[EndpointCheck],
    tests: TestResult | None,
    now: datetime,
) -> StatusReport:
    verdict, reasons = decide(ev, logs, endpoints, tests)
    return StatusReport(
        app=ctx.appname,
        release=ctx.release_name,
        cluster=ctx.cluster.name,
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
    )


def collect(
    ctx: Any,
    *,
    run_tests: bool = False,
    objects: Mapping[str, Sequence[Obj]] | None = None,
    events: Sequence[Obj] | None = None,
    tolerances: Any = None,
) -> StatusReport:
    """Everything the green light needs, now: one LIST of the release's objects
    (unless a watch's ``objects`` snapshot is given), Events when a pod is not
    healthy, one log scan, the endpoint checks and, with ``run_tests``, helm test."""
    from concurrent.futures import ThreadPoolExecutor

    tol = tolerances or status_tolerances()
    objs = dict(objects) if objects is not None else list_objects(ctx)
    now = datetime.now(UTC)
    ev = evaluate(objs, list(events or []), now, tol)
    with ThreadPoolExecutor(max_workers=3) as pool:
        http = pool.submit(run_endpoint_checks, ctx)
        scan = pool.submit(scan_error_logs, ctx.cluster, ctx.release_name,
                           ctx.values.get("errorLogPattern"), proc_of_pods(objs),
                           first=[p.name for p in ev.pods if p.state not in ("ready", "succeeded")],
                           selector=app_selector(ctx))
        needs_events = events is None and (ev.unhealthy_pods or ev.fatal or ev.progressing)
        fetched = pool.submit(list_events, ctx) if needs_events else None
        tests = run_helm_tests(ctx) if run_tests else None
        if fetched is not None:
            ev = evaluate(objs, fetched.result(), now, tol)
        return build_report(ctx, ev, logs=scan.result(), endpoints=http.result(), tests=tests, now=now)


def run_helm_tests(ctx: Any) -> TestResult:
    """``helm test`` of the release: the app's ``tests``, pass or fail, with their logs."""
    from lain_cli import helm

    ok, output, failed = helm.run_tests(ctx.cluster, ctx.release_name)
    return TestResult(True, ok, tuple(output[-40:]), tuple(failed))
