"""The log agent: the node-local part of the kubelet that kwok leaves to the harness.

kwok serves ``kubectl logs`` from files named by a Logs object (one per pod, named after
it) and runs ``kubectl exec`` as an Exec object says.  Pod names are only known once pods
exist, so this thread watches every pod and, for each new one:

1. writes its containers' log files from the ``logs`` knobs (:mod:`.knobs`, :mod:`.logfiles`);
2. server-side applies its Logs and Exec objects (the Exec one carries the container's
   environment, resolved from the pod spec, Secrets and ConfigMaps, and a scratch
   folder as working directory, as tests/kubesim does);
3. sets the ``kwokcluster.lain.dev/logs-ready`` annotation, plus knobs registered by
   label selector (:class:`KnobRules`): the pod Stages only start a pod once it is set,
   so no test can read a started container's logs before they exist.

Afterwards it keeps the files in step with the container statuses kwok writes: a restart
moves the ended instance (with kubesim's ``kubesim: crash #N`` line) to the previous log;
a container exiting non-zero gets that line too.  When a pod is deleted its objects and
files go.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.kubesim import commandrun

from . import knobs as knobs_mod
from .api import Api, ApiError
from .config import LOGS_READY
from .logfiles import LogStore

Obj = dict[str, Any]
KWOK_API = "/apis/kwok.x-k8s.io/v1alpha1"
MANAGER = "kwokcluster"
WATCH_READ_TIMEOUT = 2.0  # an idle watch reconnects after this long


@dataclass
class KnobRule:
    namespace: str | None
    selector: str
    annotations: dict[str, str | None]


class KnobRules:
    """Knobs for pods matching a label selector, applied to pods created later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[KnobRule] = []

    def add(self, rule: KnobRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def matching(self, api: Api, pod: Obj) -> dict[str, str | None]:
        """The annotations of every rule whose selector matches ``pod`` (asked of the API
        server, so the selector semantics are the real ones)."""
        meta = pod["metadata"]
        with self._lock:
            rules = [r for r in self._rules if r.namespace in (None, meta["namespace"])]
        out: dict[str, str | None] = {}
        for rule in rules:
            found = api.json("GET", f"/api/v1/namespaces/{meta['namespace']}/pods", params={
                "labelSelector": rule.selector, "fieldSelector": f"metadata.name={meta['name']}"})
            if found.get("items"):
                out.update(rule.annotations)
        return out


@dataclass
class PodState:
    """What the agent has written for one pod (by uid)."""

    namespace: str
    name: str
    restarts: dict[str, int] = field(default_factory=dict)
    reported_exit: set[str] = field(default_factory=set)


def _b64(value: str) -> str:
    return base64.b64decode(value).decode(errors="replace")


class Environment:
    """A container's environment as the kubelet would build it (no ``$(VAR)`` expansion)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def _data(self, kind: str, namespace: str, name: str) -> dict[str, str]:
        try:
            obj = self.api.json("GET", f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        except ApiError:
            return {}
        data = {k: _b64(v) for k, v in (obj.get("data") or {}).items()} if kind == "secrets" else dict(
            obj.get("data") or {})
        data.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
        return data

    def of(self, pod: Obj, container: Obj) -> dict[str, str]:
        meta, ns = pod["metadata"], pod["metadata"]["namespace"]
        env = {"HOSTNAME": meta["name"]}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "secretRef" in source:
                env.update({prefix + k: v for k, v in self._data("secrets", ns, source["secretRef"]["name"]).items()})
            if "configMapRef" in source:
                env.update({prefix + k: v for k, v in
                            self._data("configmaps", ns, source["configMapRef"]["name"]).items()})
        fields = {"metadata.name": meta["name"], "metadata.namespace": ns, "metadata.uid": meta.get("uid", ""),
                  "spec.nodeName": pod["spec"].get("nodeName", ""),
                  "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
                  "status.podIP": (pod.get("status") or {}).get("podIP", ""),
                  "status.hostIP": (pod.get("status") or {}).get("hostIP", "")}
        for item in container.get("env") or []:
            source = item.get("valueFrom") or {}
            if "value" in item or not source:
                env[item["name"]] = str(item.get("value", ""))
            elif "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                env[item["name"]] = self._data("secrets", ns, ref["name"]).get(ref["key"], "")
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                env[item["name"]] = self._data("configmaps", ns, ref["name"]).get(ref["key"], "")
            elif "fieldRef" in source:
                env[item["name"]] = fields.get(source["fieldRef"].get("fieldPath", ""), "")
            else:
                env[item["name"]] = ""
        return env


def _containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _statuses(pod: Obj) -> list[Obj]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def _crash_lines(number: int, code: int) -> list[str]:
    """kubesim's last line of a container exiting non-zero (none for exit 0)."""
    return [f"kubesim: crash #{number}: exiting with code {code}"] if code else []


class LogAgent:
    """The watching thread; :meth:`start`, :meth:`stop`, :attr:`error` if it gave up."""

    def __init__(self, api: Api, store: LogStore, scratch: Path, rules: KnobRules) -> None:
        self.api = api
        self.store = store
        self.scratch = scratch
        self.rules = rules
        self.env = Environment(api)
        self.error: BaseException | None = None
        self.problems: list[str] = []  # recent non-fatal failures, for diagnostics
        self._pods: dict[str, PodState] = {}
        self._unprepared: dict[str, Obj] = {}  # pods whose preparation failed, by uid
        self._ran: dict[str, tuple[int, list[str]]] = {}  # `run: command` pods: what their command did, by uid
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._reply: requests.Response | None = None
        self._thread = threading.Thread(target=self._main, name="kwok-log-agent", daemon=True)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._synced.wait(timeout):
            raise TimeoutError(f"the log agent did not list pods within {timeout}s: {self.error or self.problems}")

    def stop(self) -> None:
        self._stop.set()
        reply = self._reply
        if reply is not None:  # wake the blocked read now rather than at its timeout
            with contextlib.suppress(Exception):
                reply.raw._connection.sock.shutdown(socket.SHUT_RDWR)  # urllib3 has no public way
        self._thread.join(WATCH_READ_TIMEOUT + 10)
        self.api.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _main(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                version = self._resync()
                self._synced.set()
                failures = 0
                while not self._stop.is_set() and version:
                    version = self._watch(version)
                    for pod in list(self._unprepared.values()):  # a failure is retried every watch
                        self._handle("MODIFIED", pod)
            except Exception as exc:  # noqa: BLE001 - keep serving; give up only if it persists
                failures += 1
                self._note(f"agent loop: {exc!r}")
                if failures > 50:
                    self.error = exc
                    self._synced.set()
                    return
                self._stop.wait(min(0.1 * failures, 2.0))

    def _note(self, problem: str) -> None:
        self.problems = [*self.problems[-19:], f"{time.strftime('%H:%M:%S')} {problem}"]

    # -- list and watch -----------------------------------------------------------------
    def _resync(self) -> str:
        listing = self.api.json("GET", "/api/v1/pods")
        items = listing.get("items") or []
        seen = {pod["metadata"]["uid"] for pod in items}
        for uid in [u for u in self._pods if u not in seen]:  # first: a new pod may reuse the name
            state = self._pods.pop(uid)
            self._cleanup(state.namespace, state.name, uid)
        self._unprepared = {u: p for u, p in self._unprepared.items() if u in seen}
        for pod in items:
            self._handle("ADDED", pod)
        return str(listing["metadata"]["resourceVersion"])

    def _events(self, version: str) -> Iterator[Obj]:
        reply = self.api.request("GET", "/api/v1/pods", stream=True, timeout=(10, WATCH_READ_TIMEOUT), params={
            "watch": "true", "resourceVersion": version, "allowWatchBookmarks": "true", "timeoutSeconds": "300"})
        self._reply = reply
        with reply:
            try:
                for line in reply.iter_lines():
                    if self._stop.is_set():
                        return
                    if line:
                        yield json.loads(line)
            except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError, OSError):
                return  # read timeout (an idle watch) or the server ended it: reconnect
            finally:
                self._reply = None

    def _watch(self, version: str) -> str:
        """Handle events from ``version`` on; the version to go on from ('' to relist)."""
        for event in self._events(version):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                return ""  # 410 Gone and friends: list again
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            if kind != "BOOKMARK":
                self._handle(str(kind), obj)
        return version

    # -- per pod ------------------------------------------------------------------------
    def _handle(self, kind: str, pod: Obj) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if kind == "DELETED":
            self._pods.pop(uid, None)
            self._unprepared.pop(uid, None)
            self._ran.pop(uid, None)
            self._cleanup(meta["namespace"], meta["name"], uid)
            return
        state = self._pods.get(uid)
        if state is None:
            try:
                self._prepare(pod)
            except (ApiError, requests.RequestException) as exc:
                if isinstance(exc, ApiError) and exc.status in (404, 409):
                    self._unprepared.pop(uid, None)  # deleted meanwhile (409: a new pod, same name)
                else:
                    self._unprepared[uid] = pod
                    self._note(f"preparing {meta['namespace']}/{meta['name']}: {exc}")
                return
            self._unprepared.pop(uid, None)
            state = PodState(namespace=meta["namespace"], name=meta["name"])
            self._pods[uid] = state
        self._follow(pod, state)

    def _pod_paths(self, pod: Obj, container: str) -> tuple[Path, Path]:
        meta = pod["metadata"]
        return (self.store.current(meta["namespace"], meta["name"], meta["uid"], container),
                self.store.previous(meta["namespace"], meta["name"], meta["uid"], container))

    def _scratch_dir(self, pod: Obj) -> Path:
        meta = pod["metadata"]
        return self.scratch / meta["namespace"] / f"{meta['name']}_{meta['uid']}"

    def _prepare(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        init_names = {c["name"] for c in (pod["spec"].get("initContainers") or [])}
        crash = knobs_mod.crash_code(pod)
        logs, execs = [], []
        scratch = self._scratch_dir(pod)
        scratch.mkdir(parents=True, exist_ok=True)
        annotations: dict[str, str | None] = dict(self.rules.matching(self.api, pod))
        runs = commandrun.wants_command({**knobs_mod.knobs_of(pod), **{
            k.removeprefix(knobs_mod.PREFIX): v for k, v in annotations.items() if v is not None}}, pod)
        for container in _containers(pod):
            cname = container["name"]
            current, previous = self._pod_paths(pod, cname)
            lines = knobs_mod.log_lines(pod, container)
            if runs and cname not in init_names and not self._ran.get(meta["uid"]):
                # the `run: command` knob: the command runs now, before the Stages start the pod,
                # and its exit code becomes the pod's exit-code knob (tests/kubesim/commandrun.py)
                code, lines = commandrun.run_command(commandrun.container_argv(container),
                                                     self.env.of(pod, container), scratch)
                self._ran[meta["uid"]] = (code, lines)
                annotations[knobs_mod.PREFIX + "exit-code"] = str(code)
            elif runs and cname not in init_names:
                code, lines = self._ran[meta["uid"]]
                annotations[knobs_mod.PREFIX + "exit-code"] = str(code)
            if not knobs_mod.pull_fails(pod, container.get("image", "")):
                self.store.write(current, lines)
            if crash is not None and cname not in init_names:
                # the first crash's log, there before any test sees restartCount 1
                self.store.write(previous, [*lines, *_crash_lines(1, crash)])
            logs.append({"containers": [cname], "logsFile": str(current), "previousLogsFile": str(previous),
                         "follow": True})
            env = self.env.of(pod, container)
            execs.append({"containers": [cname], "local": {
                "workDir": str(scratch), "envs": [{"name": k, "value": v} for k, v in env.items()]}})
        self._apply(f"{KWOK_API}/namespaces/{ns}/logs/{name}",
                    {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
                     "metadata": {"name": name, "namespace": ns}, "spec": {"logs": logs}})
        self._apply(f"{KWOK_API}/namespaces/{ns}/execs/{name}",
                    {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
                     "metadata": {"name": name, "namespace": ns}, "spec": {"execs": execs}})
        if (meta.get("annotations") or {}).get(LOGS_READY) != "true":
            annotations[LOGS_READY] = "true"
        if annotations:
            self.api.json("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}",
                          body={"metadata": {"uid": meta["uid"], "annotations": annotations}},
                          content_type="application/merge-patch+json")

    def _apply(self, path: str, obj: Obj) -> None:
        self.api.json("PATCH", path, body=obj, content_type="application/apply-patch+yaml",
                      params={"fieldManager": MANAGER, "force": "true"})

    def _follow(self, pod: Obj, state: PodState) -> None:
        """Rotate and complete log files as container statuses change."""
        specs = {c["name"]: c for c in _containers(pod)}
        for status in _statuses(pod):
            cname = status.get("name", "")
            if cname not in specs:
                continue
            current, previous = self._pod_paths(pod, cname)
            lines = knobs_mod.log_lines(pod, specs[cname])
            count = int(status.get("restartCount") or 0)
            if count > state.restarts.get(cname, 0):
                ended = ((status.get("lastState") or {}).get("terminated") or {}).get("exitCode", 1)
                self.store.write(previous, [*lines, *_crash_lines(count, int(ended))])
                self.store.write(current, lines)
                state.restarts[cname] = count
                state.reported_exit.discard(cname)
            st = status.get("state") or {}
            if ("running" in st or "terminated" in st) and not current.exists():
                self.store.write(current, lines)  # its image could be pulled after all
            code = (st.get("terminated") or {}).get("exitCode")
            if code not in (None, 0) and cname not in state.reported_exit:
                self.store.append(current, _crash_lines(count + 1, int(code))[0])
                state.reported_exit.add(cname)

    def _cleanup(self, namespace: str, name: str, uid: str) -> None:
        for kind in ("logs", "execs"):
            try:
                self.api.request("DELETE", f"{KWOK_API}/namespaces/{namespace}/{kind}/{name}")
            except ApiError as exc:
                if exc.status != 404:
                    self._note(f"deleting {kind} {namespace}/{name}: {exc}")
            except requests.RequestException as exc:
                self._note(f"deleting {kind} {namespace}/{name}: {exc!r}")
        self.store.remove_pod(namespace, name, uid)
        shutil.rmtree(self.scratch / namespace / f"{name}_{uid}", ignore_errors=True)
