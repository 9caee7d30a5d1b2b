"""The release lock: one lain at a time changes a release, for the whole command.

helm's ``pending-*`` status is not a lock: two deploys started at the same
moment both read "deployed" before either helm has written "pending", and the
loser then meets helm's raw ``release: already exists``.  lain takes a
Kubernetes Lease (coordination.k8s.io/v1) named after the release before it
reads the history, renews it while it works and deletes it when done, so the
loser is told at once who holds the release.

A lain that dies without deleting its Lease (SIGKILL, a lost machine) stops
renewing it; after ``LEASE_SECONDS`` anyone may take it over.  Whether the
holder is alive is judged by the holder's renewals against this machine's
clock: clocks within a few seconds of each other are assumed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lain_cli.errors import ClusterError, OperationFailed
from lain_cli.executors import KubectlExecutor

LEASE_SECONDS = 30
RENEW_EVERY = LEASE_SECONDS / 3
LOCK_LABEL = "lain.dev/lock"
HOLDER_ANNOTATION = "lain.dev/holder"  # who, in words: "alice (lain deploy, pid 4242 on build-7)"


def lease_name(release: str) -> str:
    return f"lain-lock-{release}"[:253]


def micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 with six fractional digits, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Holder:
    """Who holds a release's lock, read from its Lease."""

    identity: str
    description: str
    acquired: datetime | None
    renewed: datetime | None
    duration: float

    def alive(self, now: datetime) -> bool:
        """Renewed within its lease duration (a holder that stopped renewing is gone)."""
        return self.renewed is not None and now - self.renewed <= timedelta(seconds=self.duration)

    def age(self, now: datetime) -> float | None:
        return (now - self.acquired).total_seconds() if self.acquired else None


def holder_of(lease: dict[str, Any]) -> Holder:
    spec = lease.get("spec") or {}
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    identity = str(spec.get("holderIdentity") or "")
    return Holder(
        identity=identity,
        description=str(annotations.get(HOLDER_ANNOTATION) or identity or "someone"),
        acquired=parse_micro_time(spec.get("acquireTime")),
        renewed=parse_micro_time(spec.get("renewTime")),
        duration=float(spec.get("leaseDurationSeconds") or LEASE_SECONDS),
    )


def lease_object(release: str, identity: str, description: str, now: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": lease_name(release),
            "labels": {LOCK_LABEL: "release"},
            "annotations": {HOLDER_ANNOTATION: description},
        },
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": LEASE_SECONDS,
            "acquireTime": micro_time(now),
            "renewTime": micro_time(now),
        },
    }


class LockBusy(OperationFailed):
    """Another lain holds the release."""

    def __init__(self, message: str, holder: Holder, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.holder = holder


def my_identity(user: str, command: str) -> tuple[str, str]:
    """(holderIdentity, description) of this process."""
    host = os.uname().nodename  # gethostname()'s answer, without importing socket
    pid = os.getpid()
    return f"{user}@{host}/{pid}", f"{user} (lain {command}, pid {pid} on {host})"


class ReleaseLock:
    """The Lease of one release, held from :meth:`acquire` to :meth:`release`.

    Use as a context manager.  ``steal`` takes the Lease even from a holder
    that still renews it (``--force-unlock --even-if-alive``).
    """

    def __init__(self, kubectl: KubectlExecutor, release: str, *, user: str, command: str,
                 clock: Callable[[], datetime] | None = None, steal: bool = False) -> None:
        self.kubectl = kubectl
        self.release = release
        self.identity, self.description = my_identity(user, command)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.steal = steal
        self.stolen_from: Holder | None = None
        self.took_over = False  # acquired by replacing a Lease that was there (not by creating it)
        self.lost = threading.Event()
        self._held = False
        self._renewed_at: datetime | None = None
        self._release_mutex = threading.Lock()
        self._releaser: threading.Thread | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> ReleaseLock:
        self.acquire()
        return self

    def acquire(self) -> None:
        from lain_cli.kube import AlreadyExists, Conflict

        now = self.clock()
        mine = lease_object(self.release, self.identity, self.description, now)
        try:
            self.kubectl.create(mine)
        except AlreadyExists:
            current = self.kubectl.get_json("lease", lease_name(self.release))
            if current is None:  # deleted meanwhile: try once more
                self.kubectl.create(mine)
            else:
                holder = holder_of(current)
                if holder.alive(now) and holder.identity != self.identity and not self.steal:
                    raise self._busy(holder, now) from None
                if holder.alive(now) and holder.identity != self.identity:
                    self.stolen_from = holder
                taken = dict(mine)
                taken["metadata"] = {**mine["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}
                try:
                    self.kubectl.replace(taken)
                    self.took_over = True
                except Conflict:
                    fresh = self.kubectl.get_json("lease", lease_name(self.release))
                    raise self._busy(holder_of(fresh or current), now) from None
        self._held = True
        self._renewed_at = now
        self._renewer = threading.Thread(target=self._renew_loop, name="lock-renewer", daemon=True)
        self._renewer.start()

    def _busy(self, holder: Holder, now: datetime) -> LockBusy:
        from lain_cli import console

        age = holder.age(now)
        since = f", for {console.short_age(age)}" if age is not None else ""
        return LockBusy(
            f"another deploy is in progress: release {self.release} is locked by {holder.description}{since}",
            holder,
            hint="wait for it (`lain wait` follows the release); a lock whose holder died is free "
            f"{LEASE_SECONDS}s after its last renewal",
        )

    def _renew_loop(self) -> None:
        while not self._stop.wait(RENEW_EVERY):
            try:
                self._renew()
            except ClusterError:
                continue  # the next renewal tries again; the lease outlives one miss

    def _renew(self) -> None:
        current = self.kubectl.get_json("lease", lease_name(self.release))
        if current is None or holder_of(current).identity != self.identity:
            self.lost.set()
            self._stop.set()
            return
        spec = dict(current.get("spec") or {})
        now = self.clock()
        spec["renewTime"] = micro_time(now)
        self.kubectl.replace({**current, "spec": spec})
        self._renewed_at = now

    def release_lock(self) -> None:
        """Delete the Lease if this lain still holds it (never another's); idempotent."""
        with self._release_mutex:
            self._stop.set()
            if self._renewer is not None:
                self._renewer.join(timeout=5)
            if not self._held:
                return
            self._held = False
            try:
                if not self._surely_mine():
                    current = self.kubectl.get_json("lease", lease_name(self.release))
                    if current is None or holder_of(current).identity != self.identity:
                        return
                self.kubectl.delete("lease", lease_name(self.release))
            except ClusterError:
                pass  # it expires on its own LEASE_SECONDS after the last renewal

    def _surely_mine(self) -> bool:
        """Renewed recently enough that nobody can have taken the Lease over since
        (they may only once it is LEASE_SECONDS old): no need to read it again."""
        if self.lost.is_set() or self._renewed_at is None:
            return False
        return (self.clock() - self._renewed_at).total_seconds() < LEASE_SECONDS / 2

    def release_in_background(self, after: Callable[[], None] | None = None) -> None:
        """Release the lock from a thread (after ``after``), while lain does read-only work."""

        def run() -> None:
            if after is not None:
                after()
            self.release_lock()

        self._releaser = threading.Thread(target=run, name="lock-release", daemon=True)
        self._releaser.start()

    def __exit__(self, *exc: object) -> None:
        if self._releaser is not None:
            self._releaser.join(timeout=30)
        self.release_lock()
