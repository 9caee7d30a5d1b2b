"""The state of a release as helm records it: history, good revisions, locks.

lain writes a description on every revision it makes (``--description``), e.g.
``lain deploy by alice, image registry/app:3f2a9c1; worker=registry/app:1d0c7e2``,
so ``lain history`` can say who deployed which image to which proc from one
``helm history`` call.  Everything here but the three small runners at the end
is pure and tested on recorded helm output.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lain_cli.errors import stderr_tail

if TYPE_CHECKING:
    from lain_cli.executors import HelmExecutor, KubectlExecutor

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
GOOD = ("deployed", "superseded")
IMAGE_KINDS = ("deployments", "statefulSets", "cronjobs", "jobs", "tests")

_DESCRIPTION_RE = re.compile(
    r"^lain (?P<action>[a-z-]+)(?: to (?P<to>\d+))? by (?P<user>.*?), image (?P<image>\S+)"
    r"(?:; (?P<others>.*?))?(?: \| (?P<verdict>.*))?$"
)
VERDICT_SEPARATOR = " | "
ADOPTED_NOTE = "lain4 selectors kept"
MAX_VERDICT_TEXT = 200
_ROLLBACK_RE = re.compile(r"^Rollback to (\d+)")
_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


@dataclass(frozen=True)
class Verdict:
    """How lain judged a revision's rollout, kept in the revision's description.

    ``kind`` is one of :data:`VERDICT_KINDS`; ``text`` what the description says
    after the separator (``rollout failed: web CrashLoopBackOff ...``).
    """

    kind: str
    text: str

    @property
    def failed(self) -> bool:
        return self.kind in FAILED_VERDICTS

    @property
    def label(self) -> str:
        """A short word for tables: ``ready``, ``failed``, ``timed out``, ``hook failed``..."""
        return self.kind.replace("-", " ")

    @property
    def detail(self) -> str:
        """The reason after the kind, "" when there is none."""
        return self.text.partition(": ")[2]


# description prefix -> verdict kind
VERDICT_KINDS = {
    "rollout ready": "ready",
    "rollout failed": "failed",
    "rollout timed out": "timed-out",
    "hook failed": "hook-failed",
    "helm failed": "helm-failed",
    "rollout unconfirmed": "unconfirmed",
    "not tracked": "not-tracked",
}
FAILED_VERDICTS = frozenset({"failed", "timed-out", "hook-failed", "helm-failed"})


def verdict_text(kind: str, detail: str = "") -> str:
    """The description's verdict part: ``rollout failed: <detail>``, one line, bounded."""
    prefix = next(p for p, k in VERDICT_KINDS.items() if k == kind)
    detail = " ".join(detail.split())
    text = f"{prefix}: {detail}" if detail else prefix
    return text if len(text) <= MAX_VERDICT_TEXT else text[: MAX_VERDICT_TEXT - 3] + "..."


def parse_verdict(text: str | None) -> Verdict | None:
    if not text:
        return None
    for prefix, kind in VERDICT_KINDS.items():
        if text == prefix or text.startswith(prefix + ":") or text.startswith(prefix + " "):
            return Verdict(kind, text)
    return None


@dataclass(frozen=True)
class Stamp:
    """What lain recorded in a revision's description."""

    action: str
    user: str
    image: str
    images: dict[str, str] = field(default_factory=dict)
    rollback_to: int | None = None
    verdict: Verdict | None = None
    adopted: bool = False  # rendered with a lain4 release's selectors kept

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
        if match:
            return int(match.group(1))
        stamp = self.stamp
        return stamp.rollback_to if stamp else None

    @property
    def verdict(self) -> Verdict | None:
        """lain's verdict on this revision's rollout, when lain recorded one."""
        stamp = self.stamp  # helm's own descriptions ("Rollback to N") carry none
        return stamp.verdict if stamp is not None else None

    @property
    def good(self) -> bool:
        """helm recorded it as applied (deployed or superseded)."""
        return self.status in GOOD

    @property
    def rolled_out(self) -> bool:
        """Good, and lain did not see its rollout fail: a revision worth going back to."""
        verdict = self.verdict
        return self.good and not (verdict is not None and verdict.failed)

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


def describe(action: str, user: str, images: Mapping[str, str], image: str | None = None, *,
             rollback_to: int | None = None, adopted: bool = False) -> str:
    """The description lain gives a revision: who, the main image, then the procs that differ.

    ``lain rollback to 7 by alice, image reg/app:3f2a9c1`` for a rollback.
    ``adopted``: the revision keeps a lain4 release's selectors (lain_cli.takeover),
    noted as ``lain4 selectors kept`` among the procs.  The rollout verdict is
    appended later with :func:`with_verdict`.
    """
    image = image or main_image(images) or "-"
    user = " ".join(user.replace("|", "/").split()) or "unknown"
    parts = [f"{p}={i}" for p, i in sorted(images.items()) if i != image]
    if adopted:
        parts.append(ADOPTED_NOTE)
    others = ", ".join(parts)
    to = f" to {rollback_to}" if rollback_to is not None else ""
    text = f"lain {action}{to} by {user}, image {image}"
    return f"{text}; {others}" if others else text


def with_verdict(description: str, verdict: str) -> str:
    """``description`` with its verdict part (see :func:`verdict_text`) set to ``verdict``."""
    base = description.split(VERDICT_SEPARATOR, 1)[0] if parse_description(description) else description
    return f"{base}{VERDICT_SEPARATOR}{verdict}"


def parse_description(text: str) -> Stamp | None:
    match = _DESCRIPTION_RE.match(text or "")
    if not match:
        return None
    others: dict[str, str] = {}
    adopted = False
    for part in (match.group("others") or "").split(", "):
        proc, sep, image = part.partition("=")
        if sep and proc and image:
            others[proc] = image
        adopted = adopted or part == ADOPTED_NOTE
    to = match.group("to")
    return Stamp(match.group("action"), match.group("user"), match.group("image"), others,
                 rollback_to=int(to) if to else None, verdict=parse_verdict(match.group("verdict")),
                 adopted=adopted)


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
    """The newest revision before ``before`` (default: the current one) worth going back to:
    deployed or superseded, and not one whose rollout lain saw fail."""
    if not history:
        return None
    limit = history[-1].number if before is None else before
    good = [r for r in history if r.number < limit and r.rolled_out]
    return good[-1] if good else None


def skipped_for_rollback(history: Sequence[Revision], target: Revision, before: int | None = None) -> list[Revision]:
    """The revisions between ``target`` and ``before`` that helm recorded as applied but
    whose rollout failed: what :func:`rollback_target` passed over, for the message."""
    limit = history[-1].number if before is None and history else (before or 0)
    return [r for r in history if target.number < r.number < limit and r.good and not r.rolled_out]


def why_target(history: Sequence[Revision], target: Revision) -> str:
    """``the last one that rolled out`` (or why else it was chosen), for messages."""
    verdict = target.verdict
    if verdict is not None and verdict.kind == "ready":
        return "the last one that rolled out"
    return "the last one helm recorded as deployed"


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
    if stamp is not None:
        return stamp
    seen = set()
    target = revision
    while target.rollback_to is not None and target.number not in seen:
        seen.add(target.number)
        found = [r for r in history if r.number == target.rollback_to]
        if not found:
            return None
        target = found[0]
        stamp = target.stamp
        if stamp is not None:
            return Stamp("rollback", "", stamp.image, dict(stamp.images), rollback_to=revision.rollback_to)
    return None


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
    import base64
    import gzip  # (with zlib and struct: only where a record is read or written)

    raw = base64.b64decode(secret["data"]["release"])
    raw = base64.b64decode(raw)
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def encode_release(document: Mapping[str, Any]) -> str:
    """The inverse of :func:`decode_release`: the Secret's ``data.release`` value."""
    import base64
    import gzip

    packed = gzip.compress(json.dumps(document, separators=(",", ":")).encode())
    return base64.b64encode(base64.b64encode(packed)).decode()


def _rewritten(secret: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    updated = json.loads(json.dumps(secret))
    updated["data"]["release"] = encode_release(document)
    for key in ("managedFields", "creationTimestamp", "uid", "generation"):
        updated.setdefault("metadata", {}).pop(key, None)
    return updated


def mark_failed(secret: Mapping[str, Any], note: str) -> dict[str, Any]:
    """A copy of a pending release's storage Secret, marked ``failed`` as helm itself would."""
    document = decode_release(secret)
    info = document.setdefault("info", {})
    info["status"] = "failed"
    info["description"] = note
    updated = _rewritten(secret, document)
    updated["metadata"].setdefault("labels", {})["status"] = "failed"
    return updated


def with_description(secret: Mapping[str, Any], description: str) -> dict[str, Any]:
    """A copy of a release's storage Secret whose recorded description is ``description``.

    helm keeps the description with the revision through every later change
    (superseded, rolled back to), and ``helm history`` prints it: that is where
    lain keeps its verdict on the revision's rollout.
    """
    document = decode_release(secret)
    document.setdefault("info", {})["description"] = description
    return _rewritten(secret, document)


def release_user(values: Mapping[str, Any]) -> str:
    """Who a revision was deployed by, from the ``lain`` block of its values."""
    lain = values.get("lain") if isinstance(values, Mapping) else None
    return str((lain or {}).get("user") or "")


# -- the few writes to helm's records, through the executors -----------------------


def record_description(kubectl: KubectlExecutor, release: str, revision: int, description: str,
                       known: Mapping[str, Any] | None = None) -> None:
    """Set revision ``revision``'s description in helm's storage Secret.

    ``known`` is the Secret as read earlier (while the rollout was tracked), to
    save a read; a write that meets a change since (helm marking the revision
    superseded) is retried on a fresh read, so the verdict is never lost to it.
    """
    from lain_cli.kube import Conflict

    name = storage_secret_name(release, revision)
    for attempt in range(3):
        secret = known if known is not None and attempt == 0 else kubectl.get_json("secret", name)
        if secret is None:
            return  # trimmed by --history-max meanwhile: nothing to record on
        if decode_release(secret).get("info", {}).get("description") == description:
            return
        try:
            kubectl.replace(with_description(secret, description))
            return
        except Conflict:
            if attempt == 2:
                raise


def force_unlock(helm: HelmExecutor, kubectl: KubectlExecutor, release: str, history: Sequence[Revision],
                 *, timeout: float) -> str:
    """Take a release out of its pending-* state; returns what was done, in words.

    The pending revision is marked ``failed`` in helm's storage Secret, as helm
    itself does when an operation fails (so history stops showing it pending
    and the next ``helm upgrade`` may proceed); then, when there is a good
    revision before it, ``helm rollback`` to that one restores whatever the
    interrupted operation had half applied.
    """
    import threading

    from lain_cli.errors import ClusterError, OperationFailed

    head = current(history)
    if head is None or not head.pending:
        return "nothing to unlock"
    name = storage_secret_name(release, head.number)
    secret = kubectl.get_json("secret", name)
    if secret is None:
        raise OperationFailed(
            f"cannot unlock release {release}: helm's record {name} is not a Secret",
            hint="lain supports helm's default storage (Secrets); unset HELM_DRIVER",
        )
    note = f"marked failed by lain --force-unlock (was {head.status})"
    try:
        kubectl.replace(mark_failed(secret, note))
    except ClusterError as exc:
        raise OperationFailed(f"cannot unlock release {release}: {exc.message}", details=exc.details) from exc
    done = f"marked revision {head.number} failed (it was {head.status})"
    target = rollback_target(history)
    if target is None:
        return done
    run = helm.upgrade(helm.rollback_argv(release, target.number, timeout=timeout), cancel=threading.Event(),
                       timeout=timeout)
    if not run.ok:
        raise OperationFailed(
            f"{done}, but the rollback to revision {target.number} failed",
            details=stderr_tail(run.output),
            hint=f"run `lain rollback {target.number}`",
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
        verdict = revision.verdict
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
                "rollout": verdict.kind if verdict else None,
                "rolloutDetail": verdict.detail if verdict else "",
                "description": revision.description,
            }
        )
    return rows


def format_history(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The rows as an aligned table; procs whose image differs from the main one are listed."""
    table = [("REVISION", "UPDATED", "STATUS", "ROLLOUT", "BY", "IMAGE", "NOTE")]
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
        if row.get("rolloutDetail"):
            note = f"{note}: {row['rolloutDetail']}" if note else row["rolloutDetail"]
        note = " ".join(note.split())  # one line per revision, whatever helm wrote
        rollout = (row.get("rollout") or "-").replace("-", " ") if row.get("rollout") else "-"
        table.append((str(row["revision"]), when, row["status"], rollout, row["user"] or "-", image, note))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip() for r in table]
