"""Pod lifecycle, as the scheduler and kubelet would drive it, steered by knobs.

Each pod gets one asyncio task: scheduling (or staying Pending when unschedulable), init
containers, image pulls (or ErrImagePull/ImagePullBackOff), containers that start,
become ready (or never), crash and restart with CrashLoopBackOff backoff, or -- for
``restartPolicy`` Never/OnFailure pods such as Job and helm test pods -- run for a while
and exit.  Status fields, conditions and Events follow what the real kubelet writes, in
separate writes a jittered moment apart: bound to the node (PodScheduled), Pending with
ContainerCreating, sandbox ready (pod IP), Running, Ready.

A pod that gets a ``deletionTimestamp`` is stopped gracefully: its containers run on for
the simulator's ``pod_stop_delay`` (or the ``stop-after`` knob; past the grace period they
are killed, exit 137), then the pod is written with terminated containers and a terminal
phase (Succeeded when every container exited 0, else Failed, as kubelets >= 1.27 do) and
finally deleted with grace period 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import commandrun, errors
from .knobs import Knobs
from .resources import REGISTRY
from .store import now_rfc3339

if TYPE_CHECKING:
    from .sim import Simulator

Obj = dict[str, Any]
NODE_NAME = "kubesim-node-1"
HOST_IP = "10.0.0.1"
BACKOFF_BASE = 10.0
BACKOFF_CAP = 300.0


class PodGone(Exception):
    """The pod this task drives was deleted (or replaced by a pod with the same name)."""


def _image_ref(image: str) -> str:
    name = image if "/" in image.split(":")[0] or "." in image.split("/")[0] else f"docker.io/library/{image}"
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _condition(type_: str, status: bool, reason: str | None = None, message: str | None = None) -> Obj:
    cond: Obj = {"type": type_, "status": "True" if status else "False", "lastProbeTime": None,
                 "lastTransitionTime": now_rfc3339()}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def recompute_pod_status(pod: Obj, terminal: bool = False) -> None:
    """Derive phase and conditions from the container statuses, like the kubelet does.

    ``terminal``: the pod is being stopped for good, so no restart policy applies.
    """
    status = pod.setdefault("status", {})
    spec = pod["spec"]
    if not spec.get("nodeName"):
        return
    inits = status.get("initContainerStatuses") or []
    mains = status.get("containerStatuses") or []
    initialized = all("terminated" in s.get("state", {}) and s["state"]["terminated"].get("exitCode") == 0
                      for s in inits)
    all_ready = bool(mains) and all(s.get("ready") for s in mains)
    policy = spec.get("restartPolicy", "Always")
    terminated = [s["state"]["terminated"] for s in mains if "terminated" in s.get("state", {})]
    if (policy != "Always" or terminal) and mains and len(terminated) == len(mains):
        phase = "Succeeded" if all(t.get("exitCode") == 0 for t in terminated) else "Failed"
    elif any("running" in s.get("state", {}) or s.get("restartCount", 0) > 0 or "terminated" in s.get("state", {})
             for s in mains):
        phase = "Running"
    else:
        phase = "Pending"
    status["phase"] = phase
    old = {c["type"]: c for c in status.get("conditions") or []}
    done = phase in ("Succeeded", "Failed")
    sandbox = bool(status.get("podIP")) and not (terminal and done)
    wanted = [
        ("PodReadyToStartContainers", sandbox, None),
        ("Initialized", initialized, None if initialized else "ContainersNotInitialized"),
        ("Ready", all_ready and not done, None if all_ready and not done else ("PodCompleted" if done else "ContainersNotReady")),
        ("ContainersReady", all_ready and not done, None if all_ready and not done else ("PodCompleted" if done else "ContainersNotReady")),
        ("PodScheduled", True, None),
    ]
    conditions = []
    for type_, ok, reason in wanted:
        previous = old.get(type_)
        message = None
        if not ok and reason == "ContainersNotReady":
            unready = [s["name"] for s in mains if not s.get("ready")]
            message = f"containers with unready status: [{' '.join(unready)}]"
        elif not ok and reason == "ContainersNotInitialized":
            pending = [s["name"] for s in inits if "terminated" not in s.get("state", {})]
            message = f"containers with incomplete status: [{' '.join(pending)}]"
        cond = _condition(type_, ok, reason, message)
        if previous and previous.get("status") == cond["status"]:
            cond["lastTransitionTime"] = previous.get("lastTransitionTime")
        conditions.append(cond)
    status["conditions"] = conditions


class Kubelet:
    """Runs one lifecycle task per pod."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.rt = REGISTRY.get("", "pods")
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stopping: dict[str, asyncio.Task[None]] = {}
        self.kicks: dict[str, asyncio.Event] = {}
        self._ips = 0

    # -- task management ---------------------------------------------------------------
    def start_pod(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        if uid in self.tasks or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return
        self.kicks[uid] = asyncio.Event()
        meta = pod["metadata"]
        task = asyncio.get_running_loop().create_task(self._run(meta.get("namespace", ""), meta["name"], uid))
        self.tasks[uid] = task
        task.add_done_callback(lambda _t, uid=uid: (self.tasks.pop(uid, None), self.kicks.pop(uid, None)))

    def stop_pod(self, uid: str) -> None:
        """The pod is gone from the API: forget it."""
        for task in (self.tasks.get(uid), self.stopping.get(uid)):
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    def terminate_pod(self, pod: Obj) -> None:
        """The pod got a deletionTimestamp: stop its containers, then delete it for good."""
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid in self.stopping or not pod["spec"].get("nodeName") or not meta.get("deletionGracePeriodSeconds"):
            return
        task = self.tasks.get(uid)
        if task is not None:
            task.cancel()
        stopper = asyncio.get_running_loop().create_task(self._terminate(meta.get("namespace", ""), meta["name"], uid))
        self.stopping[uid] = stopper
        stopper.add_done_callback(lambda _t, uid=uid: self.stopping.pop(uid, None))

    def kick_all(self) -> None:
        """Knobs changed: wake every pod task to re-read them."""
        for event in self.kicks.values():
            event.set()

    async def stop(self) -> None:
        tasks = list(self.tasks.values()) + list(self.stopping.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _wait_kick(self, uid: str, timeout: float | None) -> None:
        event = self.kicks.get(uid)
        if event is None:
            raise PodGone
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    # -- helpers -----------------------------------------------------------------------
    def _pod(self, ns: str, name: str, uid: str) -> Obj:
        pod = self.sim.store.get(self.rt, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            raise PodGone
        return pod

    def _knobs(self, ns: str, name: str, uid: str) -> Knobs:
        return self.sim.knobs.for_pod(self._pod(ns, name, uid))

    def _mutate(self, ns: str, name: str, uid: str, fn: Callable[[Obj], None]) -> Obj:
        pod = self._pod(ns, name, uid)
        fn(pod)
        recompute_pod_status(pod)
        return self.sim.store.update(self.rt, pod, check_rv=False, subresource="status")

    def _set_container(self, ns: str, name: str, uid: str, cname: str, init: bool, **fields: Any) -> Obj:
        key = "initContainerStatuses" if init else "containerStatuses"

        def fn(pod: Obj) -> None:
            for status in pod["status"].get(key) or []:
                if status["name"] == cname:
                    status.update(fields)

        return self._mutate(ns, name, uid, fn)

    def _event(self, ns: str, name: str, uid: str, type_: str, reason: str, message: str,
               cname: str | None = None, init: bool = False, component: str = "kubelet") -> None:
        pod = self._pod(ns, name, uid)
        path = None
        if cname:
            path = f"spec.{'initContainers' if init else 'containers'}{{{cname}}}"
        self.sim.events.record(pod, type_, reason, message, component=component, field_path=path)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def _step(self) -> None:
        """The pause between two separate status writes of the pod's start."""
        await self._sleep(self.sim.jittered(self.sim.pod_start_delay))

    # -- lifecycle ---------------------------------------------------------------------
    async def _run(self, ns: str, name: str, uid: str) -> None:
        with contextlib.suppress(PodGone, asyncio.CancelledError):
            await self._lifecycle(ns, name, uid)

    async def _lifecycle(self, ns: str, name: str, uid: str) -> None:
        await self._step()
        reported = False
        while self._knobs(ns, name, uid).unschedulable:
            if not reported:
                message = ("0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are "
                           "available: 1 Preemption is not helpful for scheduling.")

                def unsched(pod: Obj, message: str = message) -> None:
                    pod["status"]["conditions"] = [_condition("PodScheduled", False, "Unschedulable", message)]

                pod = self._pod(ns, name, uid)
                unsched(pod)
                self.sim.store.update(self.rt, pod, check_rv=False, subresource="status")
                self._event(ns, name, uid, "Warning", "FailedScheduling", message, component="default-scheduler")
                reported = True
            await self._wait_kick(uid, 1.0)
        # the scheduler's binding: nodeName and PodScheduled in one write
        pod = self._pod(ns, name, uid)
        pod["spec"]["nodeName"] = NODE_NAME
        pod["status"]["conditions"] = [_condition("PodScheduled", True)]
        self.sim.store.update(self.rt, pod, check_rv=False, subresource="binding")
        self._event(ns, name, uid, "Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {NODE_NAME}",
                    component="default-scheduler")
        self._ips += 1
        pod_ip = f"10.244.{self._ips // 250}.{self._ips % 250 + 2}"
        spec = pod["spec"]
        init_containers = spec.get("initContainers") or []
        containers = spec.get("containers") or []
        waiting_reason = "PodInitializing" if init_containers else "ContainerCreating"

        def admitted(pod: Obj) -> None:
            st = pod["status"]
            st.update({"hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}], "startTime": now_rfc3339()})
            st["containerStatuses"] = [self._fresh_status(c, waiting_reason) for c in containers]
            if init_containers:
                st["initContainerStatuses"] = [self._fresh_status(c, "PodInitializing") for c in init_containers]

        def sandbox(pod: Obj) -> None:
            pod["status"].update({"podIP": pod_ip, "podIPs": [{"ip": pod_ip}]})

        await self._step()
        self._mutate(ns, name, uid, admitted)
        await self._step()
        self._mutate(ns, name, uid, sandbox)
        policy = spec.get("restartPolicy", "Always")
        for container in init_containers:
            await self._run_container(ns, name, uid, container, "Never", init=True)
        if init_containers:
            def creating(pod: Obj) -> None:
                for status in pod["status"].get("containerStatuses") or []:
                    status["state"] = {"waiting": {"reason": "ContainerCreating"}}

            self._mutate(ns, name, uid, creating)
        await asyncio.gather(*(self._run_container(ns, name, uid, c, policy) for c in containers))

    @staticmethod
    def _fresh_status(container: Obj, reason: str) -> Obj:
        return {"name": container["name"], "image": container.get("image", ""), "imageID": "",
                "ready": False, "started": False, "restartCount": 0,
                "state": {"waiting": {"reason": reason}}, "lastState": {}}

    async def _pull(self, ns: str, name: str, uid: str, container: Obj, init: bool) -> None:
        cname, image = container["name"], container.get("image", "")
        ref = _image_ref(image)
        attempt = 0
        while True:
            knobs = self._knobs(ns, name, uid)
            self._event(ns, name, uid, "Normal", "Pulling", f'Pulling image "{image}"', cname, init)
            await self._step()
            if not knobs.pull_fails(image):
                self._event(ns, name, uid, "Normal", "Pulled",
                            f'Successfully pulled image "{image}" in 12ms (12ms including waiting). '
                            "Image size: 4194304 bytes.", cname, init)
                return
            detail = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                      f'failed to resolve reference "{ref}": {ref}: not found')
            message = f'Failed to pull image "{image}": {detail}'
            self._set_container(ns, name, uid, cname, init,
                                state={"waiting": {"reason": "ErrImagePull", "message": message}})
            self._event(ns, name, uid, "Warning", "Failed", message, cname, init)
            self._event(ns, name, uid, "Warning", "Failed", "Error: ErrImagePull", cname, init)
            await self._sleep(self.sim.scaled(1.0))
            backoff_msg = f'Back-off pulling image "{image}"'
            self._set_container(ns, name, uid, cname, init,
                                state={"waiting": {"reason": "ImagePullBackOff", "message": backoff_msg}})
            self._event(ns, name, uid, "Normal", "BackOff", backoff_msg, cname, init)
            self._event(ns, name, uid, "Warning", "Failed", "Error: ImagePullBackOff", cname, init)
            attempt += 1
            await self._wait_kick(uid, self.sim.scaled(min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_CAP)))

    async def _run_container(self, ns: str, name: str, uid: str, container: Obj, policy: str,
                             init: bool = False) -> None:
        cname = container["name"]
        await self._pull(ns, name, uid, container, init)
        attempt = 0
        while True:
            knobs = self._knobs(ns, name, uid)
            ran = await self._run_command(ns, name, uid, container) if not init else None
            lines = ran[1] if ran is not None else (
                knobs.log_lines(cname) or [f"kubesim: container {cname} started (image {container.get('image', '')})"])
            self.sim.logs.start_instance(uid, cname, lines)
            started_at = now_rfc3339()
            container_id = f"containerd://{uuid.uuid4().hex}"
            self._event(ns, name, uid, "Normal", "Created", f"Created container: {cname}", cname, init)
            self._event(ns, name, uid, "Normal", "Started", f"Started container {cname}", cname, init)
            self._set_container(ns, name, uid, cname, init, containerID=container_id,
                                imageID=_image_ref(container.get("image", "")) + "@sha256:" + "0" * 64,
                                started=True, ready=False, state={"running": {"startedAt": started_at}})
            runs_to_exit = policy != "Always" or init
            if not runs_to_exit and attempt >= knobs.crashes:
                await self._stay_running(ns, name, uid, cname)
                return
            if runs_to_exit:
                if not knobs.never_ready and not init:
                    self._set_container(ns, name, uid, cname, init, ready=True)
                await self._sleep(knobs.duration if knobs.duration is not None else 0.05)
                knobs = self._knobs(ns, name, uid)
                code = ran[0] if ran is not None else (knobs.exit_code or 0)
            else:
                await self._sleep(max(self.sim.scaled(2.0), 0.03))
                knobs = self._knobs(ns, name, uid)
                code = knobs.exit_code or (137 if knobs.oom else 1)
            reason = "OOMKilled" if knobs.oom and code != 0 else ("Completed" if code == 0 else "Error")
            if code != 0:
                self.sim.logs.append(uid, cname, f"kubesim: crash #{attempt + 1}: exiting with code {code}")
            self.sim.logs.end_instance(uid, cname)
            terminated = {"exitCode": code, "reason": reason, "startedAt": started_at,
                          "finishedAt": now_rfc3339(), "containerID": container_id}
            if policy == "Never" or (init and code == 0) or (policy == "OnFailure" and code == 0):
                self._set_container(ns, name, uid, cname, init, ready=False, started=False,
                                    state={"terminated": terminated})
                return
            attempt += 1
            backoff = min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_CAP)
            pod_ref = f"{name}_{ns}({uid})"
            self._set_container(
                ns, name, uid, cname, init, ready=False, started=False, restartCount=attempt,
                lastState={"terminated": terminated},
                state={"waiting": {"reason": "CrashLoopBackOff",
                                   "message": f"back-off {int(backoff)}s restarting failed container={cname} pod={pod_ref}"}},
            )
            self._event(ns, name, uid, "Warning", "BackOff",
                        f"Back-off restarting failed container {cname} in pod {pod_ref}", cname, init)
            await self._sleep(self.sim.scaled(backoff))

    async def _run_command(self, ns: str, name: str, uid: str, container: Obj) -> tuple[int, list[str]] | None:
        """With the ``run: command`` knob, the container's command run on the host (commandrun)."""
        pod = self._pod(ns, name, uid)
        if not commandrun.wants_command(self._knobs(ns, name, uid).raw, pod):
            return None
        env = self.sim.exec.container_env(pod, container)
        cwd = self.sim.exec.scratch_dir(ns, name)
        return await asyncio.to_thread(commandrun.run_command, commandrun.container_argv(container), env, cwd)

    async def _stay_running(self, ns: str, name: str, uid: str, cname: str) -> None:
        """A container that is up: ready after ``ready-after`` unless ``ready: never``."""
        knobs = self._knobs(ns, name, uid)
        await self._sleep(max(self.sim.jittered(self.sim.pod_start_delay), knobs.ready_after))
        while True:
            knobs = self._knobs(ns, name, uid)
            if knobs.never_ready:
                self._set_container(ns, name, uid, cname, False, ready=False)
                self._event(ns, name, uid, "Warning", "Unhealthy",
                            "Readiness probe failed: HTTP probe failed with statuscode: 503", cname)
                await self._wait_kick(uid, max(self.sim.scaled(10.0), 0.5))
            else:
                self._set_container(ns, name, uid, cname, False, ready=True)
                await self._wait_kick(uid, None)

    # -- termination -------------------------------------------------------------------
    async def _terminate(self, ns: str, name: str, uid: str) -> None:
        with contextlib.suppress(PodGone, asyncio.CancelledError):
            await self._stop_containers(ns, name, uid)

    def _deleting(self, ns: str, name: str, uid: str) -> Obj:
        pod = self.sim.store.get(self.rt, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            raise PodGone
        return pod

    async def _stop_containers(self, ns: str, name: str, uid: str) -> None:
        """SIGTERM, wait for the containers to exit (SIGKILL past the grace period), report, delete."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        pod = self._deleting(ns, name, uid)
        knobs = self.sim.knobs.for_pod(pod)
        policy = pod["spec"].get("restartPolicy", "Always")
        running = [s["name"] for s in (pod.get("status", {}).get("containerStatuses") or [])
                   + (pod.get("status", {}).get("initContainerStatuses") or []) if "running" in s.get("state", {})]
        for cname in running:
            self.sim.events.record(pod, "Normal", "Killing", f"Stopping container {cname}",
                                   field_path=f"spec.containers{{{cname}}}")
        stop_after = knobs.stop_after
        if stop_after is None:
            stop_after = self.sim.jittered_delay(self.sim.pod_stop_delay) if running else 0.0
        killed = False
        while True:
            pod = self._deleting(ns, name, uid)
            grace = self.sim.scaled(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
            elapsed = loop.time() - started
            if elapsed >= stop_after:
                break
            if elapsed >= grace:
                killed = True
                break
            await self._sleep(min(min(stop_after, grace) - elapsed, 0.1))
        code = 137 if killed else (knobs.stop_exit_code if knobs.stop_exit_code is not None
                                   else (0 if policy == "Always" else 143))
        now = now_rfc3339()

        def stopped(pod: Obj) -> None:
            for key in ("initContainerStatuses", "containerStatuses"):
                for status in pod["status"].get(key) or []:
                    state = status.get("state", {})
                    if "terminated" in state:
                        continue
                    if "running" in state:
                        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                      "startedAt": state["running"].get("startedAt"), "finishedAt": now}
                        if status.get("containerID"):
                            terminated["containerID"] = status["containerID"]
                    else:
                        terminated = {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                      "message": "The container could not be located when the pod was terminated"}
                    status.update(ready=False, started=False, state={"terminated": terminated})
                    self.sim.logs.end_instance(uid, status["name"])

        pod = self._deleting(ns, name, uid)
        stopped(pod)
        recompute_pod_status(pod, terminal=True)
        self.sim.store.update(self.rt, pod, check_rv=False, subresource="status")
        await self._step()
        with contextlib.suppress(errors.ApiError):  # already gone (force-deleted meanwhile)
            self.sim.store.delete(self.rt, ns, name, grace_period=0, precondition_uid=uid)
