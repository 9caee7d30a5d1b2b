"""`lain restart` (lain_cli.restart) on fakes of its executors and restarter: procs chosen,
annotations written, pods replaced one at a time, verdicts, notices, lock.  No cluster."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lain_cli import events as ev
from lain_cli import restart as flow
from lain_cli.errors import EXIT_USAGE, OperationFailed, UsageError
from lain_cli.interrupts import Interrupted
from lain_cli.lock import LockBusy, ReleaseLock
from lain_cli.reporters import Journal
from lain_cli.rollout import Outcome
from tests.fakes import failed, ready
from tests.test_deploy import World, make_ctx


class FakeRestarter:
    def __init__(self, pods: dict[str, list[str]] | None = None) -> None:
        self.deployed: dict[str, dict[str, Any]] = {}
        self.annotated: list[tuple[str, str]] = []
        self.replaced: list[str] = []
        self.tracked: list[list[str]] = []
        self.pod_names = pods or {}
        self.outcomes: list[Outcome | BaseException] = []
        self.replacements: dict[str, Outcome] = {}

    def deploy(self, *names: str, stamp: str | None = None) -> None:
        for name in names:
            annotations = {flow.RESTARTED_AT: stamp} if stamp else {}
            self.deployed[name] = {"spec": {"template": {"metadata": {"annotations": annotations}}}}

    def get(self, target: flow.Target) -> dict[str, Any] | None:
        return self.deployed.get(target.name)

    def annotate(self, target: flow.Target, stamp: str) -> None:
        self.annotated.append((target.name, stamp))

    def pods(self, target: flow.Target) -> list[str]:
        return self.pod_names.get(target.proc, [])

    def replace_pod(self, target: flow.Target, pod: str, timeout: float, emit: ev.Emit) -> Outcome:
        self.replaced.append(pod)
        return self.replacements.get(pod, ready())

    def track(self, targets: Any, timeout: float, emit: ev.Emit) -> Outcome:
        self.tracked.append([t.proc for t in targets])
        outcome = self.outcomes.pop(0) if self.outcomes else ready()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.fixture
def world() -> World:
    world = World()
    world.deployed()
    return world


def options(**changes: Any) -> flow.RestartOptions:
    return flow.RestartOptions(**{"timeout": 60.0, "journal": Journal(), **changes})


def kinds(opts: flow.RestartOptions) -> list[str]:
    assert opts.journal is not None
    return [e["kind"] for e in opts.journal.events]


def test_every_long_running_proc_by_default_and_only_the_named_ones_otherwise(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    assert [t.name for t in flow.resolve_targets(ctx, [])] == ["dummy-web", "dummy-worker"]
    assert [t.label for t in flow.resolve_targets(ctx, ["worker", "worker"])] == ["deployment dummy-worker"]


def test_an_unknown_proc_is_a_usage_error_listing_the_procs(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        flow.resolve_targets(make_ctx(tmp_path), ["web", "wbe"])
    assert caught.value.exit_code == EXIT_USAGE
    assert "unknown proc: wbe" in caught.value.message
    assert caught.value.hint is not None and "web, worker" in caught.value.hint


@pytest.mark.parametrize(("current", "stamp"), [
    (None, "2025-03-01T10:00:00Z"),
    ("2025-02-01T00:00:00Z", "2025-03-01T10:00:00Z"),
    ("2025-03-01T10:00:00Z", "2025-03-01T10:00:01Z"),  # twice in one second: still a change
    ("not a time", "2025-03-01T10:00:00Z"),
])
def test_the_restart_stamp_always_changes_the_template(current: str | None, stamp: str) -> None:
    assert flow.restart_stamp(datetime(2025, 3, 1, 10, 0, 0, 400, tzinfo=UTC), current) == stamp


def test_the_patch_is_the_pod_template_annotation_kubectl_writes() -> None:
    assert flow.restart_patch("T") == {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "T"}}}}}


def test_a_rolling_restart_annotates_then_tracks_the_named_procs(tmp_path: Path, world: World) -> None:
    restarter = FakeRestarter()
    restarter.deploy("dummy-web", "dummy-worker")
    opts = options()
    code = flow.restart(make_ctx(tmp_path), ["web"], opts, world.tools(), restarter)
    assert code == 0
    assert [name for name, _ in restarter.annotated] == ["dummy-web"]
    assert restarter.tracked == [["web"]]
    assert kinds(opts) == ["restart-start", "restart"]
    assert opts.journal is not None and opts.journal.facts == {"procs": ["web"], "graceful": False}
    with ReleaseLock(world.kubectl, "dummy", user="bob", command="deploy") as after:  # the lock was let go
        assert after.stolen_from is None


def test_new_pods_that_crash_fail_the_restart_with_the_report(tmp_path: Path, world: World) -> None:
    restarter = FakeRestarter()
    restarter.deploy("dummy-web", "dummy-worker")
    restarter.outcomes = [failed("worker")]
    opts = options()
    assert flow.restart(make_ctx(tmp_path), ["worker"], opts, world.tools(), restarter) == 1
    assert kinds(opts) == ["restart-start", "restart-failure"]
    assert opts.journal is not None
    assert any("Traceback: boom" in line for line in opts.journal.events[-1]["details"])


def test_graceful_replaces_pod_by_pod_and_stops_at_the_first_that_fails(tmp_path: Path, world: World) -> None:
    restarter = FakeRestarter({"web": ["web-a", "web-b", "web-c"]})
    restarter.deploy("dummy-web")
    restarter.replacements["web-b"] = failed("web")
    opts = options(graceful=True)
    assert flow.restart(make_ctx(tmp_path), ["web"], opts, world.tools(), restarter) == 1
    assert restarter.replaced == ["web-a", "web-b"]
    assert restarter.annotated == [] and restarter.tracked == []


def test_graceful_ends_with_the_whole_proc_tracked(tmp_path: Path, world: World) -> None:
    restarter = FakeRestarter({"web": ["web-a", "web-b"]})
    restarter.deploy("dummy-web")
    assert flow.restart(make_ctx(tmp_path), ["web"], options(graceful=True), world.tools(), restarter) == 0
    assert restarter.replaced == ["web-a", "web-b"] and restarter.tracked == [["web"]]


def test_a_proc_not_on_the_cluster_changes_nothing(tmp_path: Path, world: World) -> None:
    restarter = FakeRestarter()
    restarter.deploy("dummy-web")
    with pytest.raises(OperationFailed, match="deployment dummy-worker"):
        flow.restart(make_ctx(tmp_path), [], options(), world.tools(), restarter)
    assert restarter.annotated == []


def test_a_release_never_deployed_is_exit_1(tmp_path: Path) -> None:
    world = World()
    with pytest.raises(OperationFailed, match="not deployed"):
        flow.restart(make_ctx(tmp_path), [], options(), world.tools(), FakeRestarter())


def test_another_lain_holding_the_release_refuses_the_restart(tmp_path: Path, world: World) -> None:
    restarter = FakeRestarter()
    restarter.deploy("dummy-web", "dummy-worker")
    with ReleaseLock(world.kubectl, "dummy", user="bob", command="deploy"), pytest.raises(LockBusy):
        flow.restart(make_ctx(tmp_path), [], options(), world.tools(), restarter)
    assert restarter.annotated == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_while_tracking_is_128_plus_the_signal(tmp_path: Path, world: World, sig: int) -> None:
    restarter = FakeRestarter()
    restarter.deploy("dummy-web", "dummy-worker")
    restarter.outcomes = [Interrupted(sig)]
    opts = options()
    assert flow.restart(make_ctx(tmp_path), [], opts, world.tools(), restarter) == 128 + sig
    assert kinds(opts) == ["restart-start", "restart-failure"]
