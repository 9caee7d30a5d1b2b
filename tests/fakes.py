"""Recorded fakes of lain's own executor and tracker interfaces, for unit tests of
the release flow (tests/test_deploy.py).  No process is started.

:class:`FakeCluster` is one namespace's objects; :class:`FakeKubectl` reads and
writes it as kubectl would (resourceVersion conflicts included); :class:`FakeHelm`
keeps its revisions where helm does, in ``sh.helm.release.v1.*`` Secrets of that
store, so lain's verdicts written into them show in its history.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lain_cli import events as ev
from lain_cli import release
from lain_cli.clusters import Cluster
from lain_cli.errors import OperationFailed
from lain_cli.executors import HelmRun
from lain_cli.helm import DryRunRelease
from lain_cli.kube import AlreadyExists, Conflict, NotFound
from lain_cli.rollout import HookFailure, Outcome
from lain_cli.status import StatusReport

CLUSTER = Cluster(name="dev", namespace="default")


class FakeCluster:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self._version = 0
        self.lock = threading.Lock()

    def next_version(self) -> str:
        self._version += 1
        return str(self._version)


def _kind(kind: str) -> str:
    return {"secrets": "secret", "leases": "lease"}.get(kind.lower(), kind.lower())


class FakeKubectl:
    def __init__(self, store: FakeCluster) -> None:
        self.store = store
        self.cluster = CLUSTER
        self.calls: list[tuple[str, str]] = []
        self.refuse: dict[str, tuple[str, str]] = {}
        self.dry_runs: list[tuple[str, list[str]]] = []

    def get_json(self, kind: str, name: str | None = None, selector: str | None = None) -> dict[str, Any] | None:
        self.calls.append(("get", f"{kind}/{name}"))
        with self.store.lock:
            found = self.store.objects.get((_kind(kind), name or ""))
            return copy.deepcopy(found) if found else None

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        key = (_kind(obj["kind"]), obj["metadata"]["name"])
        self.calls.append(("create", f"{key[0]}/{key[1]}"))
        with self.store.lock:
            if key in self.store.objects:
                raise AlreadyExists(f"{key} exists")
            stored = copy.deepcopy(obj)
            stored["metadata"]["resourceVersion"] = self.store.next_version()
            self.store.objects[key] = stored
            return copy.deepcopy(stored)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        key = (_kind(obj["kind"]), obj["metadata"]["name"])
        self.calls.append(("replace", f"{key[0]}/{key[1]}"))
        with self.store.lock:
            current = self.store.objects.get(key)
            if current is None:
                raise NotFound(f"{key} not found")
            if current["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
                raise Conflict(f"{key} changed")
            stored = copy.deepcopy(obj)
            stored["metadata"]["resourceVersion"] = self.store.next_version()
            self.store.objects[key] = stored
            return copy.deepcopy(stored)

    def delete(self, kind: str, name: str) -> None:
        self.calls.append(("delete", f"{kind}/{name}"))
        with self.store.lock:
            self.store.objects.pop((_kind(kind), name), None)

    def dry_run(self, objects: Sequence[Mapping[str, Any]], *, create: bool) -> list[tuple[str, str]]:
        """The API server's dry run: what ``refuse`` says of each object (``name -> (reason, message)``),
        and for a create, AlreadyExists for an object in the store; nothing is stored."""
        self.dry_runs.append(("create" if create else "apply", [o["metadata"]["name"] for o in objects]))
        refused = []
        for obj in objects:
            name = obj["metadata"]["name"]
            if name in self.refuse:
                refused.append(self.refuse[name])
            elif create and (_kind(obj["kind"]), name) in self.store.objects:
                refused.append(("AlreadyExists", f'{obj["kind"].lower()}s "{name}" already exists'))
        return refused

    def patch(self, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386) of a stored object."""
        def merge(target: Any, change: Any) -> Any:
            if not isinstance(change, dict):
                return copy.deepcopy(change)
            out = dict(target) if isinstance(target, dict) else {}
            for key, value in change.items():
                if value is None:
                    out.pop(key, None)
                else:
                    out[key] = merge(out.get(key), value)
            return out

        key = (_kind(kind), name)
        self.calls.append(("patch", f"{key[0]}/{key[1]}"))
        with self.store.lock:
            current = self.store.objects.get(key)
            if current is None:
                raise NotFound(f"{key} not found")
            stored = merge(current, body)
            stored["metadata"]["resourceVersion"] = self.store.next_version()
            self.store.objects[key] = stored
            return copy.deepcopy(stored)


@dataclass
class HelmScript:
    """What the next helm upgrade/rollback does: its exit, the status it leaves."""

    ok: bool = True
    status: str = ""  # default: deployed when ok, else failed
    description: str = ""  # helm's own, when it fails ("Upgrade ... failed: ...")
    interrupted: Any = None
    output: str = ""
    during: Callable[[threading.Event], None] | None = None  # runs while "helm" runs


class FakeHelm:
    major = 3

    def __init__(self, store: FakeCluster, release_name: str = "dummy") -> None:
        self.store = store
        self.release = release_name
        self.scripts: list[HelmScript] = []
        self.argvs: list[list[str]] = []
        self.values_by_revision: dict[int, dict[str, Any]] = {}
        self.manifests: dict[int, tuple[str, str]] = {}  # revision -> (manifest, hooks)
        self.dry_release: DryRunRelease | OperationFailed | None = None  # what the next dry run says

    # the store ------------------------------------------------------------

    def add_revision(self, status: str, description: str, *, values: dict[str, Any] | None = None,
                     age: float = 60.0) -> int:
        numbers = [r.number for r in self.history(self.release)]
        number = (max(numbers) + 1) if numbers else 1
        updated = datetime.now(UTC) - timedelta(seconds=age)
        document = {"name": self.release, "version": number,
                    "info": {"status": status, "description": description,
                             "last_deployed": updated.isoformat().replace("+00:00", "Z")}}
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": release.storage_secret_name(self.release, number),
                               "labels": {"owner": "helm", "name": self.release, "status": status}},
                  "data": {"release": release.encode_release(document)}}
        with self.store.lock:
            for (kind, _name), obj in self.store.objects.items():
                doc = release.decode_release(obj) if kind == "secret" and "release" in obj.get("data", {}) else None
                if doc is not None and status == "deployed" and doc["info"]["status"] == "deployed":
                    doc["info"]["status"] = "superseded"
                    obj["data"]["release"] = release.encode_release(doc)
            secret["metadata"]["resourceVersion"] = self.store.next_version()
            self.store.objects[("secret", secret["metadata"]["name"])] = secret
        self.values_by_revision[number] = values or {}
        return number

    # the executor interface -----------------------------------------------

    def history(self, release_name: str) -> list[release.Revision]:
        revisions = []
        with self.store.lock:
            for (kind, _name), obj in self.store.objects.items():
                if kind != "secret" or "release" not in obj.get("data", {}):
                    continue
                doc = release.decode_release(obj)
                revisions.append(release.Revision(
                    int(doc["version"]), doc["info"]["status"], release.parse_time(doc["info"]["last_deployed"]),
                    doc["info"]["description"]))
        return sorted(revisions, key=lambda r: r.number)

    def values(self, release_name: str, revision: int | None = None) -> dict[str, Any]:
        if revision is None:
            deployed = release.last_deployed(self.history(release_name))
            revision = deployed.number if deployed else 0
        return copy.deepcopy(self.values_by_revision.get(revision, {}))

    def upgrade_argv(self, release_name: str, chart_dir: Any, *, description: str, timeout: float) -> list[str]:
        return ["helm", "upgrade", release_name, str(chart_dir), "--description", description]

    def rollback_argv(self, release_name: str, revision: int, *, timeout: float) -> list[str]:
        return ["helm", "rollback", release_name, str(revision)]

    def manifest(self, release_name: str, *, hooks: bool = False) -> str:
        numbers = [r.number for r in self.history(release_name)]
        manifest, hook_manifest = self.manifests.get(max(numbers), ("", "")) if numbers else ("", "")
        return hook_manifest if hooks else manifest

    def dry_run_argv(self, release_name: str, chart_dir: Any, *, description: str, timeout: float) -> list[str]:
        return ["helm", "upgrade", release_name, str(chart_dir), "--description", description, "--dry-run=server"]

    def dry_run(self, argv: Sequence[str]) -> DryRunRelease:
        self.argvs.append(list(argv))
        if isinstance(self.dry_release, OperationFailed):
            raise self.dry_release
        assert self.dry_release is not None, "the test did not say what helm's dry run renders"
        return self.dry_release

    def upgrade(self, argv: list[str], *, cancel: threading.Event, timeout: float,
                on_line: Callable[[str], None] | None = None) -> HelmRun:
        self.argvs.append(list(argv))
        script = self.scripts.pop(0) if self.scripts else HelmScript()
        if script.during is not None:
            script.during(cancel)
        if argv[1] == "rollback":
            description = f"Rollback to {argv[3]}"
        else:
            description = argv[argv.index("--description") + 1]
        if script.ok:
            self.add_revision("deployed", description, age=0)
        else:
            self.add_revision(script.status or "failed", script.description or "Upgrade failed", age=0)
        return HelmRun(script.ok, 0 if script.ok else 1, script.output, script.interrupted, cancel.is_set(), False)


@dataclass
class FakeVerdict:
    summary: str = "ready: 2/2 procs ready"
    failed_workload: str = ""
    reason: str = ""

    def first_failure(self) -> Any:
        if not self.failed_workload:
            return None
        workload = type("W", (), {"component": self.failed_workload, "name": f"dummy-{self.failed_workload}"})
        problem = type("P", (), {"reason": self.reason})
        return type("F", (), {"workload": workload, "problem": problem})


@dataclass
class FakeHookWatch:
    cancel: threading.Event = field(default_factory=threading.Event)
    aborted: Any = None
    lost: Any = None
    failed: HookFailure | None = None

    def failure(self) -> HookFailure | None:
        return self.failed

    def wait_for_failure(self, patience: float) -> HookFailure | None:
        return self.failed

    def logs_of(self, job: str) -> list[str]:
        return list(self.failed.logs) if self.failed else []


class FakeTracker:
    """Scripted hook watch, rollout outcome and green light."""

    def __init__(self) -> None:
        self.hook_failure: HookFailure | None = None
        self.outcomes: list[Outcome | BaseException] = []
        self.green = "GREEN"
        self.timeouts: list[float] = []

    @contextmanager
    def hooks(self, run_id: str, emit: ev.Emit) -> Iterator[FakeHookWatch]:
        yield FakeHookWatch(failed=self.hook_failure)

    def rollout(self, timeout: float, emit: ev.Emit) -> Outcome:
        self.timeouts.append(timeout)
        outcome = self.outcomes.pop(0) if self.outcomes else ready()
        if isinstance(outcome, BaseException):
            raise outcome
        emit(ev.Progress("web", outcome.verdict.summary))
        return outcome

    def green_light(self, run_tests: bool) -> StatusReport:
        reasons = [] if self.green == "GREEN" else ["1 error line(s) in the last 10m of logs: web (1)"]
        return StatusReport(app="dummy", release="dummy", cluster="dev", namespace="default",
                            verdict=self.green, reasons=reasons)


def ready() -> Outcome:
    return Outcome(True, False, ["ready: 2/2 procs ready"], FakeVerdict(), 1.0)


def failed(workload: str = "web", reason: str = "CrashLoopBackOff") -> Outcome:
    report = [f"Deployment dummy-{workload} failed: {reason}", f"  Pod dummy-{workload}-x: {reason}",
              "events:", "  Warning BackOff", "last 1 log lines of dummy-web-x:", "  Traceback: boom"]
    return Outcome(False, False, report, FakeVerdict("0/2 ready", workload, reason), 3.0)


def timed_out() -> Outcome:
    return Outcome(False, True, ["not ready after 5s:", "  Deployment dummy-web: 1/2 ready"],
                   FakeVerdict("1/2 ready"), 5.0)
