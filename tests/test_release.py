"""Release state from recorded helm output: history, descriptions, locks, storage Secrets."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from lain_cli import release

# `helm history -o json` as helm 3.19 and 4.2 print it (same shape).
HISTORY = json.dumps(
    [
        {"revision": 1, "updated": "2026-11-25T01:00:00.123456789Z", "status": "superseded",
         "chart": "dummy-0.1.0", "app_version": "aaa", "description": "lain deploy by alice, image reg/dummy:aaa"},
        {"revision": 2, "updated": "2026-11-25T02:00:00.5+08:00", "status": "failed",
         "chart": "dummy-0.1.0", "app_version": "bbb", "description": "Upgrade \"dummy\" failed: boom"},
        {"revision": 3, "updated": "2026-11-25T03:00:00Z", "status": "superseded",
         "chart": "dummy-0.1.0", "app_version": "ccc",
         "description": "lain deploy by Bob Smith, image reg/dummy:ccc; worker=reg/dummy:old"},
        {"revision": 4, "updated": "2026-11-25T04:00:00Z", "status": "deployed",
         "chart": "dummy-0.1.0", "app_version": "aaa", "description": "Rollback to 1"},
    ]
)


def test_parse_history_orders_and_parses_times() -> None:
    revs = release.parse_history(HISTORY)
    assert [r.number for r in revs] == [1, 2, 3, 4]
    assert revs[0].updated == datetime(2026, 11, 25, 1, 0, 0, 123456, tzinfo=UTC)
    assert revs[1].updated is not None and revs[1].updated.utcoffset() == timedelta(hours=8)
    assert revs[3].rollback_to == 1


def test_parse_history_tolerates_garbage() -> None:
    assert release.parse_history("") == []
    assert release.parse_history("not json") == []


@pytest.mark.parametrize(
    "images, expected",
    [
        ({"web": "r/a:1", "worker": "r/a:1"}, "lain deploy by alice, image r/a:1"),
        ({"web": "r/a:1", "worker": "r/a:1", "cron": "r/a:0"}, "lain deploy by alice, image r/a:1; cron=r/a:0"),
        ({}, "lain deploy by alice, image -"),
    ],
)
def test_describe(images: dict[str, str], expected: str) -> None:
    assert release.describe("deploy", "alice", images) == expected


def test_description_round_trip() -> None:
    images = {"web": "r/a:2", "worker": "r/a:1", "cron": "r/a:1"}
    text = release.describe("update-image", "Bob  Smith", images)
    stamp = release.parse_description(text)
    assert stamp is not None
    assert (stamp.action, stamp.user, stamp.image) == ("update-image", "Bob Smith", "r/a:1")
    assert {p: stamp.image_of(p) for p in images} == images


def test_parse_description_rejects_foreign() -> None:
    assert release.parse_description("Install complete") is None
    assert release.parse_description("Upgrade complete") is None


def test_rollback_target_skips_failed_and_current() -> None:
    revs = release.parse_history(HISTORY)
    assert release.rollback_target(revs).number == 3
    assert release.rollback_target(revs, before=3).number == 1
    assert release.rollback_target(revs[:1]) is None
    assert release.last_deployed(revs).number == 4


def test_stamp_of_rollback_inherits_target_images() -> None:
    revs = release.parse_history(HISTORY)
    stamp = release.stamp_of(revs, revs[3])
    assert stamp is not None and stamp.image == "reg/dummy:aaa" and stamp.action == "rollback"
    assert release.stamp_of(revs, revs[1]) is None


def test_flat_images_and_main_image() -> None:
    images = {"deployments": {"web": "r/a:1"}, "statefulSets": {"db": "r/a:1"}, "jobs": {"init": "r/a:1"},
              "cronjobs": {"nightly": "r/a:0"}}
    flat = release.flat_images(images)
    assert flat == {"web": "r/a:1", "db": "r/a:1", "nightly": "r/a:0", "init": "r/a:1"}
    assert release.main_image(flat) == "r/a:1"


def _pending_history(status: str, age: float) -> list[release.Revision]:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    return [
        release.Revision(1, "deployed", now - timedelta(hours=1), "lain deploy by a, image r:1"),
        release.Revision(2, status, now - timedelta(seconds=age), "Preparing upgrade"),
    ]


def test_detect_lock_recent_vs_stuck() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    recent = release.detect_lock(_pending_history("pending-upgrade", 30), now, stale_after=300, user="bob")
    assert recent is not None and not recent.stuck and recent.user == "bob" and recent.revision == 2
    stuck = release.detect_lock(_pending_history("pending-upgrade", 900), now, stale_after=300)
    assert stuck is not None and stuck.stuck and stuck.age(now) == 900
    assert release.detect_lock(_pending_history("deployed", 10), now, 300) is None


def test_storage_secret_mark_failed_round_trip() -> None:
    document = {"name": "dummy", "version": 2, "info": {"status": "pending-upgrade"}, "config": {}}
    packed = base64.b64encode(gzip.compress(json.dumps(document).encode()))
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.dummy.v2", "resourceVersion": "7",
                     "labels": {"owner": "helm", "status": "pending-upgrade", "version": "2"},
                     "managedFields": [{}]},
        "data": {"release": base64.b64encode(packed).decode()},
    }
    assert release.decode_release(secret)["info"]["status"] == "pending-upgrade"
    updated = release.mark_failed(secret, "marked failed by lain")
    assert updated["metadata"]["labels"]["status"] == "failed"
    assert updated["metadata"]["resourceVersion"] == "7"
    assert "managedFields" not in updated["metadata"]
    assert release.decode_release(updated)["info"] == {"status": "failed", "description": "marked failed by lain"}
    assert secret["metadata"]["labels"]["status"] == "pending-upgrade"  # input untouched


def test_humanize_age() -> None:
    assert [release.humanize_age(s) for s in (5, 300, 7300, 200000, None)] == ["5s", "5m", "2h", "2d", "an unknown time"]


# -- the rollout verdict, kept in the revision's description --


@pytest.mark.parametrize(("text", "kind", "failed", "detail"), [
    ("rollout ready", "ready", False, ""),
    ("rollout failed: web CrashLoopBackOff", "failed", True, "web CrashLoopBackOff"),
    ("rollout timed out: web 1/2 ready", "timed-out", True, "web 1/2 ready"),
    ("hook failed: job dummy-migrate BackoffLimitExceeded", "hook-failed", True, "job dummy-migrate BackoffLimitExceeded"),
    ("helm failed: interrupted (SIGTERM)", "helm-failed", True, "interrupted (SIGTERM)"),
    ("rollout unconfirmed: interrupted (Ctrl-C)", "unconfirmed", False, "interrupted (Ctrl-C)"),
    ("not tracked: --no-wait", "not-tracked", False, "--no-wait"),
])
def test_verdicts_round_trip_through_the_description(text: str, kind: str, failed: bool, detail: str) -> None:
    description = release.with_verdict("lain deploy by alice, image r/a:1; worker=r/a:0", text)
    stamp = release.parse_description(description)
    assert stamp is not None and stamp.images == {"worker": "r/a:0"} and stamp.image == "r/a:1"
    assert stamp.verdict is not None
    assert (stamp.verdict.kind, stamp.verdict.failed, stamp.verdict.detail) == (kind, failed, detail)
    assert release.verdict_text(kind, detail) == text
    # a second verdict replaces the first
    assert release.with_verdict(description, "rollout ready").endswith("r/a:0 | rollout ready")


def test_verdict_text_is_one_bounded_line() -> None:
    text = release.verdict_text("failed", "web " + "x" * 500 + "\nsecond line")
    assert "\n" not in text and len(text) == release.MAX_VERDICT_TEXT and text.endswith("...")


def test_a_rollback_description_names_its_target_and_who() -> None:
    text = release.describe("rollback", "bob | smith", {"web": "r/a:1"}, rollback_to=7)
    assert text == "lain rollback to 7 by bob / smith, image r/a:1"
    revision = release.Revision(9, "deployed", None, release.with_verdict(text, "rollout ready"))
    assert (revision.rollback_to, revision.stamp.user, revision.rolled_out) == (7, "bob / smith", True)  # type: ignore[union-attr]


def test_with_description_rewrites_helms_record() -> None:
    document = {"name": "dummy", "version": 3, "info": {"status": "deployed", "description": "Upgrade complete"}}
    secret = {"metadata": {"name": "sh.helm.release.v1.dummy.v3", "resourceVersion": "5", "uid": "u"},
              "data": {"release": release.encode_release(document)}}
    updated = release.with_description(secret, "lain deploy by a, image x | rollout ready")
    assert release.decode_release(updated)["info"] == {"status": "deployed",
                                                       "description": "lain deploy by a, image x | rollout ready"}
    assert updated["metadata"] == {"name": "sh.helm.release.v1.dummy.v3", "resourceVersion": "5"}


def test_history_shows_each_rollout_on_one_line() -> None:
    history = release.parse_history(json.dumps([
        {"revision": 1, "updated": "2026-11-25T01:00:00Z", "status": "superseded",
         "description": "lain deploy by alice, image r/a:1 | rollout ready"},
        {"revision": 2, "updated": "2026-11-25T02:00:00Z", "status": "failed",
         "description": "lain deploy by alice, image r/a:2 | hook failed: job dummy-migrate BackoffLimitExceeded"},
        {"revision": 3, "updated": "2026-11-25T03:00:00Z", "status": "failed",
         "description": "Upgrade \"dummy\" failed:\nline two\nline three"},
    ]))
    rows = release.history_rows(history, ["web"])
    assert [(r["revision"], r["rollout"]) for r in rows] == [(3, None), (2, "hook-failed"), (1, "ready")]
    lines = release.format_history(rows)
    assert len(lines) == 4
    assert lines[0].split() == ["REVISION", "UPDATED", "STATUS", "ROLLOUT", "BY", "IMAGE", "NOTE"]
    assert lines[1].endswith('Upgrade "dummy" failed: line two line three')
    assert "hook failed" in lines[2] and lines[2].endswith("deploy: job dummy-migrate BackoffLimitExceeded")
