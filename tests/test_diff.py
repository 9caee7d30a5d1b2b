"""Per-resource diffs with Secret values masked."""

from __future__ import annotations

from lain_cli import diff


def _deploy(image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dummy-web"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}


def _secret(**data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dummy-x"}, "data": dict(data)}


def test_no_change() -> None:
    assert diff.diff_objects([_deploy("a:1")], [_deploy("a:1")]) == []


def test_changed_added_removed() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dummy-web"}}
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "dummy-web"}}
    diffs = diff.diff_objects([_deploy("a:1"), svc], [_deploy("a:2"), ing])
    assert [(d.key, d.change) for d in diffs] == [
        ("Deployment dummy-web", "changed"), ("Ingress dummy-web", "added"), ("Service dummy-web", "removed")]
    changed = diffs[0].lines
    assert any(ln.startswith("-") and "a:1" in ln for ln in changed)
    assert any(ln.startswith("+") and "a:2" in ln for ln in changed)
    assert diff.summary(diffs) == "1 to change, 1 to add, 1 to remove"


def test_secret_values_never_shown() -> None:
    old = _secret(A="c2VjcmV0MQ==", B="c2FtZQ==", GONE="eA==")
    new = _secret(A="c2VjcmV0Mg==", B="c2FtZQ==", NEW="eQ==")
    diffs = diff.diff_objects([old], [new])
    text = "\n".join(diffs[0].lines)
    for value in ("c2VjcmV0MQ==", "c2VjcmV0Mg==", "c2FtZQ==", "eA==", "eQ=="):
        assert value not in text
    assert "A: '*** (changed)'" in text
    assert "GONE" in text and "NEW" in text
    # same keys, same values: no diff at all
    assert diff.diff_objects([_secret(A="eA==")], [_secret(A="eA==")]) == []


def test_added_secret_masked() -> None:
    diffs = diff.diff_objects([], [_secret(K="dG9wc2VjcmV0")])
    assert diffs[0].change == "added"
    assert "dG9wc2VjcmV0" not in "\n".join(diffs[0].lines)


def _annotated(image: str, user: str, checksum: str, **extra: str) -> dict:
    obj = _deploy(image)
    obj["metadata"]["annotations"] = {
        "lain.dev/deployed-by": user, "lain.dev/git-revision": f"rev-{user}", "lain.dev/values-checksum": checksum,
        **extra,
    }
    return obj


def test_per_deploy_bookkeeping_alone_is_no_change() -> None:
    old = _annotated("a:1", "alice", "c1")
    assert diff.diff_objects([old], [_annotated("a:1", "bob", "c2")]) == []
    assert old["metadata"]["annotations"]["lain.dev/deployed-by"] == "alice"  # inputs untouched


def test_bookkeeping_is_left_out_of_a_real_change() -> None:
    diffs = diff.diff_objects(
        [_annotated("a:1", "alice", "c1", team="x")], [_annotated("a:2", "bob", "c2", team="y")]
    )
    text = "\n".join(diffs[0].lines)
    assert "a:2" in text and "team: y" in text
    assert "lain.dev/" not in text
