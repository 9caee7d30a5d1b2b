"""What a release command will do, decided before anything runs (pure).

From the app's context and the release's history, each ``plan_*`` function
says which helm operation runs, with which description and values, which
images change, which revision runs now, which one a rollback goes to and
why; :func:`lock_verdict` says whether helm's own pending state lets the
command go ahead.  Nothing here calls helm or kubectl: tests/test_release_plan.py
checks every decision exactly.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lain_cli import release
from lain_cli.errors import OperationFailed, UsageError
from lain_cli.release import Revision


@dataclass
class Images:
    """What a release command changes, for notices: images before and after."""

    action: str
    old_image: str = ""
    new_image: str = ""
    old_tag: str = ""
    started: float = field(default_factory=time.monotonic)


def tag_of(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return last.partition(":")[2]


@dataclass(frozen=True)
class ReleasePlan:
    """One helm operation and everything the messages and notices need about it."""

    action: str  # deploy | update-image | rollback
    release: str
    images: Images
    description: str
    previous_good: int | None  # the revision running now, if it rolled out
    values: dict[str, Any] | None = None  # for an upgrade: the whole values document
    target: int | None = None  # for a rollback: the revision to go back to
    target_note: str = ""  # why that one ("the last one that rolled out")
    skipped: tuple[int, ...] = ()  # revisions a rollback passed over (their rollout failed)
    changes: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)  # update-image: (proc, old, new)

    @property
    def helm_verb(self) -> str:
        return {"deploy": "upgrade --install", "update-image": "upgrade"}.get(self.action, "rollback")


def _running(history: Sequence[Revision]) -> tuple[Revision | None, release.Stamp | None]:
    previous = release.last_deployed(history)
    return previous, (release.stamp_of(history, previous) if previous else None)


def plan_deploy(release_name: str, user: str, new_image: str, chart_values: Mapping[str, Any],
                history: Sequence[Revision]) -> ReleasePlan:
    """``lain deploy``: the whole values document, the main image, who."""
    previous, stamp = _running(history)
    images = release.flat_images(chart_values["lain"]["images"])
    old_image = stamp.image if stamp else ""
    return ReleasePlan(
        action="deploy",
        release=release_name,
        images=Images("deploy", old_image, new_image, tag_of(old_image)),
        description=release.describe("deploy", user, images, new_image,
                                     adopted=bool(chart_values["lain"].get("adopt"))),
        previous_good=previous.number if previous else None,
        values=dict(chart_values),
    )


def live_objects_matter(history: Sequence[Revision]) -> bool:
    """Whether a deploy must read the release's live objects before it renders (a lain4
    release to take over, lain_cli.takeover): not when the newest revision that helm
    applied is a lain deploy or update-image rendered with lain's own selectors, since
    selectors cannot change on the cluster after that (they are immutable).  A first
    install, a rollback, a lain4 revision or a kept lain4 selector: read them."""
    for revision in reversed(history):
        if revision.status not in ("deployed", "superseded"):
            continue  # a failed or pending revision may not have been applied
        stamp = revision.stamp
        return stamp is None or stamp.action not in ("deploy", "update-image") or stamp.adopted
    return True


def plan_update_image(release_name: str, user: str, procs: Sequence[str], sections: Mapping[str, str],
                      new_images: Mapping[str, str], deployed_values: Mapping[str, Any],
                      history: Sequence[Revision]) -> ReleasePlan:
    """``lain update-image PROC...``: the deployed values with only those procs' images changed."""
    previous = release.last_deployed(history)
    if previous is None:
        raise OperationFailed(f"release {release_name} has no deployed revision to update",
                              hint="run `lain deploy` first")
    values = copy.deepcopy(dict(deployed_values))
    images = (values.get("lain") or {}).get("images") or {}
    changes = []
    for proc in procs:
        section = sections[proc]
        if proc not in (images.get(section) or {}):
            raise UsageError(f"proc {proc} is not part of the deployed release {release_name}",
                             hint="a new proc needs a full `lain deploy`")
        changes.append((proc, str(images[section][proc]), new_images[proc]))
        images[section][proc] = new_images[proc]
    return ReleasePlan(
        action="update-image",
        release=release_name,
        images=Images(
            "update-image",
            ", ".join(f"{p}={old}" for p, old, _ in changes),
            ", ".join(f"{p}={new}" for p, _, new in changes),
            tag_of(changes[0][1]) if changes else "",
        ),
        description=release.describe("update-image", user, release.flat_images(images),
                                     adopted=bool((values.get("lain") or {}).get("adopt"))),
        previous_good=previous.number,
        values=values,
        changes=tuple(changes),
    )


def plan_rollback(release_name: str, user: str, history: Sequence[Revision], revision: int | None,
                  *, before: int | None = None) -> ReleasePlan:
    """``lain rollback [N]``: without N, the newest earlier revision that rolled out.

    ``before`` (``--rollback-on-failure``) is the revision that just failed.
    """
    if not history:
        raise OperationFailed(f"release {release_name} is not installed")
    head = history[-1]
    if revision is None:
        target = release.rollback_target(history, before)
        if target is None:
            raise OperationFailed(
                f"release {release_name} has no revision before {before or head.number} that rolled out",
                hint="`lain history` lists the revisions and their rollouts",
            )
        note = release.why_target(history, target)
        skipped = tuple(r.number for r in release.skipped_for_rollback(history, target, before))
    else:
        found = [r for r in history if r.number == revision]
        if not found:
            known = ", ".join(str(r.number) for r in history)
            raise UsageError(f"release {release_name} has no revision {revision}", hint=f"revisions: {known}")
        target = found[0]
        if target.number == head.number and head.status == "deployed":
            raise UsageError(
                f"revision {revision} is the current revision of release {release_name}: nothing to roll back",
                hint="`lain history` lists the revisions; `lain deploy` re-applies the current one",
            )
        verdict = target.verdict
        note = f"its rollout {verdict.label}" if verdict is not None and verdict.failed else "as asked"
        skipped = ()
    target_stamp = release.stamp_of(history, target)
    current_stamp = release.stamp_of(history, release.last_deployed(history) or head)
    new_image = target_stamp.image if target_stamp else ""
    images = dict(target_stamp.images) if target_stamp else {}
    return ReleasePlan(
        action="rollback",
        release=release_name,
        images=Images("rollback", current_stamp.image if current_stamp else "", new_image, ""),
        description=release.describe("rollback", user, images, new_image or None, rollback_to=target.number),
        previous_good=None,
        target=target.number,
        target_note=note,
        skipped=skipped,
    )


@dataclass(frozen=True)
class LockVerdict:
    """What helm's pending state means for this command: go ahead, unlock first, or refuse."""

    action: str  # proceed | unlock | refuse
    message: str = ""
    hint: str | None = None
    revision: int | None = None


def lock_verdict(history: Sequence[Revision], now: datetime, *, timeout: float, force_unlock: bool,
                 even_if_alive: bool, pending_user: str, release_name: str) -> LockVerdict:
    """Decide on a release left ``pending-*`` (lain holds the release's lock by now).

    No other lain is working on the release (it would hold the lock), so a
    pending revision is a dead lain's, or a helm run outside lain.  A revision
    lain made (``pending_user``, from its values) whose lain is gone may be
    unlocked at once; any other is left alone while younger than the timeout,
    unless ``even_if_alive``.
    """
    lock = release.detect_lock(history, now, stale_after=timeout)
    if lock is None:
        return LockVerdict("proceed")
    who = pending_user or "someone"
    age = release.humanize_age(lock.age(now))
    where = f"release {release_name} is {lock.status} (revision {lock.revision}), started by {who} {age} ago"
    target = release.rollback_target(history)
    how = f"marks revision {lock.revision} failed" + (f", rolls back to revision {target.number}" if target else "")
    if not force_unlock:
        if not lock.stuck:
            return LockVerdict(
                "refuse", f"another deploy is in progress: {where}",
                hint="wait for it (`lain wait`); if that deploy was killed and nothing runs any more, "
                f"`lain deploy --force-unlock` {how} and deploys again",
                revision=lock.revision,
            )
        return LockVerdict(
            "refuse", f"{where}: it is stuck (older than the {timeout:g}s deploy timeout)",
            hint=f"`lain deploy --force-unlock` {how} and deploys again", revision=lock.revision,
        )
    if lock.stuck or pending_user or even_if_alive:
        return LockVerdict("unlock", where, revision=lock.revision)
    return LockVerdict(
        "refuse",
        f"{where}, not by lain: the helm running it may still be alive",
        hint=f"wait until it is older than the {timeout:g}s timeout, or, if you know that helm is gone, "
        "add --even-if-alive",
        revision=lock.revision,
    )
