"""Label and field selector parsing and matching."""

from __future__ import annotations

import pytest

from tests.kubesim.errors import ApiError
from tests.kubesim.selectors import (
    label_selector_object_matches,
    make_predicate,
    parse_label_selector,
)

POD = {"metadata": {"name": "web-1", "namespace": "prod", "labels": {"app": "web", "tier": "front"}},
       "status": {"phase": "Running"}, "spec": {"nodeName": "n1"}}


@pytest.mark.parametrize(("selector", "matches"), [
    ("app=web", True),
    ("app==web", True),
    ("app!=web", False),
    ("app in (web, api)", True),
    ("app notin (web,api)", False),
    ("tier", True),
    ("!tier", False),
    ("!missing", True),
    ("app=web,tier in (back)", False),
    ("missing!=x", True),
    ("", True),
])
def test_label_selectors(selector: str, matches: bool) -> None:
    assert make_predicate(selector, None)(POD) is matches


@pytest.mark.parametrize(("selector", "matches"), [
    ("metadata.name=web-1", True),
    ("metadata.namespace!=prod", False),
    ("status.phase=Running,spec.nodeName=n1", True),
    ("status.phase==Pending", False),
    ("involvedObject.name=web-1", False),
])
def test_field_selectors(selector: str, matches: bool) -> None:
    assert make_predicate(None, selector)(POD) is matches


def test_bad_selector_is_a_400() -> None:
    with pytest.raises(ApiError) as info:
        parse_label_selector("app=(x")
    assert info.value.code == 400


def test_label_selector_objects() -> None:
    labels = {"app": "web", "tier": "front"}
    assert label_selector_object_matches({"matchLabels": {"app": "web"}}, labels)
    assert label_selector_object_matches(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]},
                              {"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not label_selector_object_matches({"matchExpressions": [{"key": "app", "operator": "NotIn",
                                                                    "values": ["web"]}]}, labels)
    assert not label_selector_object_matches(None, labels)
