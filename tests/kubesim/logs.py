"""Container logs: one list of lines per container instance, served as ``pods/log``.

Instances are kept so ``previous=true`` shows the last terminated run; ``follow=true``
streams appended lines until the followed instance ends, the pod goes, or the client
disconnects.  Error replies copy the real API server's wording.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors
from .resources import REGISTRY

if TYPE_CHECKING:
    from .sim import Simulator

WAITING_MESSAGES = {
    "ErrImagePull": "trying and failing to pull image",
    "ImagePullBackOff": "trying and failing to pull image",
}


@dataclass
class Instance:
    """One run of a container: its lines (with timestamps) and whether it has ended."""

    lines: list[tuple[datetime, str]] = field(default_factory=list)
    ended: bool = False


class LogBook:
    """Logs of every container instance, keyed by (pod uid, container name)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.instances: dict[tuple[str, str], list[Instance]] = {}
        self.changed = asyncio.Condition()
        self._pods = REGISTRY.get("", "pods")

    def start_instance(self, pod_uid: str, container: str, lines: list[str] | None = None) -> None:
        runs = self.instances.setdefault((pod_uid, container), [])
        if runs:
            runs[-1].ended = True
        runs.append(Instance())
        for line in lines or []:
            self.append(pod_uid, container, line)
        self.wake_all()

    def end_instance(self, pod_uid: str, container: str) -> None:
        runs = self.instances.get((pod_uid, container))
        if runs:
            runs[-1].ended = True
        self.wake_all()

    def append(self, pod_uid: str, container: str, text: str) -> None:
        runs = self.instances.setdefault((pod_uid, container), [Instance()])
        for line in text.splitlines() or [""]:
            runs[-1].lines.append((datetime.now(UTC), line))
        self.wake_all()

    def wake_all(self) -> None:
        async def notify() -> None:
            async with self.changed:
                self.changed.notify_all()

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(notify())

    def text(self, pod_uid: str, container: str, previous: bool = False) -> str:
        runs = self.instances.get((pod_uid, container)) or []
        index = -2 if previous else -1
        if len(runs) < (2 if previous else 1):
            return ""
        return "".join(line + "\n" for _, line in runs[index].lines)

    # -- HTTP --------------------------------------------------------------------------
    def _pick(self, pod: dict[str, Any], request: web.Request) -> str:
        name = pod["metadata"]["name"]
        containers = [c["name"] for c in pod["spec"].get("containers", [])]
        init = [c["name"] for c in pod["spec"].get("initContainers", []) or []]
        container = request.query.get("container")
        if not container:
            if len(containers) == 1:
                return containers[0]
            raise errors.bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                + (f" or one of the init containers: [{' '.join(init)}]" if init else "")
            )
        if container not in containers and container not in init:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        return container

    def _check_startable(self, pod: dict[str, Any], container: str, previous: bool) -> list[Instance]:
        name = pod["metadata"]["name"]
        runs = self.instances.get((pod["metadata"]["uid"], container)) or []
        if previous:
            if len(runs) < 2:
                raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            return runs
        if not pod["spec"].get("nodeName"):
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        if not runs:
            statuses = (pod.get("status", {}).get("containerStatuses") or []) + (
                pod.get("status", {}).get("initContainerStatuses") or [])
            reason = "ContainerCreating"
            for status in statuses:
                if status.get("name") == container:
                    reason = (status.get("state", {}).get("waiting") or {}).get("reason", reason)
            message = WAITING_MESSAGES.get(reason, reason)
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {message}')
        return runs

    async def handle(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        pod = self.sim.store.must_get(self._pods, namespace, name)
        q = request.query
        container = self._pick(pod, request)
        previous = q.get("previous") in ("true", "1")
        follow = q.get("follow") in ("true", "1") and not previous
        runs = self._check_startable(pod, container, previous)
        instance = runs[-2] if previous else runs[-1]
        tail = int(q["tailLines"]) if q.get("tailLines") else None
        since = None
        if q.get("sinceSeconds"):
            since = datetime.now(UTC) - timedelta(seconds=int(q["sinceSeconds"]))
        elif q.get("sinceTime"):
            since = datetime.fromisoformat(q["sinceTime"].replace("Z", "+00:00"))
        stamps = q.get("timestamps") in ("true", "1")
        limit = int(q["limitBytes"]) if q.get("limitBytes") else None

        def render(lines: list[tuple[datetime, str]]) -> bytes:
            out = []
            for ts, line in lines:
                if since is not None and ts < since:
                    continue
                prefix = ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z " if stamps else ""
                out.append(prefix + line + "\n")
            return "".join(out).encode()

        first = instance.lines if tail is None else (instance.lines[-tail:] if tail > 0 else [])
        body = render(first)
        if not follow:
            if limit is not None:
                body = body[:limit]
            return web.Response(body=body, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the follower may go away mid-write
            await self._follow(request, resp, instance, body, limit, render, namespace, name, pod["metadata"]["uid"])
        return resp

    async def _follow(self, request: web.Request, resp: web.StreamResponse, instance: Instance, body: bytes,
                      limit: int | None, render: Any, namespace: str, name: str, uid: str) -> None:
        sent = len(body)
        await resp.write(body[:limit] if limit is not None else body)
        position = len(instance.lines)
        while not self.sim.stopping.is_set() and (limit is None or sent < limit):
            if len(instance.lines) > position:
                chunk = render(instance.lines[position:])
                position = len(instance.lines)
                if limit is not None:
                    chunk = chunk[: limit - sent]
                sent += len(chunk)
                await resp.write(chunk)
                continue
            live = self.sim.store.get(self._pods, namespace, name)
            if instance.ended or live is None or live["metadata"]["uid"] != uid:
                break
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            async with self.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), timeout=0.5)
