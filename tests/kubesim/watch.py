"""Watch streams: newline-delimited JSON events over a chunked response.

Handles ``resourceVersion`` resume (history replay, 410 ERROR when too old), the initial
ADDED burst for ``resourceVersion`` "" or "0", ``sendInitialEvents=true`` (watch-list,
used by helm 4's informers) closed by a BOOKMARK annotated
``k8s.io/initial-events-end: "true"``, periodic bookmarks, and selector transitions (an
object leaving the selector is sent as DELETED).  Like the API server, the response ends
(a clean end of the chunked stream) after the client's ``timeoutSeconds`` or, without
one, the server's own timeout (see ``Simulator.watch_duration``): clients must re-watch.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from aiohttp import web

from . import errors
from .resources import ResourceType
from .selectors import Predicate
from .store import Store, WatchEvent

BOOKMARK_INTERVAL = 5.0
DEFAULT_TIMEOUT_RANGE = (1800.0, 3600.0)


def requested_timeout(query: Any) -> float | None:
    """The client's ``timeoutSeconds``, or None (absent or 0: the server's default applies)."""
    value = query.get("timeoutSeconds")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise errors.bad_request(f"invalid timeoutSeconds: {value!r}") from None
    return seconds if seconds > 0 else None


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}}


def _translate(event: WatchEvent, predicate: Predicate) -> tuple[str, dict[str, Any]] | None:
    """The event as the selector sees it: None when neither old nor new object matches."""
    new_match = predicate(event.obj)
    old_match = event.old is not None and predicate(event.old)
    if event.type == "MODIFIED":
        if new_match and not old_match:
            return "ADDED", event.obj
        if old_match and not new_match:
            return "DELETED", event.obj
    if event.type == "DELETED":
        return ("DELETED", event.obj) if (new_match or old_match) else None
    return (event.type, event.obj) if new_match else None


async def serve_watch(
    request: web.Request,
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    predicate: Predicate,
    stopping: asyncio.Event,
    timeout: float | None = None,
) -> web.StreamResponse:
    q = request.query
    if timeout is None:
        timeout = requested_timeout(q) or random.uniform(*DEFAULT_TIMEOUT_RANGE)
    bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
    send_initial = q.get("sendInitialEvents") == "true"
    rv_param = q.get("resourceVersion", "")

    started = time.monotonic()
    watcher = store.subscribe(rt, namespace)
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    try:
        backlog: list[tuple[str, dict[str, Any]]] = []
        last_rv = store.rv
        error_event: dict[str, Any] | None = None
        if send_initial or rv_param in ("", "0"):
            backlog = [("ADDED", obj) for obj in store.list(rt, namespace, predicate)]
        else:
            try:
                since = int(rv_param)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {rv_param!r}") from None
            try:
                for event in store.events_since(rt, namespace, since):
                    translated = _translate(event, predicate)
                    if translated:
                        backlog.append(translated)
            except errors.ApiError as exc:
                error_event = {"type": "ERROR", "object": exc.status()}

        resp.enable_chunked_encoding()
        await resp.prepare(request)

        async def send(payload: dict[str, Any]) -> None:
            await resp.write(json.dumps(payload, separators=(",", ":")).encode() + b"\n")

        if error_event is not None:
            await send(error_event)
            return resp
        for type_, obj in backlog:
            await send({"type": type_, "object": obj})
        if send_initial:
            await send(_bookmark(rt, last_rv, initial_end=True))

        deadline = started + timeout
        next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
        while not stopping.is_set():
            now = time.monotonic()
            if now >= deadline:
                break
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            try:
                event = await asyncio.wait_for(watcher.queue.get(), timeout=min(1.0, deadline - now))
            except TimeoutError:
                if bookmarks and time.monotonic() >= next_bookmark:
                    await send(_bookmark(rt, store.rv))
                    next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
                continue
            if event is None:
                break
            if event.rv <= last_rv:
                continue
            translated = _translate(event, predicate)
            if translated:
                await send({"type": translated[0], "object": translated[1]})
        return resp
    except ConnectionResetError:
        # the client went away mid-write: nothing left to tell it
        return resp
    finally:
        store.unsubscribe(watcher)
