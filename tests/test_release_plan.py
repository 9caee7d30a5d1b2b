"""The release plan (pure): what deploy, update-image and rollback will do, and
what helm's pending state means for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lain_cli import release
from lain_cli.errors import OperationFailed, UsageError
from lain_cli.release import Revision
from lain_cli.release_plan import (
    live_objects_matter,
    lock_verdict,
    plan_deploy,
    plan_rollback,
    plan_update_image,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
R = "reg/dummy"


def rev(number: int, status: str, description: str, age: float = 3600) -> Revision:
    return Revision(number, status, NOW - timedelta(seconds=age), description)


def lain(action: str, tag: str, verdict: str = "rollout ready", **others: str) -> str:
    images = {"web": f"{R}:{tag}", "worker": f"{R}:{tag}", **{p: f"{R}:{t}" for p, t in others.items()}}
    return release.with_verdict(release.describe(action, "alice", images), verdict)


HISTORY = [
    rev(1, "superseded", lain("deploy", "aaa")),
    rev(2, "superseded", lain("deploy", "bbb", "rollout failed: web ErrImagePull")),
    rev(3, "failed", lain("deploy", "ccc", "hook failed: job dummy-migrate BackoffLimitExceeded")),
    rev(4, "deployed", lain("deploy", "ddd", "rollout timed out: web 1/2 ready")),
]


def chart_values(tag: str) -> dict:
    return {"lain": {"images": {"deployments": {"web": f"{R}:{tag}", "worker": f"{R}:{tag}"}}}}


def test_plan_deploy_names_the_running_images_and_the_description() -> None:
    plan = plan_deploy("dummy", "alice", f"{R}:eee", chart_values("eee"), HISTORY)
    assert (plan.action, plan.helm_verb, plan.previous_good) == ("deploy", "upgrade --install", 4)
    assert (plan.images.old_image, plan.images.new_image, plan.images.old_tag) == (f"{R}:ddd", f"{R}:eee", "ddd")
    assert plan.description == f"lain deploy by alice, image {R}:eee"
    assert plan.values == chart_values("eee")


def test_plan_deploy_that_keeps_lain4_selectors_says_so_in_the_description() -> None:
    values = chart_values("eee")
    values["lain"]["adopt"] = {"selectors": {"web": {"app.kubernetes.io/name": "dummy"}}}
    plan = plan_deploy("dummy", "alice", f"{R}:eee", values, HISTORY)
    assert plan.description == f"lain deploy by alice, image {R}:eee; lain4 selectors kept"
    stamp = release.parse_description(release.with_verdict(plan.description, "rollout ready"))
    assert stamp is not None and stamp.adopted and stamp.images == {}
    assert stamp.verdict is not None and stamp.verdict.kind == "ready"


ADOPTED = release.describe("deploy", "alice", {"web": f"{R}:a", "worker": f"{R}:b"}, f"{R}:a", adopted=True)


@pytest.mark.parametrize(("history", "matter"), [
    ([], True),  # a first install: a lain4 release may be there under that name
    ([rev(1, "deployed", "Install complete")], True),  # lain4's (helm's own words)
    ([rev(1, "superseded", "Install complete"), rev(2, "deployed", lain("deploy", "aaa"))], False),
    ([rev(1, "deployed", lain("update-image", "aaa"))], False),
    ([rev(1, "deployed", ADOPTED)], True),  # lain4 selectors still on the cluster
    ([rev(1, "deployed", "Install complete"), rev(2, "failed", lain("deploy", "aaa"))], True),  # never applied
    ([rev(1, "superseded", lain("deploy", "aaa")), rev(2, "pending-upgrade", lain("deploy", "bbb"))], False),
    ([rev(1, "superseded", "Install complete"), rev(2, "deployed", lain("rollback", "aaa"))], True),
])
def test_live_objects_matter_unless_lain_applied_its_own_selectors(history: list[Revision], matter: bool) -> None:
    assert live_objects_matter(history) is matter


def test_plan_deploy_of_a_new_release() -> None:
    plan = plan_deploy("dummy", "alice", f"{R}:aaa", chart_values("aaa"), [])
    assert (plan.previous_good, plan.images.old_image, plan.images.old_tag) == (None, "", "")


def test_plan_update_image_changes_only_the_named_procs() -> None:
    deployed = {"lain": {"images": {"deployments": {"web": f"{R}:ddd", "worker": f"{R}:ddd"}}}, "x": 1}
    plan = plan_update_image("dummy", "alice", ["worker"], {"web": "deployments", "worker": "deployments"},
                             {"worker": f"{R}:eee"}, deployed, HISTORY)
    assert plan.changes == (("worker", f"{R}:ddd", f"{R}:eee"),)
    assert plan.values is not None and plan.values["lain"]["images"]["deployments"] == {
        "web": f"{R}:ddd", "worker": f"{R}:eee"}
    assert deployed["lain"]["images"]["deployments"]["worker"] == f"{R}:ddd"  # not changed in place
    assert plan.description == f"lain update-image by alice, image {R}:ddd; worker={R}:eee"
    with pytest.raises(UsageError, match="not part of the deployed release"):
        plan_update_image("dummy", "alice", ["cron"], {"cron": "cronjobs"}, {"cron": "x"}, deployed, HISTORY)


def test_plan_rollback_goes_past_every_revision_whose_rollout_failed() -> None:
    plan = plan_rollback("dummy", "bob", HISTORY, None)
    assert (plan.target, plan.target_note, plan.skipped) == (1, "the last one that rolled out", (2,))
    assert plan.description == f"lain rollback to 1 by bob, image {R}:aaa"
    assert (plan.images.old_image, plan.images.new_image) == (f"{R}:ddd", f"{R}:aaa")


def test_plan_rollback_to_a_named_revision_says_if_its_rollout_failed() -> None:
    assert plan_rollback("dummy", "bob", HISTORY, 2).target_note == "its rollout failed"
    assert plan_rollback("dummy", "bob", HISTORY, 1).target_note == "as asked"
    with pytest.raises(UsageError, match="has no revision 9"):
        plan_rollback("dummy", "bob", HISTORY, 9)
    with pytest.raises(UsageError, match="revision 4 is the current revision of release dummy: nothing to roll back"):
        plan_rollback("dummy", "bob", HISTORY, 4)


def test_plan_rollback_without_verdicts_uses_helms_statuses() -> None:
    history = [rev(1, "superseded", "Install complete"), rev(2, "deployed", "Upgrade complete")]
    plan = plan_rollback("dummy", "bob", history, None)
    assert (plan.target, plan.target_note) == (1, "the last one helm recorded as deployed")


def test_plan_rollback_with_nothing_to_go_back_to() -> None:
    with pytest.raises(OperationFailed, match="no revision before 2 that rolled out"):
        plan_rollback("dummy", "bob", HISTORY[1:2] + [rev(5, "deployed", lain("deploy", "x"))], None, before=2)
    with pytest.raises(OperationFailed, match="not installed"):
        plan_rollback("dummy", "bob", [], None)


def pending(age: float, description: str = "lain deploy by bob, image x") -> list[Revision]:
    return [rev(1, "deployed", lain("deploy", "aaa")), rev(2, "pending-upgrade", description, age)]


@pytest.mark.parametrize(("history", "force", "alive", "user", "action", "words"), [
    (HISTORY, False, False, "", "proceed", ""),
    (pending(5), False, False, "bob", "refuse", "another deploy is in progress: release dummy is pending-upgrade "
     "(revision 2), started by bob 5s ago"),
    (pending(900), False, False, "bob", "refuse", "it is stuck (older than the 300s deploy timeout)"),
    (pending(5), True, False, "bob", "unlock", ""),  # lain's, and lain holds the lock: its lain is gone
    (pending(5, "Upgrade"), True, False, "", "refuse", "not by lain: the helm running it may still be alive"),
    (pending(5, "Upgrade"), True, True, "", "unlock", ""),
    (pending(900, "Upgrade"), True, False, "", "unlock", ""),
])
def test_lock_verdict(history: list[Revision], force: bool, alive: bool, user: str, action: str, words: str) -> None:
    verdict = lock_verdict(history, NOW, timeout=300, force_unlock=force, even_if_alive=alive, pending_user=user,
                           release_name="dummy")
    assert verdict.action == action
    assert words in verdict.message
