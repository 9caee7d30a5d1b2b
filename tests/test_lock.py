"""The release lock (a Lease), on the fake kubectl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lain_cli import lock
from tests.fakes import FakeCluster, FakeKubectl

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def make(kubectl: FakeKubectl, user: str = "alice", at: datetime = NOW, steal: bool = False) -> lock.ReleaseLock:
    return lock.ReleaseLock(kubectl, "dummy", user=user, command="deploy", clock=lambda: at, steal=steal)


@pytest.fixture
def kubectl() -> FakeKubectl:
    return FakeKubectl(FakeCluster())


def test_micro_time_round_trip() -> None:
    assert lock.micro_time(NOW) == "2026-12-01T12:00:00.000000Z"
    assert lock.parse_micro_time("2026-12-01T12:00:00.000000Z") == NOW


def test_the_lock_is_held_for_the_block_and_removed_after(kubectl: FakeKubectl) -> None:
    with make(kubectl):
        lease = kubectl.get_json("lease", "lain-lock-dummy")
        assert lease is not None
        holder = lock.holder_of(lease)
        assert holder.identity.startswith("alice@") and "lain deploy, pid" in holder.description
        assert holder.duration == lock.LEASE_SECONDS
    assert kubectl.get_json("lease", "lain-lock-dummy") is None


def test_a_second_lain_is_told_who_holds_the_release(kubectl: FakeKubectl) -> None:
    with make(kubectl, "alice"):
        second = make(kubectl, "bob", NOW + timedelta(seconds=12))
        second.identity = "bob@elsewhere/1"
        with pytest.raises(lock.LockBusy) as busy:
            second.acquire()
        assert "is locked by alice (lain deploy, pid" in busy.value.message and "for 12s" in busy.value.message
        assert kubectl.get_json("lease", "lain-lock-dummy") is not None


def test_a_lock_whose_holder_stopped_renewing_is_taken_over(kubectl: FakeKubectl) -> None:
    kubectl.create(lock.lease_object("dummy", "dead@host/1", "dead (lain deploy)", NOW - timedelta(seconds=31)))
    taker = make(kubectl)
    taker.acquire()
    lease = kubectl.get_json("lease", "lain-lock-dummy")
    assert lease is not None and lock.holder_of(lease).identity == taker.identity
    assert taker.stolen_from is None
    taker.release_lock()


def test_steal_takes_a_live_lock_and_says_from_whom(kubectl: FakeKubectl) -> None:
    kubectl.create(lock.lease_object("dummy", "bob@host/1", "bob (lain deploy)", NOW))
    taker = make(kubectl, steal=True)
    taker.acquire()
    assert taker.stolen_from is not None and taker.stolen_from.description == "bob (lain deploy)"
    taker.release_lock()


def test_release_never_deletes_another_holders_lock(kubectl: FakeKubectl) -> None:
    mine = make(kubectl)
    mine.acquire()
    lease = kubectl.get_json("lease", "lain-lock-dummy")
    assert lease is not None
    lease["spec"]["holderIdentity"] = "thief@host/2"
    kubectl.replace(lease)
    mine._renew()
    assert mine.lost.is_set()
    mine.release_lock()
    remaining = kubectl.get_json("lease", "lain-lock-dummy")
    assert remaining is not None and lock.holder_of(remaining).identity == "thief@host/2"


def test_renewal_moves_the_renew_time(kubectl: FakeKubectl) -> None:
    now = [NOW]
    held = lock.ReleaseLock(kubectl, "dummy", user="alice", command="deploy", clock=lambda: now[0])
    held.acquire()
    now[0] = NOW + timedelta(seconds=10)
    held._renew()
    lease = kubectl.get_json("lease", "lain-lock-dummy")
    assert lease is not None and lock.holder_of(lease).renewed == NOW + timedelta(seconds=10)
    held.release_lock()


def test_a_lock_renewed_recently_is_deleted_without_reading_it_again(kubectl: FakeKubectl) -> None:
    held = make(kubectl)
    held.acquire()
    kubectl.calls.clear()
    held.release_in_background()
    held.__exit__(None, None, None)
    assert kubectl.calls == [("delete", "lease/lain-lock-dummy")]
    assert kubectl.get_json("lease", "lain-lock-dummy") is None
