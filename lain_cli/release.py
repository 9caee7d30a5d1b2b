"""The state of a release as helm records it: history, good revisions, locks.

lain writes a description on every revision it makes (``--description``), e.g.
``lain deploy by alice, image registry/app:3f2a9c1; worker=registry/app:1d0c7e2``,
so ``lain history`` can say who deployed which image to which proc from one
``helm history`` call.  Everything here but the three small runners at the end
is pure and tested on recorded helm output.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lain_cli.errors import stderr_tail

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
GOOD = ("deployed", "superseded")
IMAGE_KINDS = ("deployments", "statefulSets", "cronjobs", "jobs", "tests")

_DESCRIPTION_RE = re.compile(
    r"^lain (?P<action>[a-z-]+) by (?P<user>.*?), image (?P<image>\S+)(?:; (?P<others>.*))?$"
)
_ROLLBACK_RE = re.compile(r"^Rollback to (\d+)")
_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


@dataclass(frozen=True)
class Stamp:
    """What lain recorded in a revision's description."""

    action: str
    user: str
    image: str
    images: dict[str, str] = field(default_factory=dict)

    def image_of(self, proc: str) -> str:
        return self.images.get(proc, self.image)


@dataclass(frozen=True)
class Revision:
    number: int
    status: str
    updated: datetime | None
    description: str
    chart: str = ""

    @property
    def stamp(self) -> Stamp | None:
        return parse_description(self.description)

    @property
    def rollback_to(self) -> int | None:
        match = _ROLLBACK_RE.match(self.description)
        return int(match.group(1)) if match else None

    @property
    def good(self) -> bool:
        return self.status in GOOD

    @property
    def pending(self) -> bool:
        return self.status in PENDING


def flat_images(images: Mapping[str, Any]) -> dict[str, str]:
    """``lain.images`` ({kind: {proc: image}}) as {proc: image}; the first kind wins a name clash."""
    flat: dict[str, str] = {}
    for kind in IMAGE_KINDS:
        for proc, image in (images.get(kind) or {}).items():
            flat.setdefault(str(proc), str(image))
    return flat


def main_image(images: Mapping[str, str]) -> str:
    """The image most procs run (ties: alphabetical), "" when there are none."""
    if not images:
        return ""
    counts = Counter(images.values())
    return sorted(counts, key=lambda image: (-counts[image], image))[0]


def describe(action: str, user: str, images: Mapping[str, str], image: str | None = None) -> str:
    """The description lain gives a revision: who, the main image, then the procs that differ."""
    image = image or main_image(images) or "-"
    user = " ".join(user.split()) or "unknown"
    others = ", ".join(f"{p}={i}" for p, i in sorted(images.items()) if i != image)
    text = f"lain {action} by {user}, image {image}"
    return f"{text}; {others}" if others else text


def parse_description(text: str) -> Stamp | None:
    match = _DESCRIPTION_RE.match(text or "")
    if not match:
        return None
    others: dict[str, str] = {}
    for part in (match.group("others") or "").split(", "):
        proc, sep, image = part.partition("=")
        if sep and proc and image:
            others[proc] = image
    return Stamp(match.group("action"), match.group("user"), match.group("image"), others)


def parse_time(text: str) -> datetime | None:
    """helm's timestamps (nanosecond precision, any offset) as aware datetimes."""
    match = _TIME_RE.match(text or "")
    if not match:
        return None
    base, frac, zone = match.groups()
    micro = (frac or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        return datetime.fromisoformat(f"{base}.{micro}{zone}")
    except ValueError:
        return None


def parse_history(text: str) -> list[Revision]:
    """``helm history -o json`` as revisions, oldest first."""
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        return []
    revisions = []
    for row in rows or []:
        if not isinstance(row, dict) or "revision" not in row:
            continue
        revisions.append(
            Revision(
                number=int(row["revision"]),
                status=str(row.get("status", "unknown")),
                updated=parse_time(str(row.get("updated", ""))),
                description=str(row.get("description", "")),
                chart=str(row.get("chart", "")),
            )
        )
    return sorted(revisions, key=lambda r: r.number)


def current(history: Sequence[Revision]) -> Revision | None:
    return history[-1] if history else None


def rollback_target(history: Sequence[Revision], before: int | None = None) -> Revision | None:
    """The newest revision before ``before`` (default: the current one) that was deployed or superseded."""
    if not history:
        return None
    limit = history[-1].number if before is None else before
    good = [r for r in history if r.number < limit and r.good]
    return good[-1] if good else None


def last_deployed(history: Sequence[Revision]) -> Revision | None:
    """The revision running now: the newest ``deployed`` one (else the newest good one)."""
    deployed = [r for r in history if r.status == "deployed"]
    if deployed:
        return deployed[-1]
    good = [r for r in history if r.good]
    return good[-1] if good else None


def stamp_of(history: Sequence[Revision], revision: Revision) -> Stamp | None:
    """The stamp describing what ``revision`` runs; a rollback inherits its target's images."""
    stamp = revision.stamp
    seen = set()
    target = revision
    while stamp is None and target.rollback_to is not None and target.number not in seen:
        seen.add(target.number)
        found = [r for r in history if r.number == target.rollback_to]
        if not found:
            return None
        target = found[0]
        stamp = target.stamp
        if stamp is not None:
            return Stamp("rollback", "", stamp.image, dict(stamp.images))
    return stamp


@dataclass(frozen=True)
class Lock:
    """A release left in a pending-* state."""

    revision: int
    status: str
    since: datetime | None
    user: str
    stuck: bool

    def age(self, now: datetime) -> float | None:
        return (now - self.since).total_seconds() if self.since else None


def detect_lock(history: Sequence[Revision], now: datetime, stale_after: float, user: str = "") -> Lock | None:
    """The pending revision at the head of the history, if any.

    It counts as ``stuck`` once older than ``stale_after`` seconds (the deploy
    timeout): a live helm would have given up by then.
    """
    head = current(history)
    if head is None or not head.pending:
        return None
    age = (now - head.updated).total_seconds() if head.updated else None
    stuck = age is None or age > stale_after
    return Lock(head.number, head.status, head.updated, user, stuck)


def humanize_age(seconds: float | None) -> str:
    """How long ago, for messages: ``3s``, ``5m`` ... or "an unknown time"."""
    from lain_cli import console

    return console.short_age(seconds, unknown="an unknown time")


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- helm's storage Secret, for --force-unlock of a release with nothing to roll back to --


def storage_secret_name(release: str, revision: int) -> str:
    return f"sh.helm.release.v1.{release}.v{revision}"


def decode_release(secret: Mapping[str, Any]) -> dict[str, Any]:
    """The release document inside helm's storage Secret (base64 twice, then gzip)."""
    raw = base64.b64decode(secret["data"]["release"])
    raw = base64.b64decode(raw)
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def encode_release(document: Mapping[str, Any]) -> str:
    """The inverse of :func:`decode_release`: the Secret's ``data.release`` value."""
    packed = gzip.compress(json.dumps(document, separators=(",", ":")).encode())
    return base64.b64encode(base64.b64encode(packed)).decode()


def mark_failed(secret: Mapping[str, Any], note: str) -> dict[str, Any]:
    """A copy of a pending release's storage Secret, marked ``failed`` as helm itself would."""
    document = decode_release(secret)
    info = document.setdefault("info", {})
    info["status"] = "failed"
    info["description"] = note
    updated = json.loads(json.dumps(secret))
    updated["data"]["release"] = encode_release(document)
    updated.setdefault("metadata", {}).setdefault("labels", {})["status"] = "failed"
    for key in ("managedFields", "creationTimestamp", "uid", "generation"):
        updated["metadata"].pop(key, None)
    return updated


def release_user(values: Mapping[str, Any]) -> str:
    """Who a revision was deployed by, from the ``lain`` block of its values."""
    lain = values.get("lain") if isinstance(values, Mapping) else None
    return str((lain or {}).get("user") or "")


# -- runners: the few helm/kubectl calls that read or repair a release --------------


def _helm_tool() -> Any:
    from lain_cli import tools

    return tools.helm()


def _helm_failure(stderr: str, cluster: Any, what: str) -> Exception:
    """helm's error as the same readable ClusterError kubectl's would give."""
    from lain_cli import kube

    return kube.classify_failure(
        stderr, getattr(cluster, "name", "?"), what=f"reading the {what}", tool="helm",
        default_hint="check the cluster with `lain version`",
    )


def read_history(cluster: Any, release: str) -> list[Revision]:
    """The release's revisions, oldest first; [] when it was never installed."""
    from lain_cli import helm, proc

    tool = _helm_tool()
    argv = helm.history_argv(tool.path, tool.major, release, cluster_args=cluster.helm_args())
    result = proc.run(argv, timeout=60, check=False)
    if not result.ok:
        if helm.release_not_found(result.stderr):
            return []
        raise _helm_failure(result.stderr, cluster, f"history of release {release}")
    return parse_history(result.stdout)


def read_values(cluster: Any, release: str, revision: int | None = None) -> dict[str, Any]:
    """Every value of a revision (lain stages them all in the chart, so ``--all``)."""
    from lain_cli import helm, proc

    tool = _helm_tool()
    argv = helm.get_values_argv(tool.path, tool.major, release, cluster_args=cluster.helm_args(), revision=revision)
    result = proc.run(argv, timeout=60, check=False)
    if not result.ok:
        raise _helm_failure(result.stderr, cluster, f"values of release {release}")
    data = helm.parse_json(result.stdout, "get values")
    return data if isinstance(data, dict) else {}


def read_manifest(cluster: Any, release: str, *, hooks: bool = False) -> str:
    from lain_cli import helm, proc

    tool = _helm_tool()
    argv = helm.get_manifest_argv(tool.path, tool.major, release, cluster_args=cluster.helm_args(), hooks=hooks)
    result = proc.run(argv, timeout=60, check=False)
    if not result.ok:
        raise _helm_failure(result.stderr, cluster, f"deployed manifest of release {release}")
    return result.stdout


def who_holds(cluster: Any, release: str, revision: int) -> str:
    """Who started a pending revision: ``lain.user`` in its values ("" if unknown)."""
    from lain_cli.errors import LainError

    try:
        return release_user(read_values(cluster, release, revision))
    except LainError:
        return ""


def force_unlock(cluster: Any, release: str, history: Sequence[Revision]) -> str:
    """Take a release out of its pending-* state; returns what was done, in words.

    The pending revision is marked ``failed`` in helm's storage Secret, as helm
    itself does when an operation fails (so history stops showing it pending
    and the next ``helm upgrade`` may proceed); then, when there is a good
    revision before it, ``helm rollback`` to that one restores whatever the
    interrupted operation had half applied.
    """
    from lain_cli import helm, kube, proc
    from lain_cli.errors import ClusterError, OperationFailed

    head = current(history)
    if head is None or not head.pending:
        return "nothing to unlock"
    name = storage_secret_name(release, head.number)
    secret = kube.get_json(cluster, "secret", name)
    if secret is None:
        raise OperationFailed(
            f"cannot unlock release {release}: helm's record {name} is not a Secret",
            hint="lain supports helm's default storage (Secrets); unset HELM_DRIVER",
        )
    note = f"marked failed by lain --force-unlock (was {head.status})"
    try:
        kube.replace(cluster, mark_failed(secret, note))
    except ClusterError as exc:
        raise OperationFailed(f"cannot unlock release {release}: {exc.message}", details=exc.details) from exc
    done = f"marked revision {head.number} failed (it was {head.status})"
    target = rollback_target(history)
    if target is None:
        return done
    tool = _helm_tool()
    argv = helm.rollback_argv(tool.path, tool.major, release, target.number, cluster_args=cluster.helm_args())
    result = proc.run(argv, timeout=600, check=False)
    if not result.ok:
        raise OperationFailed(
            f"{done}, but the rollback to revision {target.number} failed",
            details=stderr_tail(result.stderr),
            hint=f"run `lain rollback --revision {target.number}`",
        )
    return f"{done} and rolled back to revision {target.number}"


def history_rows(history: Sequence[Revision], procs: Sequence[str]) -> list[dict[str, Any]]:
    """``lain history`` rows, newest first: revision, time, who, image per proc, status."""
    rows = []
    for revision in reversed(history):
        stamp = stamp_of(history, revision)
        rollback_to = revision.rollback_to
        who = stamp.user if stamp and stamp.user else ""
        action = stamp.action if stamp else ("rollback" if rollback_to else "")
        rows.append(
            {
                "revision": revision.number,
                "updated": revision.updated.isoformat() if revision.updated else "",
                "status": revision.status,
                "action": action,
                "user": who,
                "image": stamp.image if stamp else "",
                "images": {p: stamp.image_of(p) for p in procs} if stamp else {},
                "rollbackTo": rollback_to,
                "description": revision.description,
            }
        )
    return rows


def format_history(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The rows as an aligned table; procs whose image differs from the main one are listed."""
    table = [("REVISION", "UPDATED", "STATUS", "BY", "IMAGE", "NOTE")]
    for row in rows:
        updated = parse_time(row["updated"])
        when = updated.astimezone().strftime("%Y-%m-%d %H:%M:%S") if updated else "-"
        image = row["image"] or "-"
        others = [f"{p}={i.rsplit(':', 1)[-1]}" for p, i in row["images"].items() if i != row["image"]]
        if others:
            image += f" ({', '.join(others)})"
        note = row["action"]
        if row["rollbackTo"]:
            note = f"rollback to {row['rollbackTo']}"
        elif not note:
            note = row["description"]
        table.append((str(row["revision"]), when, row["status"], row["user"] or "-", image, note))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip() for r in table]
