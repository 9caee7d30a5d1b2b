"""The admin HTTP API under ``/kubesim/``: knobs, log lines and nudges from outside the process.

* ``POST /kubesim/knobs`` ``{"namespace": "default", "pod": "web-0" | "selector": "app=web", "knobs": {...}}``
* ``POST /kubesim/logs`` ``{"namespace": "default", "pod": "web-0", "container": "web", "text": "line"}``
* ``POST /kubesim/kick`` re-read knobs in every pod and reconcile every workload
* ``POST /kubesim/time-scale`` ``{"value": 0.1}``
* ``POST /kubesim/timing`` ``{"gc_delay": [0.5, 1.5], "controller_latency": 0.02, "pod_stop_delay": 0.1,
  "pod_start_delay": 0.02, "watch_timeout": 5 | null}``: change latencies (real seconds, a number or
  ``[low, high]``) for what happens from now on; replies with the current values
* ``GET /kubesim/healthz``
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors

if TYPE_CHECKING:
    from .sim import Simulator


TIMINGS = ("gc_delay", "controller_latency", "pod_stop_delay", "pod_start_delay", "watch_timeout")


def _ok(body: dict[str, Any] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body or {"ok": True}), content_type="application/json")


class AdminApi:
    """Routes ``/kubesim/...`` requests to the simulator's Python API."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def handle(self, request: web.Request) -> web.StreamResponse:
        action = request.path.rstrip("/").removeprefix("/kubesim/")
        if action == "healthz":
            return _ok({"ok": True, "url": self.sim.url})
        if request.method != "POST":
            raise errors.method_not_allowed()
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise errors.bad_request("admin request bodies are JSON objects") from None
        namespace = body.get("namespace", "default")
        if action == "knobs":
            knobs = body.get("knobs") or {}
            if body.get("pod"):
                self.sim.set_knobs(namespace, pod=body["pod"], **knobs)
            elif "selector" in body:
                self.sim.set_knobs(namespace if body.get("namespace") else None,
                                   selector=body["selector"], **knobs)
            else:
                raise errors.bad_request('give "pod" or "selector"')
            return _ok()
        if action == "logs":
            lines = body.get("lines")
            text = "\n".join(lines) if isinstance(lines, list) else body.get("text", "")
            self.sim.append_log(namespace, body["pod"], text, container=body.get("container"))
            return _ok()
        if action == "kick":
            self.sim.kick()
            return _ok()
        if action == "time-scale":
            self.sim.time_scale = float(body["value"])
            return _ok()
        if action == "timing":
            current = {}
            for key in TIMINGS:
                if key in body:
                    value = body[key]
                    if isinstance(value, list):
                        value = (float(value[0]), float(value[1]))
                    elif value is not None:
                        value = float(value)
                    elif key != "watch_timeout":
                        raise errors.bad_request(f"{key} cannot be null")
                    setattr(self.sim, key, value)
                current[key] = getattr(self.sim, key)
            return _ok(current)
        raise errors.ApiError(404, "NotFound", f"unknown admin action {action!r}")
