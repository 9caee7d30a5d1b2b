"""``pods/exec`` over WebSocket (``v5.channel.k8s.io`` and ``v4.channel.k8s.io``).

No container exists, so the requested argv runs on the host as a subprocess (no shell
wrapping), in a per-pod scratch directory, with the container's environment: plain
``value`` entries and ``secretKeyRef``/``configMapKeyRef``/``envFrom`` resolved from the
stored Secrets and ConfigMaps, so tests can check injected env.  Frames carry the channel
in their first byte: 0 stdin, 1 stdout, 2 stderr, 3 status (a ``Status`` JSON, with
``NonZeroExitCode`` and an ``ExitCode`` cause), 4 terminal resize; v5 adds the close
frame ``[255, channel]`` the client sends when stdin ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import os
import pty
import struct
import tempfile
import termios
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from . import errors
from .resources import REGISTRY

if TYPE_CHECKING:
    from .sim import Simulator

Obj = dict[str, Any]
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _take_controlling_tty() -> None:
    """In the child, after setsid: make the pty on stdin the controlling terminal (job control)."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class ExecHandler:
    """Serves exec sessions and tracks them so shutdown can end them."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.sessions: set[asyncio.Task[Any]] = set()
        self.procs: set[asyncio.subprocess.Process] = set()
        self._scratch = tempfile.TemporaryDirectory(prefix="kubesim-exec-")

    def scratch_dir(self, namespace: str, pod: str) -> Path:
        path = Path(self._scratch.name) / namespace / pod
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def close_all(self) -> None:
        for proc in list(self.procs):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        for proc in list(self.procs):
            with contextlib.suppress(Exception):
                await proc.wait()
        self._scratch.cleanup()

    def container_env(self, pod: Obj, container: Obj) -> dict[str, str]:
        """The container's environment, secrets and config maps resolved from the store."""
        store, ns = self.sim.store, pod["metadata"].get("namespace", "")
        secrets, cms = REGISTRY.get("", "secrets"), REGISTRY.get("", "configmaps")

        def secret_data(name: str) -> dict[str, str]:
            obj = store.get(secrets, ns, name) or {}
            return {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("data") or {}).items()}

        def cm_data(name: str) -> dict[str, str]:
            return dict((store.get(cms, ns, name) or {}).get("data") or {})

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": pod["metadata"]["name"],
               "HOME": str(self.scratch_dir(ns, pod["metadata"]["name"]))}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "secretRef" in source:
                env.update({prefix + k: v for k, v in secret_data(source["secretRef"]["name"]).items()})
            if "configMapRef" in source:
                env.update({prefix + k: v for k, v in cm_data(source["configMapRef"]["name"]).items()})
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
            elif ref := (item.get("valueFrom") or {}).get("secretKeyRef"):
                value = secret_data(ref["name"]).get(ref["key"])
                if value is not None:
                    env[item["name"]] = value
            elif ref := (item.get("valueFrom") or {}).get("configMapKeyRef"):
                value = cm_data(ref["name"]).get(ref["key"])
                if value is not None:
                    env[item["name"]] = value
            elif ref := (item.get("valueFrom") or {}).get("fieldRef"):
                path = ref.get("fieldPath", "")
                env[item["name"]] = {"metadata.name": pod["metadata"]["name"], "metadata.namespace": ns,
                                     "status.podIP": pod.get("status", {}).get("podIP", ""),
                                     "spec.nodeName": pod["spec"].get("nodeName", "")}.get(path, "")
            else:
                env.setdefault(item["name"], "")
        return env

    def _resolve(self, namespace: str, name: str, request: web.Request) -> tuple[Obj, Obj]:
        pod = self.sim.store.must_get(REGISTRY.get("", "pods"), namespace, name)
        phase = pod.get("status", {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise errors.bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
        containers = pod["spec"].get("containers") or []
        wanted = request.query.get("container") or (containers[0]["name"] if containers else "")
        container = next((c for c in containers if c["name"] == wanted), None)
        if container is None:
            raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
        status = next((s for s in pod.get("status", {}).get("containerStatuses") or [] if s["name"] == wanted), {})
        if "running" not in status.get("state", {}):
            raise errors.bad_request(f"unable to upgrade connection: container not found (\"{wanted}\")")
        return pod, container

    async def handle(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        pod, container = self._resolve(namespace, name, request)
        argv = request.query.getall("command", [])
        if not argv:
            raise errors.bad_request("you must specify at least 1 command")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise errors.bad_request("Upgrade request required (kubesim serves exec over WebSocket only)")
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0, heartbeat=None)
        await ws.prepare(request)
        task = asyncio.current_task()
        if task is not None:
            self.sessions.add(task)
        try:
            await self._session(ws, request, pod, container, argv)
        finally:
            if task is not None:
                self.sessions.discard(task)
            await ws.close()
        return ws

    async def _session(self, ws: web.WebSocketResponse, request: web.Request, pod: Obj, container: Obj,
                       argv: list[str]) -> None:
        q = request.query
        tty = q.get("tty") in ("true", "1")
        want_stdin = q.get("stdin") in ("true", "1")
        v5 = ws.ws_protocol == "v5.channel.k8s.io"
        env = self.container_env(pod, container)
        cwd = self.scratch_dir(pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        if tty:
            env.setdefault("TERM", "xterm")
        master = slave = -1
        try:
            if tty:
                master, slave = pty.openpty()
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True,
                    preexec_fn=_take_controlling_tty)
                os.close(slave)
                slave = -1
            else:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.PIPE if want_stdin else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd)
        except OSError as exc:
            message = (f'OCI runtime exec failed: exec failed: unable to start container process: exec: '
                       f'"{argv[0]}": {"executable file not found in $PATH" if isinstance(exc, FileNotFoundError) else exc}: unknown')
            await self._send_status(ws, {"metadata": {}, "status": "Failure", "message": message,
                                         "reason": "InternalError", "code": 500})
            for fd in (master, slave):
                if fd >= 0:
                    os.close(fd)
            return
        self.procs.add(proc)
        loop = asyncio.get_running_loop()
        pumps: list[asyncio.Task[None]] = []
        if tty:
            pumps.append(loop.create_task(self._pump_fd(ws, master, STDOUT)))
        else:
            assert proc.stdout is not None and proc.stderr is not None
            pumps.append(loop.create_task(self._pump(ws, proc.stdout, STDOUT)))
            pumps.append(loop.create_task(self._pump(ws, proc.stderr, STDERR)))
        reader = loop.create_task(self._read_client(ws, proc, master, v5))
        try:
            code = await proc.wait()
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.procs.discard(proc)
            if master >= 0:
                os.close(master)
        if code == 0:
            status: Obj = {"metadata": {}, "status": "Success"}
        else:
            code = code if code > 0 else 128 - code
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: error executing command "
                                 f"[{' '.join(argv)}], exit code {code}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        await self._send_status(ws, status)

    @staticmethod
    async def _send_status(ws: web.WebSocketResponse, status: Obj) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())

    @staticmethod
    async def _pump(ws: web.WebSocketResponse, stream: asyncio.StreamReader, channel: int) -> None:
        while True:
            data = await stream.read(32768)
            if not data:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(bytes([channel]) + data)

    @staticmethod
    async def _pump_fd(ws: web.WebSocketResponse, fd: int, channel: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.run_in_executor(None, os.read, fd, 32768)
            except OSError:
                return
            if not data:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(bytes([channel]) + data)

    @staticmethod
    async def _read_client(ws: web.WebSocketResponse, proc: asyncio.subprocess.Process, master: int,
                           v5: bool) -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
                continue
            channel, data = msg.data[0], msg.data[1:]
            if channel == STDIN:
                if master >= 0:
                    os.write(master, data)
                elif proc.stdin is not None:
                    with contextlib.suppress(ConnectionError):
                        proc.stdin.write(data)
                        await proc.stdin.drain()
            elif channel == RESIZE and master >= 0:
                with contextlib.suppress(ValueError, OSError):
                    size = json.loads(data)
                    fcntl.ioctl(master, termios.TIOCSWINSZ,
                                struct.pack("HHHH", size.get("Height", 24), size.get("Width", 80), 0, 0))
            elif v5 and channel == CLOSE and data and data[0] == STDIN:
                if master >= 0:
                    with contextlib.suppress(OSError):
                        os.write(master, b"\x04")
                elif proc.stdin is not None:
                    proc.stdin.close()
