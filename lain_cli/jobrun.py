"""One-off Jobs: ``lain job -- CMD`` and ``lain create-job CRONJOB``.

``lain job`` renders its Job with the built-in chart (``templates/adhoc-job.yaml``),
from the same ``lain.podSpec`` as the proc it is modelled on, so the pod has the
proc's env, env Secret, secret files, volumes and resources; only the command
and the image (the proc's deployed one, or ``--image-tag``) are the job's own.
``lain create-job`` copies a deployed CronJob's job template, as ``kubectl
create job --from=cronjob/NAME`` does.

Either way lain creates the Job, streams its logs, fails fast on a pod that can
never run (image not found, unschedulable), and returns the exit code the
container ended with (its terminated state).  The pure parts (names, values,
the Job from a CronJob, reading the exit code) are tested exactly; the cluster
side sits behind :class:`JobRunner`.
"""

from __future__ import annotations

import copy
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lain_cli import events as ev
from lain_cli.context import AppContext
from lain_cli.errors import EXIT_FAILED, OperationFailed, UsageError
from lain_cli.interrupts import as_interrupted
from lain_cli.reporters import Journal, Reporters, TerminalReporter

Obj = dict[str, Any]
JOB_LABEL = "lain.dev/job"
ADHOC_SECTIONS = {"deployment": "deployments", "statefulset": "statefulSets"}
NAME_LIMIT = 63  # a Job's name is also its pods' job-name label value
TTL_CLEANED = 600  # a finished job lain deletes itself: the cluster's safety net if lain is killed
TTL_KEPT = 86400  # --keep: a day to read its logs
JOB_END_PATIENCE = 3.0  # seconds to wait for the pod's final status once the Job has ended
LOG_DRAIN = 2.0  # seconds a log stream gets to print its last lines once the container ended


@dataclass(frozen=True)
class JobOptions:
    timeout: float = 1800.0
    keep: bool = False
    journal: Journal | None = None


@dataclass
class JobResult:
    """How a job's container ended: its exit code, or why it never ran to the end."""

    exit_code: int | None
    reason: str = ""
    report: list[str] = field(default_factory=list)
    timed_out: bool = False
    pod: str = ""


def job_name(base: str, kind: str, token: str) -> str:
    """``<base>-<kind>-<token>``, ``base`` shortened so the name fits a label value."""
    suffix = f"-{kind}-{token}"
    return base[: NAME_LIMIT - len(suffix)].rstrip("-.") + suffix


def new_token() -> str:
    return secrets.token_hex(3)


def command_text(command: Sequence[str]) -> str:
    return shlex.join(command)


def notice_text(command: Sequence[str]) -> str:
    """The command as a webhook notice names it: the program only, since an argument
    may be a secret typed on the command line (a token, a password)."""
    if not command:
        return "the image's command"
    program = shlex.quote(command[0])
    rest = len(command) - 1
    return f"`{program}`" + (f" with {rest} argument{'s' if rest > 1 else ''}" if rest else "")


def resolve_proc(ctx: AppContext, proc: str) -> str:
    """The section (``deployments``/``statefulSets``) of the proc a job is modelled on."""
    kind = ctx.procs.get(proc)
    if kind not in ADHOC_SECTIONS:
        known = sorted(n for n, k in ctx.procs.items() if k in ADHOC_SECTIONS)
        raise UsageError(f"unknown proc {proc!r} to model the job on",
                         hint=f"procs of {ctx.appname}: {', '.join(known) or 'none'} (--proc PROC)")
    return ADHOC_SECTIONS[kind]


def deployed_image(deployed: Mapping[str, Any], section: str, proc: str) -> str | None:
    """The image a proc runs in the deployed release (its values as lain staged them)."""
    images = ((deployed.get("lain") or {}).get("images") or {}).get(section) or {}
    image = images.get(proc)
    return str(image) if image else None


def adhoc_values(chart_values: Mapping[str, Any], *, section: str, proc: str, image: str, name: str,
                 command: Sequence[str], keep: bool, deadline: float) -> dict[str, Any]:
    """The chart values that render the one-off Job (``templates/adhoc-job.yaml``)."""
    values = copy.deepcopy(dict(chart_values))
    lain = values.setdefault("lain", {})
    lain.setdefault("images", {}).setdefault(section, {})[proc] = image
    lain["adhocJob"] = {
        "name": name,
        "section": section,
        "proc": proc,
        "command": list(command),
        "ttlSecondsAfterFinished": TTL_KEPT if keep else TTL_CLEANED,
        "activeDeadlineSeconds": max(1, int(deadline)),
    }
    return values


def pick_job(rendered: str, name: str) -> Obj:
    """The Job ``name`` out of a ``helm template`` output."""
    import yaml

    for doc in yaml.safe_load_all(rendered):
        if isinstance(doc, dict) and doc.get("kind") == "Job" and (doc.get("metadata") or {}).get("name") == name:
            return doc
    raise OperationFailed(f"the chart rendered no job {name}", hint="this is a bug in lain's chart")


def job_from_cronjob(cronjob: Mapping[str, Any], name: str) -> Obj:
    """A Job from a CronJob's template, as ``kubectl create job --from=cronjob/X`` makes it
    (annotation ``cronjob.kubernetes.io/instantiate: manual``, owned by the CronJob), plus
    lain's ``lain.dev/job`` label on the Job and its pods."""
    meta = cronjob.get("metadata") or {}
    template = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
    template_meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    labels = {**(template_meta.get("labels") or {}), JOB_LABEL: name}
    pod_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), JOB_LABEL: name}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual", **(template_meta.get("annotations") or {})},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta.get("name", ""),
                                 "uid": meta.get("uid", ""), "controller": True}],
        },
        "spec": spec,
    }


def main_container(job: Mapping[str, Any]) -> str:
    containers = ((((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or [{}]
    return str(containers[0].get("name", ""))


def terminated_state(pod: Mapping[str, Any], container: str) -> Mapping[str, Any] | None:
    """The terminated state of ``container`` in ``pod`` (None while it has not ended)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            state = (status.get("state") or {}).get("terminated")
            return state if isinstance(state, Mapping) else None
    return None


def exit_reason(terminated: Mapping[str, Any]) -> str:
    code = terminated.get("exitCode")
    reason = terminated.get("reason") or ("Completed" if code == 0 else "Error")
    return f"exit {code} ({reason})"


class JobRunner(Protocol):
    """What running a job asks of the cluster (the real :class:`ClusterJobRunner`, or a fake)."""

    def create(self, job: Obj) -> Obj: ...

    def follow(self, name: str, container: str, timeout: float, emit: ev.Emit,
               out: Callable[[str], None]) -> JobResult: ...

    def delete(self, name: str) -> None: ...


class ClusterJobRunner:
    """Jobs on a real cluster: kubectl create/delete, one watch, ``kubectl logs -f`` per container."""

    def __init__(self, ctx: AppContext, kubectl: Any) -> None:
        self.cluster = ctx.require_cluster()
        self.kubectl = kubectl

    def create(self, job: Obj) -> Obj:
        return self.kubectl.create(job)  # type: ignore[no-any-return]

    def delete(self, name: str) -> None:
        self.kubectl.delete("job", name)

    def follow(self, name: str, container: str, timeout: float, emit: ev.Emit,
               out: Callable[[str], None]) -> JobResult:
        from lain_cli.watch import ReleaseWatch

        with ReleaseWatch(self.cluster, f"{JOB_LABEL}={name}", kinds=("jobs", "pods"), with_events=True,
                          list_timeout=max(2.0, min(30.0, timeout))) as watch, \
                LogRelay(self.cluster, out) as logs:
            return follow_job(watch, logs, self.cluster, name, container, timeout)


class LogRelay:
    """Streams the logs of a job's containers as they start; once a container has ended,
    fetches its whole log and prints what the stream had not (a stream may start late or,
    on some clusters, never end)."""

    def __init__(self, cluster: Any, out: Callable[[str], None]) -> None:
        self.cluster = cluster
        self.out = out
        self._lock = threading.Lock()
        self._printed: dict[tuple[str, str], int] = {}
        self._prefix: dict[tuple[str, str], str] = {}
        self._threads: dict[tuple[str, str], threading.Thread] = {}
        self._streams: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> LogRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in list(self._streams.values()):
            stream.stop()

    def _print(self, key: tuple[str, str], line: str) -> None:
        with self._lock:
            self._printed[key] = self._printed.get(key, 0) + 1
            prefix = self._prefix[key]
        self.out(prefix + line)

    def follow(self, pod: str, container: str, prefix: str = "") -> None:
        from lain_cli import kube, proc, tools

        key = (pod, container)
        with self._lock:
            if key in self._threads:
                return
            self._prefix[key] = prefix
            self._printed[key] = 0
        argv = kube.logs_argv(tools.kubectl().path, self.cluster.kubectl_args(), pod=pod, container=container,
                              prefix=False, follow=True)

        def pump() -> None:
            try:
                stream = proc.stream(argv, merge_stderr=False)
            except Exception:  # noqa: BLE001 - the final fetch prints what a stream could not
                return
            self._streams[key] = stream
            with stream:
                for line in stream.lines():
                    self._print(key, line)

        thread = threading.Thread(target=pump, name=f"logs-{pod}-{container}", daemon=True)
        self._threads[key] = thread
        thread.start()

    def finish(self, pod: str, container: str, prefix: str = "") -> None:
        """The container ended: let its stream drain, then print the lines it missed."""
        from lain_cli import kube, proc, tools

        key = (pod, container)
        thread = self._threads.get(key)
        if thread is not None:
            thread.join(LOG_DRAIN)
        stream = self._streams.get(key)
        if stream is not None:
            stream.stop()  # on some clusters `kubectl logs -f` outlives the container
        if thread is not None:
            thread.join(1.0)
        with self._lock:
            self._threads[key] = self._threads.get(key) or threading.Thread()
            self._prefix.setdefault(key, prefix)
            printed = self._printed.get(key, 0)
        argv = kube.logs_argv(tools.kubectl().path, self.cluster.kubectl_args(), pod=pod, container=container,
                              prefix=False)
        result = proc.run(argv, timeout=kube.REQUEST_TIMEOUT, check=False)
        if result.ok:
            for line in result.stdout.splitlines()[printed:]:
                self._print(key, line)


def follow_job(watch: Any, logs: LogRelay, cluster: Any, name: str, container: str, timeout: float) -> JobResult:
    """Follow job ``name`` in ``watch`` until its ``container`` ends, the job fails without it
    (deadline), its pod can never run, or ``timeout``; its logs go through ``logs``."""
    from lain_cli import rollout, tracking
    from lain_cli.tracking.objects import is_deleting, meta, pods_of

    tolerances = tracking.Tolerances()
    started = time.monotonic()
    finished_at: float | None = None
    while True:
        since = watch.generation
        if watch.error is not None:
            raise watch.error
        job = next((j for j in watch.objects("jobs") if meta(j).get("name") == name), None)
        owned = pods_of(job, watch.objects("pods")) if job else []
        owned.sort(key=lambda p: (not is_deleting(p), str(meta(p).get("creationTimestamp", ""))))
        pods = [p for p in owned if not is_deleting(p)]
        # the pod whose container ended speaks for the job, even while it is being removed
        pod = next((p for p in reversed(owned) if terminated_state(p, container) is not None),
                   pods[-1] if pods else None)
        if pod is not None:
            pod_name = str(meta(pod).get("name", ""))
            for each, is_init in rollout.started_containers(pod):
                logs.follow(pod_name, each, f"[{each}] " if is_init else "")
            ended = terminated_state(pod, container)
            if ended is not None:
                logs.finish(pod_name, container)
                code = ended.get("exitCode")
                return JobResult(int(code) if isinstance(code, int) else 1, exit_reason(ended), pod=pod_name)
        if job is not None:
            status = tracking.workload_status(job, pods, rollout.utcnow(), tolerances,
                                              events=rollout.events_about(watch.events(), [name, *(
                                                  str(meta(p).get("name", "")) for p in pods)]))
            # a pod that can never run fails at once; the Job's own verdict (its conditions)
            # waits below for the pod's final status, which can reach the watch after it
            fatal = [p for p in status.problems if p.fatal and not p.crash and p.object_kind == "Pod"]
            if fatal:
                return JobResult(None, fatal[0].reason, [fatal[0].describe()], pod=str(meta(pod or {}).get("name", "")))
            ended_as = next((c for c in (job.get("status") or {}).get("conditions") or []
                             if c.get("type") in ("Failed", "Complete") and c.get("status") == "True"), None)
            if ended_as is not None:
                # the job's verdict can reach the watch a moment before its pod's final status
                finished_at = finished_at or time.monotonic()
                if time.monotonic() - finished_at >= JOB_END_PATIENCE:
                    if ended_as.get("type") == "Complete":
                        return JobResult(0, "Completed", pod=str(meta(pod or {}).get("name", "")))
                    reason = str(ended_as.get("reason") or "Failed")
                    return JobResult(None, reason, [str(ended_as.get("message") or reason)])
        elapsed = time.monotonic() - started
        if elapsed >= timeout:
            phase = (pod.get("status") or {}).get("phase", "Pending") if pod is not None else ""
            where = f"pod {meta(pod).get('name')} is {phase}" if pod is not None else "no pod was created"
            return JobResult(None, "timed out", [f"job {name} did not finish within {timeout:g}s ({where})"],
                             timed_out=True)
        watch.wait_for_change(min(rollout.TICK, timeout - elapsed), since=since)


class JobRun:
    """One job, created, followed, reported, cleaned up."""

    def __init__(self, ctx: AppContext, options: JobOptions, runner: JobRunner, emit: Reporters,
                 deadline: Any, *, what: str, delete_after: bool) -> None:
        self.ctx = ctx
        self.options = options
        self.runner = runner
        self.emit = emit
        self.deadline = deadline
        self.what = what
        # a finished job is deleted (lain job) or kept (create-job, like the CronJob's runs);
        # an interrupted one is deleted either way; --keep keeps both
        self.delete_after = delete_after and not options.keep

    def run(self, job: Obj, out: Callable[[str], None]) -> int:
        name = str(job["metadata"]["name"])
        container = main_container(job)
        created = False
        try:
            self.runner.create(job)
            created = True
            remaining = self.deadline.remaining()
            self.emit(ev.Step(f"job {name} created; waiting for it to run and streaming its logs "
                              f"(timeout {remaining:.0f}s)"))
            result = self.runner.follow(name, container, remaining, self.emit, out)
        except KeyboardInterrupt as exc:
            signal_ = as_interrupted(exc)
            if created:
                self.remove(name, interrupted=True)
            self.emit(ev.Warning(f"interrupted ({signal_.what})"))
            self.emit(ev.Notice("job", f"{self.what}: interrupted ({signal_.what})"))
            self.record(name, None, f"interrupted ({signal_.what})")
            return signal_.exit_code
        self.record(name, result.exit_code, result.reason)
        if result.exit_code is None:
            self.emit(ev.Failure(f"job {name} failed: {result.reason}", tuple(result.report)))
            self.emit(ev.Notice("job", f"{self.what}: failed, {result.reason}", tuple(result.report)))
            if not self.delete_after:
                self.emit(ev.Info(f"`kubectl describe job {name}` shows more"))
            self.remove(name)
            return EXIT_FAILED
        if result.exit_code == 0:
            self.emit(ev.Success(f"job {name}: {result.reason}"))
        else:
            self.emit(ev.Failure(f"job {name}: {result.reason}"))
        self.emit(ev.Notice("job", f"{self.what}: {result.reason}"))
        self.remove(name)
        return result.exit_code

    def record(self, name: str, code: int | None, reason: str) -> None:
        journal = self.options.journal
        if journal is not None:
            journal.facts["job"] = {"name": name, "exitCode": code, "reason": reason, "kept": not self.delete_after}

    def remove(self, name: str, *, interrupted: bool = False) -> None:
        from lain_cli.errors import LainError

        if self.options.keep or not (self.delete_after or interrupted):
            if self.options.keep:
                self.emit(ev.Info(f"kept job {name} (--keep): `kubectl delete job {name}` removes it; the "
                                  f"cluster does {TTL_KEPT // 3600}h after it finished"))
            return
        try:
            self.runner.delete(name)
        except LainError as exc:
            self.emit(ev.Warning(f"could not delete job {name}: {exc.message}; the cluster removes it "
                                 f"{TTL_CLEANED // 60} minutes after it finished"))
            return
        if interrupted:
            self.emit(ev.Info(f"deleted job {name} and its pod"))


def _tools(ctx: AppContext, timeout: float, tools: Any) -> Any:
    from lain_cli import deploy as flow

    return tools or flow.Tools.for_context(ctx, timeout)


def run_job(ctx: AppContext, command: Sequence[str], options: JobOptions, *, proc: str = "web",
            image_tag: str | None = None, tools: Any = None, runner: JobRunner | None = None,
            render: Callable[[AppContext, Mapping[str, Any]], str] | None = None) -> int:
    """``lain job``: CMD in a one-off Job modelled on ``proc``; the command's exit code."""
    from lain_cli import chart, release
    from lain_cli.release_plan import Images

    if not command:
        raise UsageError("no command given", hint="lain job -- CMD [ARG...], e.g. lain job -- alembic upgrade heads")
    section = resolve_proc(ctx, proc)
    cluster = ctx.require_cluster()
    tools = _tools(ctx, options.timeout, tools)
    if image_tag:
        image = f"{ctx.pull_repository or ctx.image_repository}:{image_tag}"
    else:
        history = tools.helm.history(ctx.release_name)
        found = deployed_image(tools.helm.values(ctx.release_name), section, proc) \
            if release.last_deployed(history) else None
        if found is None:
            raise OperationFailed(f"proc {proc} of {ctx.release_name} is not deployed on cluster {cluster.name}",
                                  hint="pick the image with --image-tag TAG, or `lain deploy` first")
        image = found
    name = job_name(ctx.release_name, "job", new_token())
    values = adhoc_values(ctx.chart_values(), section=section, proc=proc, image=image, name=name,
                          command=command, keep=options.keep, deadline=options.timeout)
    rendered = (render or (lambda c, v: chart.render_app(c, values=v)))(ctx, values)
    job = pick_job(rendered, name)
    what = f"job {name} ({image}): {notice_text(command)}"
    emit = Reporters(ctx, Images(action="job", new_image=image), options.journal)
    emit(ev.Step(f"running `{command_text(command)}` in job {name}, modelled on {proc}, image {image}"))
    runner = runner or ClusterJobRunner(ctx, tools.kubectl)
    try:
        return JobRun(ctx, options, runner, emit, tools.deadline, what=what, delete_after=True).run(job, _out())
    finally:
        emit.flush()


def cronjobs_of(ctx: AppContext) -> list[str]:
    return sorted(name for name, kind in ctx.procs.items() if kind == "cronjob")


def create_job(ctx: AppContext, cronjob: str, options: JobOptions, *, tools: Any = None,
               runner: JobRunner | None = None) -> int:
    """``lain create-job``: a deployed CronJob run now; its container's exit code.

    The Job stays afterwards, as the CronJob's own runs do (its history limits and
    ``ttlSecondsAfterFinished`` clean it up); Ctrl-C deletes it unless ``--keep``."""
    from lain_cli.release_plan import Images

    known = cronjobs_of(ctx)
    if cronjob not in known:
        raise UsageError(f"unknown cronjob {cronjob!r}",
                         hint=f"cronjobs of {ctx.appname}: {', '.join(known) or 'none (see cronjobs in chart/values.yaml)'}")
    cluster = ctx.require_cluster()
    tools = _tools(ctx, options.timeout, tools)
    full = f"{ctx.release_name}-{cronjob}"
    live = tools.kubectl.get_json("cronjob", full)
    if live is None:
        raise OperationFailed(f"cronjob {full} is not on cluster {cluster.name}",
                              hint="it is in the values but not deployed yet: `lain deploy` creates it")
    name = job_name(full, "manual", new_token())
    job = job_from_cronjob(live, name)
    image = next(iter(c.get("image", "") for c in job["spec"]["template"]["spec"].get("containers") or []), "")
    emit = Reporters(ctx, Images(action="create-job", new_image=image), options.journal)
    emit(ev.Step(f"running cronjob {full} now, as job {name} (image {image})"))
    runner = runner or ClusterJobRunner(ctx, tools.kubectl)
    terminal_only = TerminalReporter()
    terminal_only(ev.Info(f"schedule of {full}: {(live.get('spec') or {}).get('schedule', '?')}"))
    try:
        return JobRun(ctx, options, runner, emit, tools.deadline, what=f"cronjob {cronjob} run by hand as {name}",
                      delete_after=False).run(job, _out())
    finally:
        emit.flush()


def _out() -> Callable[[str], None]:
    from lain_cli import console

    return console.passthrough
