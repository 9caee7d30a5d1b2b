""":class:`KwokCluster`: a real control plane started by ``kwokctl --runtime binary``.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the upstream
binaries; kwok plays the node: one fake Node whose pods the project's Stages drive
(``config/``), with logs and exec served by kwok from what the log agent prepares.

Everything lives under ``workdir``: kwokctl's state (``KWOK_WORKDIR``), a private
``HOME``, the kubeconfig, log files.  kwokctl gets local binaries only, and a proxy that
refuses every connection, so it cannot download anything.  Ports come from the kernel
(:mod:`.ports`), so clusters can run side by side.  A watchdog process
(:mod:`.reaper`) ends the components if the owner dies without :meth:`KwokCluster.stop`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import binaries as binaries_mod
from .agent import KnobRules, LogAgent
from .api import Api, ApiError, Credentials, Resources
from .client import Connection, KwokClient, register, unregister
from .config import LOGS_READY, NODE_NAME, Settings, admission_objects, render
from .kubeconfig import write_kubeconfig
from .logfiles import LogStore
from .ports import Ports, free_ports
from .processes import terminate, under
from .provisioner import Provisioner

Obj = dict[str, Any]
PROBE_NAMESPACE = "kwokcluster-probe"
CREATE_ATTEMPTS = 3


class KwokClusterError(RuntimeError):
    """The cluster could not be started (the message has the components' last log lines)."""


def _node(kwok_port: int) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE_NAME, "annotations": {"kwok.x-k8s.io/node": "fake"},
                     "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64", "type": "kwok"}},
        "spec": {"podCIDR": "10.244.0.0/16", "podCIDRs": ["10.244.0.0/16"]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "1000"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "1000"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kwok_port}},
        },
    }


def _probe_pod() -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "probe", "annotations": {"kubesim.lain.dev/logs": "kwokcluster probe"}},
            "spec": {"containers": [{"name": "main", "image": "probe:1"}]}}


def _ready(pod: Obj | None) -> bool:
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class KwokCluster:
    """One cluster: :meth:`start`, use :attr:`kubeconfig` / :meth:`client`, :meth:`stop`.

    ``time_scale`` multiplies the simulated durations of the Stages (crash and image
    pull back-offs, run time before a crash), as kubesim's does; 0.01 is the pytest
    fixture's.  Knob durations (``ready-after``, ``duration``) are real seconds.
    """

    def __init__(self, workdir: Path, name: str, bin_dir: Path | None = None, *, time_scale: float = 0.01) -> None:
        self.workdir = Path(workdir).resolve()
        self.name = name
        self.bin_dir = bin_dir
        self.time_scale = time_scale
        self.kubeconfig = self.workdir / "kubeconfig"
        self.url = ""
        self.startup_seconds: float | None = None
        self.timings: dict[str, float] = {}
        self.ports: Ports | None = None
        self.knob_rules = KnobRules()
        self.log_store = LogStore(self.workdir / "logs")
        self._api: Api | None = None
        self._resources: Resources | None = None
        self._agent: LogAgent | None = None
        self._provisioner: Provisioner | None = None
        self._reaper: subprocess.Popen[str] | None = None
        self._binaries: binaries_mod.Binaries | None = None
        self._stopped = False

    # -- paths and environment -----------------------------------------------------------
    @property
    def kwok_dir(self) -> Path:
        return self.workdir / "kwok"

    @property
    def cluster_dir(self) -> Path:
        return self.kwok_dir / "clusters" / self.name

    def _env(self) -> dict[str, str]:
        assert self._binaries is not None
        blackhole = "http://127.0.0.1:9"  # nothing listens there: any download fails at once
        return {
            "PATH": f"{self._binaries.kubectl.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.workdir / "home"),
            "KWOK_WORKDIR": str(self.kwok_dir),
            "TMPDIR": str(self.workdir / "tmp"),
            "LANG": "C.UTF-8",
            "HTTP_PROXY": blackhole, "HTTPS_PROXY": blackhole, "http_proxy": blackhole, "https_proxy": blackhole,
            "NO_PROXY": "127.0.0.1,localhost,::1", "no_proxy": "127.0.0.1,localhost,::1",
        }

    def _kwokctl(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        proc = self._spawn_kwokctl(*args)
        try:
            proc.wait(max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        return subprocess.CompletedProcess(proc.args, proc.returncode)

    def _spawn_kwokctl(self, *args: str) -> subprocess.Popen[str]:
        assert self._binaries is not None
        argv = [str(self._binaries.kwokctl), "--name", self.name, *args]
        with (self.workdir / "kwokctl.log").open("a") as log:
            log.write(f"\n$ {' '.join(argv)}\n")
            log.flush()
            return subprocess.Popen(argv, env=self._env(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True)

    def _failed_component(self) -> str | None:
        """A component that already died (a port taken, say), so waiting is pointless."""
        for name in ("etcd", "kube-apiserver"):
            try:
                pid = int((self.cluster_dir / "pids" / f"{name}.pid").read_text().strip())
            except (OSError, ValueError):
                continue
            if not any(p.pid == pid for p in under(self.workdir)):
                return f"{name} exited"
        for log in (self.cluster_dir / "logs").glob("*.log"):
            try:
                if "address already in use" in log.read_text(errors="replace"):
                    return f"{log.stem}: address already in use"
            except OSError:
                continue
        return None

    def _run_create(self, config: Path, deadline: float) -> str | None:
        """``kwokctl create cluster``; None if it worked, else why not.  Given up on early
        when a component dies: kwokctl itself would wait two minutes for the API server."""
        proc = self._spawn_kwokctl("--config", str(config), "create", "cluster", "--kubeconfig", "",
                                   "--timeout", f"{max(int(deadline - time.monotonic()), 10)}s")
        why = None
        while proc.poll() is None:
            failed = self._failed_component()
            if failed or time.monotonic() > deadline:
                why = failed or "kwokctl create timed out"
                proc.kill()
                break
            time.sleep(0.2)
        proc.wait()
        if why is None and proc.returncode != 0:
            why = f"kwokctl create exited {proc.returncode}"
        return why

    # -- start ---------------------------------------------------------------------------
    def start(self, timeout: float = 240.0) -> KwokCluster:
        """Start everything and wait until a pod really runs; KwokClusterError if not."""
        started = time.monotonic()
        deadline = started + timeout
        self._binaries = binaries_mod.locate(self.bin_dir)
        for folder in ("home", "tmp", "logs", "pods"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        (self.workdir / "empty.log").touch()
        self._start_reaper()
        try:
            self._phase("create", lambda: self._create(deadline))
            self._phase("bootstrap", self._bootstrap)
            self._phase("usable", lambda: self._wait_usable(deadline))
        except BaseException as exc:
            report = self.diagnostics()
            self.stop()
            if isinstance(exc, KwokClusterError):
                raise KwokClusterError(f"{exc}\n{report}") from None
            raise KwokClusterError(f"kwok cluster {self.name} failed to start: {exc!r}\n{report}") from exc
        self.startup_seconds = round(time.monotonic() - started, 2)
        return self

    def _phase(self, name: str, step: Any) -> None:
        began = time.monotonic()
        step()
        self.timings[name] = round(time.monotonic() - began, 2)

    def _start_reaper(self) -> None:
        self._reaper = subprocess.Popen([sys.executable, "-m", "tests.kwokcluster.reaper"], stdin=subprocess.PIPE,
                                        cwd=binaries_mod.REPO_ROOT, text=True, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert self._reaper.stdin is not None
        self._reaper.stdin.write(json.dumps({"workdir": str(self.workdir)}) + "\n")
        self._reaper.stdin.flush()

    def _create(self, deadline: float) -> None:
        assert self._binaries is not None
        errors = []
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            self.ports = free_ports()
            settings = Settings(binaries=self._binaries, ports=self.ports, time_scale=self.time_scale,
                                empty_log=self.workdir / "empty.log", exec_dir=self.workdir / "pods")
            config = self.workdir / "kwokctl.yaml"
            config.write_text(render(settings))
            why = self._run_create(config, deadline)
            if why is None:
                self._connect()
                try:
                    self._wait(lambda: self._readyz(), deadline, "the API server's /readyz")
                    self._restart_kwok(deadline)
                    return
                except (TimeoutError, KwokClusterError) as exc:
                    why = str(exc)
            errors.append(f"attempt {attempt}: {why}\n{self.diagnostics(lines=15)}")
            self._disconnect()
            self._teardown_components()
            if time.monotonic() > deadline - 30:
                break
        raise KwokClusterError(f"kwok cluster {self.name} did not come up:\n" + "\n".join(errors))

    def _restart_kwok(self, deadline: float) -> None:
        """Restart kwok now that its CRDs exist.

        kwokctl starts kwok before it creates the Logs and Exec CRDs, so kwok's first
        list of them fails and its informer backs off for seconds, serving no logs
        meanwhile; a fresh kwok lists them at once.
        """
        pid_file = self.cluster_dir / "pids" / "kwok-controller.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        left = terminate([p for p in under(self.workdir) if p.pid == pid])
        if left:
            raise KwokClusterError(f"kwok-controller (pid {pid}) did not stop")
        # kwokctl skips a component whose pid file names a live pid, and an unreaped
        # zombie counts as live for it
        pid_file.unlink(missing_ok=True)
        result = self._kwokctl("start", "cluster", "--timeout", f"{max(int(deadline - time.monotonic()), 10)}s",
                               timeout=deadline - time.monotonic())
        if result.returncode != 0:
            raise KwokClusterError(f"kwokctl start cluster (restarting kwok) exited {result.returncode}")

    def _connect(self) -> None:
        assert self.ports is not None
        pki = self.cluster_dir / "pki"
        self.url = f"https://127.0.0.1:{self.ports.apiserver}"
        credentials = Credentials(server=self.url, ca=pki / "ca.crt", cert=pki / "admin.crt", key=pki / "admin.key")
        write_kubeconfig(self.kubeconfig, credentials, f"kwok-{self.name}", log_root=self.log_store.root)
        self._api = Api(credentials)
        self._resources = Resources(self._api)
        register(self.url, self.log_store, self.knob_rules)

    def _disconnect(self) -> None:
        if self._api is not None:
            unregister(self.url)
            self._api.close()
        self._api = self._resources = None

    @property
    def api(self) -> Api:
        if self._api is None:
            raise RuntimeError("the cluster is not started")
        return self._api

    def _readyz(self) -> bool:
        try:
            return self.api.text("GET", "/readyz", accept="*/*", timeout=5).strip() == "ok"
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def _bootstrap(self) -> None:
        """The fake node, the admission policy behind ``unschedulable``, the log agent, the
        volume provisioner (a real cluster binds a PersistentVolumeClaim; a bare control
        plane leaves it, and the pods mounting it, Pending)."""
        assert self.ports is not None and self._resources is not None
        api, resources, kwok_port = self.api, self._resources, self.ports.kwok
        self._retry(lambda: self._create_node(kwok_port))
        self._retry(resources.refresh)
        for obj in admission_objects():
            path = resources.for_object(obj).path(None, obj["metadata"]["name"])
            self._retry(lambda path=path, obj=obj: api.json(
                "PATCH", path, body=obj, content_type="application/apply-patch+yaml",
                params={"fieldManager": "kwokcluster", "force": "true"}))
        # its own session: the watch holds a connection for as long as it runs
        self._agent = LogAgent(Api(api.credentials), self.log_store, self.workdir / "pods", self.knob_rules)
        self._agent.start()
        self._provisioner = Provisioner(Api(api.credentials), self.workdir / "volumes")
        self._retry(self._provisioner.start)

    def _create_node(self, kwok_port: int) -> None:
        try:
            self.api.json("POST", "/api/v1/nodes", body=_node(kwok_port))
        except ApiError as exc:
            if exc.status != 409:
                raise

    def _retry(self, step: Any, attempts: int = 50, pause: float = 0.2) -> Any:
        """``step()``, again while the API server is still settling (5xx, connection errors)."""
        for attempt in range(attempts):
            try:
                return step()
            except ApiError as exc:
                if exc.status < 500 and exc.status not in (403, 404, 429) or attempt == attempts - 1:
                    raise
            except OSError:
                if attempt == attempts - 1:
                    raise
            time.sleep(pause)
        return None

    def _wait(self, predicate: Any, deadline: float, what: str, interval: float = 0.05) -> Any:
        while True:
            try:
                value = predicate()
            except (ApiError, OSError):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            if self._agent is not None and not self._agent.alive:
                raise KwokClusterError(f"the log agent died: {self._agent.error!r}; {self._agent.problems}")
            time.sleep(interval)

    def _wait_usable(self, deadline: float) -> None:
        """A node that kwok reports Ready, a namespace with its ServiceAccount, the
        unschedulable policy in force, and a pod that runs, becomes Ready and has logs."""
        client = self.client(PROBE_NAMESPACE)

        def node_ready() -> bool:
            node = client.get("nodes", NODE_NAME) or {}
            return any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in (node.get("status") or {}).get("conditions") or [])

        began = time.monotonic()

        def step(name: str, predicate: Any, what: str) -> None:
            nonlocal began
            self._wait(predicate, deadline, what)
            now = time.monotonic()
            self.timings[f"usable:{name}"] = round(now - began, 2)
            began = now

        step("node", node_ready, f"node {NODE_NAME} to be Ready (kwok)")
        self._retry(lambda: client.create_namespace(PROBE_NAMESPACE, wait=False))
        step("serviceaccount", lambda: client.get("serviceaccounts", "default"),
             "the default ServiceAccount (kube-controller-manager)")
        step("policy", self._policy_in_force, "the unschedulable MutatingAdmissionPolicy")
        client.create(_probe_pod())
        step("pod", lambda: _ready(client.get("pods", "probe")), "the probe pod to be Ready (kwok)")
        step("logs", lambda: client.logs("probe") == "kwokcluster probe\n", "the probe pod's logs")
        client.delete_namespace(PROBE_NAMESPACE)

    def _policy_in_force(self) -> bool:
        pod = _probe_pod()
        pod["metadata"]["annotations"]["kubesim.lain.dev/unschedulable"] = "true"
        dry = self.api.json("POST", f"/api/v1/namespaces/{PROBE_NAMESPACE}/pods", body=pod,
                            params={"dryRun": "All"})
        return "kubesim.lain.dev/unschedulable" in (dry["spec"].get("nodeSelector") or {})

    # -- use -----------------------------------------------------------------------------
    def client(self, namespace: str = "default") -> KwokClient:
        """A client sharing the cluster's connection (and its log agent, for selector knobs)."""
        if self._resources is None:
            raise RuntimeError("the cluster is not started")
        connection = Connection(self.api, self._resources, self.log_store, self.knob_rules)
        return KwokClient(namespace=namespace, connection=connection)

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60,
                input: str | None = None) -> subprocess.CompletedProcess[str]:
        """kubectl against this cluster (admin, default namespace ``default``)."""
        kubectl = (self._binaries or binaries_mod.locate(self.bin_dir)).kubectl
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), NO_PROXY="127.0.0.1,localhost")
        proc = subprocess.run([str(kubectl), *args], capture_output=True, text=True, env=env, timeout=timeout,
                              input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def check(self) -> None:
        """Raise if the log agent died (pods would no longer start)."""
        if self._agent is not None and not self._agent.alive:
            raise KwokClusterError(f"the log agent died: {self._agent.error!r}; {self._agent.problems}")

    @property
    def agent_problems(self) -> list[str]:
        return list(self._agent.problems) if self._agent else []

    def diagnostics(self, lines: int = 30) -> str:
        """The last lines of kwokctl's output and of every component's log."""
        parts = []
        sources = [self.workdir / "kwokctl.log", *sorted((self.cluster_dir / "logs").glob("*.log"))]
        for path in sources:
            try:
                tail = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {path.name} (last {len(tail)} lines)\n" + "\n".join(tail))
        if self._agent is not None and self._agent.problems:
            parts.append("--- log agent\n" + "\n".join(self._agent.problems))
        if self._provisioner is not None and self._provisioner.problems:
            parts.append("--- volume provisioner\n" + "\n".join(self._provisioner.problems))
        return "\n".join(parts)

    # -- stop ----------------------------------------------------------------------------
    def _teardown_components(self) -> list[str]:
        """kwokctl delete cluster, then end whatever is still running under the workdir."""
        problems = []
        if self._binaries is not None and self.cluster_dir.exists():
            try:
                result = self._kwokctl("delete", "cluster", timeout=60)
                if result.returncode != 0:
                    problems.append(f"kwokctl delete cluster exited {result.returncode}")
            except subprocess.TimeoutExpired:
                problems.append("kwokctl delete cluster timed out")
        left = terminate(under(self.workdir))
        problems += [f"still running: pid {p.pid} {' '.join(p.argv)[:200]}" for p in left]
        return problems

    def stop(self) -> None:
        """Tear everything down (idempotent); KwokClusterError if a process survives."""
        if self._stopped:
            return
        self._stopped = True
        if self._provisioner is not None:
            self._provisioner.stop()
        if self._agent is not None:
            self._agent.stop()
        problems = self._teardown_components()
        self._disconnect()
        if self._reaper is not None:
            try:
                assert self._reaper.stdin is not None
                self._reaper.stdin.write("release\n")
                self._reaper.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self._reaper.wait(10)
            except subprocess.TimeoutExpired:
                self._reaper.kill()
                self._reaper.wait(10)
        if problems:
            raise KwokClusterError("; ".join(problems))

    def __enter__(self) -> KwokCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["KwokCluster", "KwokClusterError", "LOGS_READY"]
