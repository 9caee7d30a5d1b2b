"""The release flow (lain_cli.deploy) on recorded fakes of its executors and tracker:
success, hook failure, workload failure, timeout, interrupt, stuck and locked
releases, for deploy, update-image, rollback and wait.  No cluster, no process."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from lain_cli import deploy as flow
from lain_cli import lock as lock_mod
from lain_cli import release
from lain_cli.context import AppContext
from lain_cli.deadline import Deadline
from lain_cli.errors import OperationFailed, UsageError
from lain_cli.interrupts import Interrupted
from lain_cli.reporters import Journal
from lain_cli.rollout import HookFailure
from tests.fakes import (
    CLUSTER,
    FakeCluster,
    FakeHelm,
    FakeKubectl,
    FakeTracker,
    HelmScript,
    failed,
    timed_out,
)

REPO = "registry.example.com/dummy"


def make_ctx(tmp_path: Path, tag: str = "bbb", procs: tuple[str, ...] = ("web", "worker")) -> AppContext:
    values = {"appname": "dummy", "deployments": {p: {"replicaCount": 1} for p in procs}}
    return AppContext(
        appname="dummy", release_name="dummy", cluster=CLUSTER, namespace="default", image_repository=REPO,
        image_tag=tag, values=values, value_files=(), chart_dir=tmp_path / "chart",
        procs=dict.fromkeys(procs, "deployment"), user="alice", git_revision="",
        images={"deployments": {p: f"{REPO}:{tag}" for p in procs}},
    )


class World:
    def __init__(self) -> None:
        self.store = FakeCluster()
        self.helm = FakeHelm(self.store)
        self.kubectl = FakeKubectl(self.store)
        self.tracker = FakeTracker()

    def tools(self, timeout: float = 300) -> flow.Tools:
        return flow.Tools(self.helm, self.kubectl, self.tracker, Deadline(timeout))

    def deployed(self, tag: str = "aaa", verdict: str = "rollout ready", age: float = 600) -> int:
        description = release.with_verdict(
            release.describe("deploy", "alice", {"web": f"{REPO}:{tag}", "worker": f"{REPO}:{tag}"}), verdict)
        values = {"lain": {"user": "alice", "images": {"deployments": {"web": f"{REPO}:{tag}",
                                                                       "worker": f"{REPO}:{tag}"}}}}
        return self.helm.add_revision("deployed", description, values=values, age=age)

    def head(self) -> release.Revision:
        return self.helm.history("dummy")[-1]


@pytest.fixture
def world() -> World:
    return World()


def options(**changes: Any) -> flow.DeployOptions:
    return flow.DeployOptions(**{"timeout": 300.0, "journal": Journal(), **changes})


def kinds(opts: flow.DeployOptions) -> list[str]:
    assert opts.journal is not None
    return [e["kind"] for e in opts.journal.events]


# ---------------------------------------------------------------- deploy


def test_a_deploy_that_rolls_out_records_ready_and_releases_the_lock(tmp_path: Path, world: World) -> None:
    world.deployed()
    opts = options()
    assert flow.deploy(make_ctx(tmp_path), opts, world.tools()) == 0
    head = world.head()
    assert (head.number, head.status) == (2, "deployed")
    assert head.description == f"lain deploy by alice, image {REPO}:bbb | rollout ready"
    assert kinds(opts) == ["deploy-start", "deploy-success"]
    assert opts.journal is not None and opts.journal.status is not None and opts.journal.status["verdict"] == "GREEN"
    assert ("create", "lease/lain-lock-dummy") in world.kubectl.calls
    assert world.kubectl.get_json("lease", "lain-lock-dummy") is None


def test_a_failed_hook_is_exit_1_and_recorded_on_the_failed_revision(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.helm.scripts = [HelmScript(ok=False, description='Upgrade "dummy" failed: context canceled')]
    world.tracker.hook_failure = HookFailure("dummy-migrate", "BackoffLimitExceeded", "Job has reached the backoff limit",
                                             logs=["migrating 003", "ERROR: relation orders already exists"])
    opts = options()
    assert flow.deploy(make_ctx(tmp_path), opts, world.tools()) == 1
    head = world.head()
    assert head.status == "failed"
    assert head.description == (f"lain deploy by alice, image {REPO}:bbb | hook failed: job dummy-migrate "
                                 "BackoffLimitExceeded")
    assert head.verdict is not None and head.verdict.failed
    assert kinds(opts) == ["deploy-start", "deploy-failure"]
    assert opts.journal is not None
    details = opts.journal.events[-1]["details"]
    assert details[-1] == "  ERROR: relation orders already exists"


def test_a_failed_rollout_is_exit_1_with_the_whole_report_in_json(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.tracker.outcomes = [failed("web", "CrashLoopBackOff")]
    opts = options()
    assert flow.deploy(make_ctx(tmp_path), opts, world.tools()) == 1
    head = world.head()
    assert head.status == "deployed" and head.description.endswith(" | rollout failed: web CrashLoopBackOff")
    assert opts.journal is not None
    assert opts.journal.events[-1]["details"] == failed().report  # not cut after "events:"
    assert release.rollback_target(world.helm.history("dummy")).number == 1


def test_a_rollout_timeout_is_exit_1_and_recorded(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.tracker.outcomes = [timed_out()]
    assert flow.deploy(make_ctx(tmp_path), options(), world.tools()) == 1
    assert world.head().verdict is not None and world.head().verdict.kind == "timed-out"


def test_the_rollout_gets_what_is_left_of_the_one_deadline(tmp_path: Path, world: World) -> None:
    world.deployed()
    flow.deploy(make_ctx(tmp_path), options(timeout=20.0), world.tools(timeout=20.0))
    [given] = world.tracker.timeouts
    assert 15 < given <= 20


def test_red_after_rollout_is_exit_1_on_a_terminal_too(tmp_path: Path, world: World,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import console, panel

    opened: list[str] = []
    monkeypatch.setattr(console, "interactive", lambda: True)
    monkeypatch.setattr(panel, "run_live", lambda ctx: opened.append(ctx.appname) or 0)
    world.deployed()
    world.tracker.green = "RED"
    assert flow.deploy(make_ctx(tmp_path), options(journal=None), world.tools()) == 1
    assert opened == ["dummy"]  # after the outcome, which it does not change
    world.tracker.green = "RED"
    assert flow.deploy(make_ctx(tmp_path, tag="ccc"), options(journal=None, panel=False), world.tools()) == 1
    assert opened == ["dummy"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_an_interrupt_while_helm_runs_is_128_plus_the_signal(tmp_path: Path, world: World, sig: int) -> None:
    world.deployed()
    world.helm.scripts = [HelmScript(ok=False, interrupted=Interrupted(sig), description="Upgrade failed: canceled")]
    opts = options()
    assert flow.deploy(make_ctx(tmp_path), opts, world.tools()) == 128 + sig
    head = world.head()
    assert head.status == "failed" and head.verdict is not None and head.verdict.kind == "helm-failed"
    assert kinds(opts) == ["deploy-start", "deploy-failure"]
    assert opts.journal is not None and opts.journal.document(make_ctx(tmp_path), 128 + sig)["result"] == "interrupted"
    assert world.kubectl.get_json("lease", "lain-lock-dummy") is None


def test_an_interrupt_while_tracking_leaves_the_rollout_unconfirmed(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.tracker.outcomes = [Interrupted(signal.SIGTERM)]
    assert flow.deploy(make_ctx(tmp_path), options(), world.tools()) == 143
    verdict = world.head().verdict
    assert verdict is not None and verdict.kind == "unconfirmed" and not verdict.failed


def test_a_stuck_release_is_refused_then_recovered_with_force_unlock(tmp_path: Path, world: World) -> None:
    world.deployed(age=900)
    world.helm.add_revision("pending-upgrade", "lain deploy by bob, image x", values={"lain": {"user": "bob"}}, age=900)
    with pytest.raises(OperationFailed) as refused:
        flow.deploy(make_ctx(tmp_path), options(), world.tools())
    assert "it is stuck (older than the 300s deploy timeout)" in refused.value.message
    assert "--force-unlock` marks revision 2 failed, rolls back to revision 1" in (refused.value.hint or "")
    assert flow.deploy(make_ctx(tmp_path), options(force_unlock=True), world.tools()) == 0
    assert [r.status for r in world.helm.history("dummy")] == ["superseded", "failed", "superseded", "deployed"]
    assert world.helm.argvs[0] == ["helm", "rollback", "dummy", "1"]


def test_a_young_pending_revision_not_made_by_lain_needs_even_if_alive(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.helm.add_revision("pending-upgrade", 'Upgrade "dummy"', values={}, age=5)
    with pytest.raises(OperationFailed) as refused:
        flow.deploy(make_ctx(tmp_path), options(force_unlock=True), world.tools())
    assert "not by lain: the helm running it may still be alive" in refused.value.message
    assert flow.deploy(make_ctx(tmp_path), options(force_unlock=True, even_if_alive=True), world.tools()) == 0


def test_a_young_pending_revision_of_a_dead_lain_is_unlocked_at_once(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.helm.add_revision("pending-upgrade", "lain deploy by bob, image x", values={"lain": {"user": "bob"}}, age=5)
    with pytest.raises(OperationFailed, match="another deploy is in progress.*started by bob"):
        flow.deploy(make_ctx(tmp_path), options(), world.tools())
    assert flow.deploy(make_ctx(tmp_path), options(force_unlock=True), world.tools()) == 0


def _held_by_another(world: World) -> None:
    from datetime import UTC, datetime

    world.kubectl.create(lock_mod.lease_object("dummy", "bob@ci/7", "bob (lain deploy, pid 7 on ci)",
                                               datetime.now(UTC)))


def test_a_release_locked_by_a_live_lain_is_refused_even_with_force_unlock(tmp_path: Path, world: World) -> None:
    world.deployed()
    _held_by_another(world)
    for opts in (options(), options(force_unlock=True)):
        with pytest.raises(lock_mod.LockBusy) as busy:
            flow.deploy(make_ctx(tmp_path), opts, world.tools())
        assert busy.value.message.startswith(
            "another deploy is in progress: release dummy is locked by bob (lain deploy, pid 7 on ci)")
    assert world.helm.argvs == []  # helm never ran
    assert flow.deploy(make_ctx(tmp_path), options(force_unlock=True, even_if_alive=True), world.tools()) == 0


# ---------------------------------------------------------------- update-image


def test_update_image_changes_only_the_named_procs(tmp_path: Path, world: World) -> None:
    world.deployed()
    opts = options()
    assert flow.update_image(make_ctx(tmp_path), ["web"], opts, world.tools()) == 0
    assert world.head().description == (f"lain update-image by alice, image {REPO}:aaa; web={REPO}:bbb"
                                        " | rollout ready")
    assert opts.journal is not None and (opts.journal.old_image, opts.journal.new_image) == (
        f"web={REPO}:aaa", f"web={REPO}:bbb")


def test_update_image_with_nothing_deployed_fails(tmp_path: Path, world: World) -> None:
    with pytest.raises(OperationFailed, match="no deployed revision"):
        flow.update_image(make_ctx(tmp_path), ["web"], options(), world.tools())
    with pytest.raises(UsageError, match="unknown proc: cron"):
        flow.update_image(make_ctx(tmp_path), ["cron"], options(), world.tools())


def test_update_image_whose_rollout_fails_is_recorded(tmp_path: Path, world: World) -> None:
    world.deployed()
    world.tracker.outcomes = [failed("web", "ErrImagePull")]
    assert flow.update_image(make_ctx(tmp_path), ["web"], options(), world.tools()) == 1
    assert world.head().description.endswith(" | rollout failed: web ErrImagePull")


# ---------------------------------------------------------------- rollback


def test_rollback_skips_revisions_whose_rollout_failed(tmp_path: Path, world: World) -> None:
    world.deployed("aaa")
    world.deployed("bbb", verdict="rollout failed: web ErrImagePull")
    world.deployed("ccc", verdict="rollout failed: worker CrashLoopBackOff")
    opts = options()
    assert flow.rollback(make_ctx(tmp_path), None, opts, world.tools()) == 0
    assert world.helm.argvs == [["helm", "rollback", "dummy", "1"]]
    head = world.head()
    assert head.description == f"lain rollback to 1 by alice, image {REPO}:aaa | rollout ready"
    assert head.rollback_to == 1
    assert kinds(opts) == ["rollback"]


def test_rollback_whose_rollout_fails_is_exit_1(tmp_path: Path, world: World) -> None:
    world.deployed("aaa")
    world.deployed("bbb")
    world.tracker.outcomes = [failed()]
    assert flow.rollback(make_ctx(tmp_path), None, options(), world.tools()) == 1
    assert world.head().verdict is not None and world.head().verdict.failed


def test_rollback_with_no_revision_that_rolled_out(tmp_path: Path, world: World) -> None:
    world.deployed("aaa", verdict="rollout failed: web ErrImagePull")
    world.deployed("bbb")
    with pytest.raises(OperationFailed, match="no revision before 2 that rolled out"):
        flow.rollback(make_ctx(tmp_path), None, options(), world.tools())


def test_rollback_on_failure_goes_to_the_last_revision_that_rolled_out(tmp_path: Path, world: World) -> None:
    world.deployed("aaa")
    world.deployed("bbb", verdict="rollout failed: web ErrImagePull")
    world.tracker.outcomes = [failed("worker")]
    opts = options(rollback_on_failure=True)
    assert flow.deploy(make_ctx(tmp_path, tag="ccc"), opts, world.tools()) == 1
    assert world.helm.argvs[-1] == ["helm", "rollback", "dummy", "1"]
    assert kinds(opts) == ["deploy-start", "deploy-failure", "rollback"]


# ---------------------------------------------------------------- wait


def test_wait_is_the_rollouts_verdict(tmp_path: Path, world: World) -> None:
    world.deployed()
    assert flow.wait(make_ctx(tmp_path), 30, tools=world.tools()) == 0
    world.tracker.outcomes = [failed()]
    assert flow.wait(make_ctx(tmp_path), 30, tools=world.tools()) == 1
    world.tracker.outcomes = [timed_out()]
    journal = Journal()
    assert flow.wait(make_ctx(tmp_path), 30, journal, tools=world.tools()) == 1
    assert journal.events[0]["kind"] == "timed-out"
    world.tracker.outcomes = [Interrupted(signal.SIGTERM)]
    with pytest.raises(Interrupted):
        flow.wait(make_ctx(tmp_path), 30, tools=world.tools())
