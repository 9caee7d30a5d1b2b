"""The selector of a release's objects, in lain's layout and in a lain4 release taken over."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lain_cli import labels


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, "app.kubernetes.io/instance=dummy"),
    ({"component": "web"}, "app.kubernetes.io/instance=dummy,app.kubernetes.io/component=web"),
    ({"appname": "dummy", "procs": ["worker", "web"]},
     "app.kubernetes.io/name=dummy,app.kubernetes.io/instance in (dummy,dummy-web,dummy-worker)"),
    ({"appname": "dummy", "procs": ["web"], "component": "web"},
     "app.kubernetes.io/name=dummy,app.kubernetes.io/instance in (dummy,dummy-web),app.kubernetes.io/component=web"),
    ({"appname": "dummy", "procs": []}, "app.kubernetes.io/instance=dummy"),
])
def test_release_selector(kwargs: dict, expected: str) -> None:
    assert labels.release_selector("dummy", **kwargs) == expected


def test_app_selector_takes_the_long_running_procs() -> None:
    ctx = SimpleNamespace(release_name="dummy-dev", appname="dummy",
                          procs={"web": "deployment", "db": "statefulset", "migrate": "job", "daily": "cronjob"})
    assert labels.app_selector(ctx) == ("app.kubernetes.io/name=dummy,"
                                        "app.kubernetes.io/instance in (dummy-dev,dummy-dev-db,dummy-dev-web)")


@pytest.mark.parametrize(("pod_labels", "matches"), [
    ({"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy"}, True),  # lain's
    ({"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-web"}, True),  # lain4's
    ({"app.kubernetes.io/name": "other", "app.kubernetes.io/instance": "dummy-web"}, False),
    ({"app.kubernetes.io/name": "dummy", "app.kubernetes.io/instance": "dummy-dev"}, False),
])
def test_the_selector_matches_both_layouts_and_nothing_else(pod_labels: dict, matches: bool) -> None:
    from tests.kubesim.selectors import parse_label_selector

    selector = labels.release_selector("dummy", appname="dummy", procs=["web"])
    assert all(r.matches(pod_labels) for r in parse_label_selector(selector)) is matches
