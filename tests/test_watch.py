"""The kubectl watch stream parser and argv (the live behaviour is covered by e2e tests)."""

from __future__ import annotations

import json

import pytest

from lain_cli.watch import iter_documents, object_key, plural_of, watch_argv


def pretty(doc: dict) -> list[str]:
    return json.dumps(doc, indent=4).splitlines()


def test_iter_documents_splits_concatenated_pretty_json() -> None:
    first = {"type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "a", "uid": "1"}, "spec": {}}}
    second = {"type": "MODIFIED", "object": {"kind": "Pod", "metadata": {"name": "a", "uid": "1"}, "x": "}"}}
    lines = pretty(first) + pretty(second)
    assert list(iter_documents(lines)) == [first, second]


def test_iter_documents_skips_garbage_between_documents() -> None:
    doc = {"type": "DELETED", "object": {"metadata": {"name": "b"}}}
    lines = ["W1125 some warning", "}", *pretty(doc)]
    assert list(iter_documents(lines)) == [doc]


def test_watch_argv() -> None:
    assert watch_argv("kubectl", ["--context", "dev"], "pods", "app.kubernetes.io/instance=dummy") == [
        "kubectl", "--context", "dev", "get", "pods", "-l", "app.kubernetes.io/instance=dummy",
        "--watch", "--output-watch-events", "-o", "json",
    ]
    assert watch_argv("kubectl", [], "events", None)[-5:] == ["events", "--watch", "--output-watch-events", "-o", "json"]


@pytest.mark.parametrize(
    ("kind", "plural"),
    [("Deployment", "deployments"), ("Ingress", "ingresses"), ("Pod", "pods"), ("StatefulSet", "statefulsets")],
)
def test_plural_of(kind: str, plural: str) -> None:
    assert plural_of(kind) == plural


def test_object_key_prefers_uid() -> None:
    assert object_key({"metadata": {"uid": "u1", "name": "a", "namespace": "ns"}}) == "u1"
    assert object_key({"metadata": {"name": "a", "namespace": "ns"}}) == "ns/a"
