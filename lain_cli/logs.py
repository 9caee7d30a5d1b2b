"""`lain logs`: which pods and containers to read, and how.

A target is a proc, job, cronjob or test of the app (by its values name), or
one pod by name.  Planning is pure: given the target's pods it decides between
one ``kubectl logs -l <selector> --prefix`` over every pod (the usual case, and
what ``-f`` interleaves) and one ``kubectl logs POD -c CONTAINER`` per
container that has logs, when some pod cannot be read as a whole: a pod stuck
in an init container (only that one has run), a pod whose main container
never started, or ``--previous`` where only some pods restarted.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lain_cli.errors import UsageError
from lain_cli.tracking.objects import COMPONENT_LABEL

if TYPE_CHECKING:
    from lain_cli.context import AppContext

Pod = Mapping[str, Any]


def check_since(since: str | None) -> str | None:
    """``--since`` as every lain duration is written (``30s``, ``10m``, ``1h30m``), in the
    form kubectl takes; a UsageError when it is not a duration."""
    from lain_cli.durations import format_duration, parse_duration

    return None if since is None else format_duration(parse_duration(since, "--since"))


def release_selector(release: str, component: str | None = None) -> str:
    """The label selector of a release's pods, or of one proc/job of it (lain_cli.labels)."""
    from lain_cli.labels import release_selector as selector

    return selector(release, component)


def pod_name(pod: Pod) -> str:
    return str((pod.get("metadata") or {}).get("name", ""))


def pod_component(pod: Pod) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(COMPONENT_LABEL, ""))


def _statuses(pod: Pod, key: str) -> dict[str, Mapping[str, Any]]:
    return {s.get("name", ""): s for s in (pod.get("status") or {}).get(key) or []}


def container_names(pod: Pod) -> tuple[list[str], list[str]]:
    """(init containers, main containers) of a pod, in spec order."""
    spec = pod.get("spec") or {}
    inits = [c.get("name", "") for c in spec.get("initContainers") or []]
    mains = [c.get("name", "") for c in spec.get("containers") or []]
    return inits, mains


def has_logs(status: Mapping[str, Any] | None, previous: bool = False) -> bool:
    """Whether a container instance exists to read: the current (or previous) run."""
    if not status:
        return False
    if previous:
        return "terminated" in (status.get("lastState") or {})
    state = status.get("state") or {}
    return "running" in state or "terminated" in state or "terminated" in (status.get("lastState") or {})


def waiting_reason(status: Mapping[str, Any] | None) -> str:
    waiting = ((status or {}).get("state") or {}).get("waiting") or {}
    return str(waiting.get("reason") or "not started")


@dataclass(frozen=True)
class PodLogs:
    """What can be read from one pod: containers with logs and why others have none."""

    pod: str
    containers: tuple[str, ...]
    all_containers: bool
    missing: tuple[str, ...] = ()


def readable_containers(pod: Pod, *, previous: bool = False, container: str | None = None) -> PodLogs:
    """The containers of ``pod`` that have (previous) logs, init containers first."""
    inits, mains = container_names(pod)
    statuses = {**_statuses(pod, "initContainerStatuses"), **_statuses(pod, "containerStatuses")}
    wanted = [container] if container else [*inits, *mains]
    readable, missing = [], []
    for name in wanted:
        status = statuses.get(name)
        if has_logs(status, previous):
            readable.append(name)
        elif previous:
            missing.append(f"{name}: no previous container (it has not restarted)")
        else:
            missing.append(f"{name}: {waiting_reason(status)}")
    return PodLogs(pod_name(pod), tuple(readable), not missing, tuple(missing))


@dataclass(frozen=True)
class LogRequest:
    """One ``kubectl logs`` invocation: a selector over several pods, or one pod's container."""

    selector: str | None = None
    pod: str | None = None
    container: str | None = None
    all_containers: bool = False
    max_requests: int = 0


@dataclass
class LogPlan:
    requests: list[LogRequest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_logs(
    pods: Sequence[Pod],
    selector: str | None,
    *,
    previous: bool = False,
    container: str | None = None,
) -> LogPlan:
    """Decide the kubectl calls that show the logs of ``pods``.

    ``selector`` is the label selector matching exactly these pods (None for a
    single pod chosen by name).  One selector call when every pod can be read
    whole; otherwise one call per readable container, and a note for the rest.
    """
    plan = LogPlan()
    readable = [readable_containers(p, previous=previous, container=container) for p in pods]
    multi = any(len(container_names(p)[0]) + len(container_names(p)[1]) > 1 for p in pods)
    if selector and readable and all(r.all_containers for r in readable):
        count = sum(len(r.containers) for r in readable)
        plan.requests.append(
            LogRequest(
                selector=selector,
                container=container,
                all_containers=multi and not container,
                max_requests=max(5, count),
            )
        )
        return plan
    for r in readable:
        for name in r.containers:
            plan.requests.append(LogRequest(pod=r.pod, container=name))
        for why in r.missing:
            plan.notes.append(f"{r.pod} {why}")
    return plan


def known_targets(procs: Mapping[str, str], pods: Sequence[Pod]) -> list[str]:
    """Names ``lain logs`` accepts: the app's procs/jobs plus components seen on live pods."""
    names = set(procs)
    names.update(c for c in (pod_component(p) for p in pods) if c)
    return sorted(names)


def select_pods(
    target: str | None,
    *,
    release: str,
    procs: Mapping[str, str],
    pods: Sequence[Pod],
    appname: str = "",
) -> tuple[list[Pod], str | None, str]:
    """(pods, selector, description) for ``target``; UsageError listing what exists.

    ``target`` may be a proc/job/cronjob/test name, its object name
    (``<release>-<name>``), or a pod name.  None means every pod of the release.
    With ``appname`` the selectors also reach procs taken over from lain4
    (:func:`lain_cli.labels.release_selector`).
    """
    from lain_cli import labels

    long_running = [name for name, kind in procs.items() if kind in ("deployment", "statefulset")]

    def selector(component: str | None = None) -> str:
        return labels.release_selector(release, component, appname=appname, procs=long_running)

    if target is None:
        return list(pods), selector(), f"release {release}"
    names = known_targets(procs, pods)
    component = target if target in names else None
    if component is None and target.startswith(f"{release}-") and target[len(release) + 1 :] in names:
        component = target[len(release) + 1 :]
    if component is not None:
        chosen = [p for p in pods if pod_component(p) == component]
        return chosen, selector(component), component
    by_name = [p for p in pods if pod_name(p) == target]
    if by_name:
        return by_name, None, f"pod {target}"
    listing = ", ".join(names) or "none"
    pod_list = ", ".join(sorted(pod_name(p) for p in pods)) or "none"
    raise UsageError(
        f"{target!r} is not a proc, job or pod of {release}",
        details=[f"procs and jobs: {listing}", f"pods: {pod_list}"],
        hint="run `lain logs NAME` with one of these",
    )


def relay(streams: Sequence[Any]) -> None:
    """Copy the output of several running ``proc.Stream`` s to stdout as it comes."""
    lock = threading.Lock()

    def pump(stream: Any) -> None:
        for line in stream.lines():
            with lock:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=pump, args=(s,), daemon=True) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def show_logs(
    ctx: AppContext,
    target: str | None,
    *,
    follow: bool = False,
    tail: int | None = None,
    previous: bool = False,
    since: str | None = None,
    container: str | None = None,
) -> int:
    """Print the logs of ``target`` (see :func:`select_pods`); kubectl's exit code."""
    from lain_cli import console, kube, proc, tools
    from lain_cli.errors import OperationFailed

    since = check_since(since)
    if tail is not None and tail < -1:
        raise UsageError(f"--tail {tail}: use a number of lines, or -1 for all")
    from lain_cli.labels import app_selector

    listing = kube.get_json(ctx.require_cluster(), "pods", selector=app_selector(ctx)) or {}
    pods = [p for p in listing.get("items") or [] if isinstance(p, Mapping)]
    chosen, selector, what = select_pods(target, release=ctx.release_name, procs=ctx.procs, pods=pods,
                                         appname=ctx.appname)
    if not chosen:
        raise OperationFailed(
            f"{what} has no pods on cluster {ctx.require_cluster().name}",
            hint="a finished job's pods may have been cleaned up; `lain status -s` prints the log links",
        )
    if container is not None:
        names = sorted({n for p in chosen for group in container_names(p) for n in group})
        if container not in names:
            raise UsageError(
                f"{what} has no container {container!r}", details=[f"containers: {', '.join(names)}"]
            )
    plan = plan_logs(chosen, selector, previous=previous, container=container)
    for note in plan.notes:
        console.info(f"no logs: {note}")
    if not plan.requests:
        raise OperationFailed(f"no logs to show for {what}", details=plan.notes,
                              hint="`lain status` shows why the containers have not started")
    kubectl = tools.kubectl().path
    argvs = [
        kube.logs_argv(
            kubectl,
            ctx.require_cluster().kubectl_args(),
            selector=req.selector,
            pod=req.pod,
            container=req.container,
            all_containers=req.all_containers,
            max_requests=req.max_requests,
            follow=follow,
            previous=previous,
            tail=-1 if tail is None else tail,
            since=since,
        )
        for req in plan.requests
    ]
    if len(argvs) == 1:
        return proc.run_attached(argvs[0], interrupt_ends=True)
    if not follow:
        return max(proc.run_attached(argv, interrupt_ends=True) for argv in argvs)
    streams = [proc.stream(argv) for argv in argvs]
    try:
        relay(streams)
    finally:
        for stream in streams:
            stream.stop()
    return max((s.proc.returncode or 0) for s in streams)
