"""The simulator's side of the e2e fixtures: :class:`Cluster` (what the ``cluster``
fixture of ``tests/backends.py`` yields on every backend), the simulator thread, and
the ``helm_major`` fixture.

The simulator runs in a background thread with its own event loop; :class:`SimClient`
marshals Python API calls onto that loop.  The kubeconfig goes to the test's
``KUBECONFIG`` (isolated per test by ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.polling import wait_until

from .resources import REGISTRY, ResourceType
from .selectors import make_predicate
from .sim import Simulator

T = TypeVar("T")
Obj = dict[str, Any]
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_TIME_SCALE = 0.01
# What @pytest.mark.kubesim(...) may set: Simulator keyword arguments.  Latencies are real
# seconds (a number, or a (low, high) range drawn from uniformly each time).
SIM_OPTIONS = ("time_scale", "pod_start_delay", "gc_delay", "controller_latency", "pod_stop_delay",
               "watch_timeout", "watch_cache_size", "watch_cache_seconds")


def env_options() -> dict[str, Any]:
    """``KUBESIM_OPTIONS`` (a JSON object of :data:`SIM_OPTIONS`): defaults for every simulator
    a test starts, e.g. ``{"gc_delay": [2, 4], "watch_timeout": 3}`` to run a suite harsher."""
    raw = os.environ.get("KUBESIM_OPTIONS", "").strip()
    if not raw:
        return {}
    options = json.loads(raw)
    unknown = set(options) - set(SIM_OPTIONS)
    if unknown:
        raise ValueError(f"KUBESIM_OPTIONS: unknown option(s) {sorted(unknown)}; known: {SIM_OPTIONS}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


def helm_major_from_env() -> int:
    return int(os.environ.get("LAIN_TEST_HELM_MAJOR", "3"))


def find_binary(name: str) -> str:
    """``name`` on PATH, else the pinned copy under ``.venv/tools/helm<major>/``."""
    found = shutil.which(name)
    if found and "/usr/bin/kubectl" not in found:
        return found
    pinned = REPO_ROOT / ".venv" / "tools" / f"helm{helm_major_from_env()}" / name
    if pinned.exists():
        return str(pinned)
    raise FileNotFoundError(f"{name} not found on PATH nor at {pinned}")


def resource_type(kind_or_plural: str, api_version: str | None = None) -> ResourceType:
    """Look a kind up by plural (``deployments``), kind (``Deployment``) or short name."""
    needle = kind_or_plural.lower()
    for rt in REGISTRY.resources:
        if api_version and rt.api_version != api_version:
            continue
        if needle in (rt.plural, rt.kind.lower(), *rt.short_names):
            return rt
    raise KeyError(kind_or_plural)


class SimClient:
    """Thread-safe facade over a :class:`Simulator` running on another thread's loop."""

    def __init__(self, sim: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self._sim = sim
        self._loop = loop

    def call(self, fn: Callable[[], T]) -> T:
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    @property
    def raw(self) -> Simulator:
        """The simulator itself: only touch it through :meth:`call`."""
        return self._sim

    def get(self, kind: str, name: str, namespace: str = "default") -> Obj | None:
        rt = resource_type(kind)
        return self.call(lambda: self._sim.store.get(rt, namespace if rt.namespaced else None, name))

    def list(self, kind: str, namespace: str | None = "default", selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]:
        rt = resource_type(kind)
        predicate = make_predicate(selector, field_selector)
        return self.call(lambda: self._sim.store.list(rt, namespace if rt.namespaced else None, predicate))

    def create(self, obj: Obj) -> Obj:
        rt = REGISTRY.by_api_version_kind(obj["apiVersion"], obj["kind"])
        if rt is None:
            raise KeyError(f"{obj['apiVersion']} {obj['kind']}")
        obj = copy.deepcopy(obj)
        if rt.namespaced:
            obj.setdefault("metadata", {}).setdefault("namespace", "default")
        return self.call(lambda: self._sim.create(rt, obj))

    def patch(self, kind: str, name: str, patch: Obj, namespace: str = "default",
              patch_type: str = "application/merge-patch+json", subresource: str = "") -> Obj:
        rt = resource_type(kind)
        return self.call(lambda: self._sim.patch(rt, namespace, name, patch_type, copy.deepcopy(patch),
                                                 manager="kubesim-test", subresource=subresource)[0])

    def delete(self, kind: str, name: str, namespace: str = "default", propagation: str = "Background",
               grace_period: int | None = None) -> Obj:
        """DELETE as kubectl does it (Background propagation unless told otherwise)."""
        rt = resource_type(kind)
        return self.call(lambda: self._sim.store.delete(rt, namespace if rt.namespaced else None, name,
                                                        propagation=propagation, grace_period=grace_period))

    def set_knobs(self, namespace: str | None = "default", *, pod: str | None = None,
                  selector: str | None = None, **knobs: Any) -> None:
        self.call(lambda: self._sim.set_knobs(namespace, pod=pod, selector=selector, **knobs))

    def append_log(self, pod: str, text: str, namespace: str = "default", container: str | None = None) -> None:
        self.call(lambda: self._sim.append_log(namespace, pod, text, container))

    def logs(self, pod: str, namespace: str = "default", container: str | None = None,
             previous: bool = False) -> str:
        def read() -> str:
            obj = self._sim.store.must_get(resource_type("pods"), namespace, pod)
            name = container or obj["spec"]["containers"][0]["name"]
            return self._sim.logs.text(obj["metadata"]["uid"], name, previous)

        return self.call(read)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
                 message: str = "condition") -> T:
        """Poll ``predicate`` (run on the test thread) until it returns something truthy."""
        return wait_until(predicate, timeout, interval, message)


class SimThread:
    """A simulator serving on its own event loop in a daemon thread."""

    def __init__(self, time_scale: float = FIXTURE_TIME_SCALE, **options: Any) -> None:
        """``options``: :class:`Simulator` keyword arguments (a test's marker), over ``KUBESIM_OPTIONS``."""
        self.loop = asyncio.new_event_loop()
        self.sim: Simulator | None = None
        self.url = ""
        self._options = {**env_options(), **options, "time_scale": time_scale}
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="kubesim", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.sim = Simulator(**self._options)
            self.url = self.loop.run_until_complete(self.sim.start())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> SimClient:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        assert self.sim is not None
        return SimClient(self.sim, self.loop)

    def stop(self) -> None:
        if self.sim is not None:
            asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(timeout=30)
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()] if self.loop.is_running() else []

        async def drain() -> None:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        if pending:
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


@dataclass
class Cluster:
    """What the ``cluster`` fixture yields."""

    url: str
    kubeconfig: Path
    sim: SimClient  # or, on the real control plane, tests.kwokcluster's client with the same methods
    helm_major: int
    namespace: str = "default"  # the test's namespace, also the kubeconfig's default
    backend: str = "kubesim"  # kubesim | kwok | external

    def _run(self, binary: str, args: tuple[str, ...], check: bool, timeout: float,
             input: str | None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig))
        proc = subprocess.run([find_binary(binary), *args], capture_output=True, text=True, env=env,
                              timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"{binary} {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self._run("kubectl", args, check, timeout, input)

    def helm(self, *args: str, check: bool = True, timeout: float = 120,
             input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self._run("helm", args, check, timeout, input)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kubesim(time_scale=0.01, pod_start_delay=0.02, gc_delay=(0.5, 1.5), controller_latency=(0.01, 0.05), "
        "pod_stop_delay=(0.05, 0.25), watch_timeout=None, watch_cache_size=100, watch_cache_seconds=75.0): "
        "options for the cluster fixture's simulator (see tests/kubesim/README.md)",
    )


@pytest.fixture
def helm_major() -> int:
    """The helm major version the binaries on PATH belong to (``LAIN_TEST_HELM_MAJOR``)."""
    return helm_major_from_env()
