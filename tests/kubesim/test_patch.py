"""Tests for the simulator's patch semantics.

Cases come from the RFC 6902 and RFC 7386 appendices, from the fixtures of
k8s.io/apimachinery's strategicpatch tests (rewritten onto real Kubernetes types), and
from patches captured from helm 3.19 and kubectl 1.34 upgrading a Deployment.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.kubesim.patch import (
    ApplyConflict,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_server_side,
    apply_strategic_merge_patch,
    managed_fields_paths,
    record_update,
)

DEPLOY = ("apps", "v1", "Deployment")
POD = ("", "v1", "Pod")
SERVICE = ("", "v1", "Service")
CONFIGMAP = ("", "v1", "ConfigMap")
CRD = ("example.com", "v1", "Widget")
NOW = "2024-01-01T00:00:00Z"

# =======================================================================================
# RFC 6902
# =======================================================================================
JSON_PATCH_CASES = [
    # (id, document, patch, expected)
    (
        "A.1 add member",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"},
    ),
    (
        "A.2 add element",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    (
        "A.3 remove member",
        {"baz": "qux", "foo": "bar"},
        [{"op": "remove", "path": "/baz"}],
        {"foo": "bar"},
    ),
    (
        "A.4 remove element",
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    (
        "A.5 replace",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        "A.6 move value",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        "A.7 move element",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        "A.8 test success",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        "A.10 add nested member",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        "A.11 ignore unrecognized elements",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    (
        "A.14 ~ escape ordering",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": 10}],
        {"/": 9, "~1": 10},
    ),
    (
        "A.16 add array value",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    ("add replaces root", {"a": 1}, [{"op": "add", "path": "", "value": [1]}], [1]),
    ("replace root", {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    (
        "copy",
        {"a": {"b": [1]}},
        [{"op": "copy", "from": "/a", "path": "/c"}, {"op": "add", "path": "/c/b/-", "value": 2}],
        {"a": {"b": [1]}, "c": {"b": [1, 2]}},
    ),
    ("move to itself", {"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}], {"a": 1}),
    (
        "escaped slash in key (annotations)",
        {"metadata": {"annotations": {"a/b": "1"}}},
        [{"op": "replace", "path": "/metadata/annotations/a~1b", "value": "2"}],
        {"metadata": {"annotations": {"a/b": "2"}}},
    ),
    (
        "kubectl patch --type=json on a deployment",
        {
            "spec": {
                "replicas": 1,
                "template": {"spec": {"containers": [{"name": "c", "image": "a"}]}},
            }
        },
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "b"},
            {
                "op": "add",
                "path": "/spec/template/spec/containers/0/env",
                "value": [{"name": "X", "value": "1"}],
            },
        ],
        {
            "spec": {
                "replicas": 3,
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "c", "image": "b", "env": [{"name": "X", "value": "1"}]}
                        ]
                    }
                },
            }
        },
    ),
    ("test 1 equals 1.0", {"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
]


@pytest.mark.parametrize(
    ("doc", "patch", "expected"),
    [c[1:] for c in JSON_PATCH_CASES],
    ids=[c[0] for c in JSON_PATCH_CASES],
)
def test_json_patch(doc: Any, patch: list, expected: Any) -> None:
    before = copy.deepcopy(doc)
    assert apply_json_patch(doc, patch) == expected
    assert doc == before  # never mutated


JSON_PATCH_ERRORS = [
    ("A.9 test failure", {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
    (
        "A.12 add to nonexistent target",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz/bat", "value": "qux"}],
    ),
    ("A.15 string vs number", {"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),
    ("test true vs 1", {"a": True}, [{"op": "test", "path": "/a", "value": 1}]),
    ("remove missing", {"a": 1}, [{"op": "remove", "path": "/b"}]),
    ("replace missing", {"a": 1}, [{"op": "replace", "path": "/b", "value": 1}]),
    ("index out of range", {"a": [1]}, [{"op": "add", "path": "/a/2", "value": 1}]),
    ("leading zero index", {"a": [1, 2]}, [{"op": "replace", "path": "/a/01", "value": 1}]),
    ("dash on replace", {"a": [1]}, [{"op": "replace", "path": "/a/-", "value": 1}]),
    ("pointer without slash", {"a": 1}, [{"op": "remove", "path": "a"}]),
    ("unknown op", {"a": 1}, [{"op": "frob", "path": "/a"}]),
    ("missing value", {"a": 1}, [{"op": "add", "path": "/b"}]),
    ("missing from", {"a": 1}, [{"op": "move", "path": "/b"}]),
    ("move into own child", {"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}]),
    ("not a list", {"a": 1}, {"op": "remove", "path": "/a"}),
    ("op not an object", {"a": 1}, ["remove"]),
    ("remove root", {"a": 1}, [{"op": "remove", "path": ""}]),
    ("through a scalar", {"a": 1}, [{"op": "add", "path": "/a/b", "value": 1}]),
]


@pytest.mark.parametrize(
    ("doc", "patch"), [c[1:] for c in JSON_PATCH_ERRORS], ids=[c[0] for c in JSON_PATCH_ERRORS]
)
def test_json_patch_errors(doc: Any, patch: Any) -> None:
    with pytest.raises(PatchError):
        apply_json_patch(doc, patch)


def test_json_patch_is_atomic_on_failure() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(
            doc,
            [{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 1}],
        )
    assert doc == {"a": 1}


# =======================================================================================
# RFC 7386 (appendix A, every row)
# =======================================================================================
MERGE_PATCH_CASES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), MERGE_PATCH_CASES)
def test_merge_patch_rfc7386_appendix(target: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(target)
    assert apply_merge_patch(target, patch) == expected
    assert target == before


def test_merge_patch_result_shares_nothing_with_patch() -> None:
    patch = {"a": {"b": [1]}}
    result = apply_merge_patch({}, patch)
    result["a"]["b"].append(2)
    assert patch == {"a": {"b": [1]}}


# =======================================================================================
# Strategic merge patch
# =======================================================================================
def pod(*containers: dict, **spec: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": list(containers), **spec},
    }


def spec_of(obj: dict) -> dict:
    return obj["spec"]


SMP_CASES = [
    # (id, gvk, original, patch, expected) -- adapted from strategicpatch's testdata
    (
        "merge list of maps by merge key",
        POD,
        pod({"name": "a", "image": "1"}, {"name": "b", "image": "2"}),
        {"spec": {"containers": [{"name": "a", "image": "1b"}]}},
        pod({"name": "a", "image": "1b"}, {"name": "b", "image": "2"}),
    ),
    (
        # Without $setElementOrder, apimachinery's mergeSortedSlice puts items that are new
        # to the live list before the server-only ones (kustomize < 3.8 "prepend").
        "new item without $setElementOrder goes first",
        POD,
        pod({"name": "a"}),
        {"spec": {"containers": [{"name": "b", "image": "x"}]}},
        pod({"name": "b", "image": "x"}, {"name": "a"}),
    ),
    (
        "delete item with $patch: delete",
        POD,
        pod({"name": "a"}, {"name": "b"}),
        {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
        pod({"name": "b"}),
    ),
    (
        "delete missing item is a no-op",
        POD,
        pod({"name": "a"}),
        {"spec": {"containers": [{"name": "zz", "$patch": "delete"}]}},
        pod({"name": "a"}),
    ),
    (
        "replace merging list with $patch: replace",
        POD,
        pod({"name": "a", "image": "1"}, {"name": "b"}),
        {"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}},
        pod({"name": "c"}),
    ),
    (
        "replace a map with $patch: replace",
        POD,
        pod({"name": "a", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}),
        {
            "spec": {
                "containers": [
                    {"name": "a", "resources": {"$patch": "replace", "limits": {"memory": "1Gi"}}}
                ]
            }
        },
        pod({"name": "a", "resources": {"limits": {"memory": "1Gi"}}}),
    ),
    (
        "delete a map with $patch: delete",
        POD,
        pod({"name": "a", "resources": {"limits": {"cpu": "1"}}}),
        {"spec": {"containers": [{"name": "a", "resources": {"$patch": "delete"}}]}},
        pod({"name": "a", "resources": {}}),
    ),
    (
        "null deletes a key",
        POD,
        pod({"name": "a", "image": "x", "command": ["sh"]}),
        {"spec": {"containers": [{"name": "a", "command": None}]}},
        pod({"name": "a", "image": "x"}),
    ),
    (
        "null for a missing key is ignored",
        POD,
        pod({"name": "a"}),
        {"spec": {"nodeName": None, "containers": [{"name": "a", "args": None}]}},
        pod({"name": "a"}),
    ),
    (
        "nested merge lists: env by name, ports by containerPort, volumeMounts by mountPath",
        POD,
        pod(
            {
                "name": "a",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80, "name": "http"}],
                "volumeMounts": [{"name": "v", "mountPath": "/v"}],
            }
        ),
        {
            "spec": {
                "containers": [
                    {
                        "name": "a",
                        "env": [{"name": "B", "value": "3"}],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
                        "volumeMounts": [{"mountPath": "/v", "readOnly": True}],
                    }
                ]
            }
        },
        pod(
            {
                "name": "a",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}],
                "ports": [
                    {"containerPort": 80, "name": "http", "protocol": "TCP"},
                    {"containerPort": 443},
                ],
                "volumeMounts": [{"name": "v", "mountPath": "/v", "readOnly": True}],
            }
        ),
    ),
    (
        "non-merge lists are replaced (command, tolerations, envFrom)",
        POD,
        pod(
            {"name": "a", "command": ["a", "b"], "envFrom": [{"configMapRef": {"name": "x"}}]},
            tolerations=[{"key": "k"}],
        ),
        {
            "spec": {
                "tolerations": [{"key": "j"}],
                "containers": [
                    {"name": "a", "command": ["c"], "envFrom": [{"secretRef": {"name": "s"}}]}
                ],
            }
        },
        pod(
            {"name": "a", "command": ["c"], "envFrom": [{"secretRef": {"name": "s"}}]},
            tolerations=[{"key": "j"}],
        ),
    ),
    (
        "volumes merge by name; imagePullSecrets by name; hostAliases by ip",
        POD,
        pod(
            {"name": "a"},
            volumes=[{"name": "v1", "emptyDir": {}}],
            imagePullSecrets=[{"name": "r1"}],
            hostAliases=[{"ip": "1.1.1.1", "hostnames": ["a"]}],
        ),
        {
            "spec": {
                "volumes": [{"name": "v2", "configMap": {"name": "c"}}],
                "imagePullSecrets": [{"name": "r2"}],
                "hostAliases": [{"ip": "1.1.1.1", "hostnames": ["b"]}],
            }
        },
        pod(
            {"name": "a"},
            volumes=[{"name": "v2", "configMap": {"name": "c"}}, {"name": "v1", "emptyDir": {}}],
            imagePullSecrets=[{"name": "r2"}, {"name": "r1"}],
            hostAliases=[{"ip": "1.1.1.1", "hostnames": ["b"]}],
        ),
    ),
    (
        "$retainKeys on a volume switches its source",
        POD,
        pod({"name": "a"}, volumes=[{"name": "v", "emptyDir": {}}]),
        {
            "spec": {
                "volumes": [
                    {"$retainKeys": ["configMap", "name"], "name": "v", "configMap": {"name": "c"}}
                ]
            }
        },
        pod({"name": "a"}, volumes=[{"name": "v", "configMap": {"name": "c"}}]),
    ),
    (
        "$setElementOrder reorders a merging list",
        POD,
        pod({"name": "a"}, {"name": "b"}, {"name": "c"}),
        {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}},
        pod({"name": "c"}, {"name": "a"}, {"name": "b"}),
    ),
    (
        "$setElementOrder keeps server-only items in place",
        POD,
        pod({"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}),
        {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]}},
        pod({"name": "b"}, {"name": "c"}, {"name": "a"}, {"name": "d"}),
    ),
    (
        "$setElementOrder together with a change and an addition",
        POD,
        pod({"name": "a", "image": "1"}, {"name": "b"}),
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "n"}, {"name": "b"}, {"name": "a"}],
                "containers": [{"name": "n", "image": "new"}, {"name": "a", "image": "2"}],
            }
        },
        pod({"name": "n", "image": "new"}, {"name": "b"}, {"name": "a", "image": "2"}),
    ),
    (
        "directives inside newly added items are processed",
        POD,
        pod({"name": "a"}),
        {
            "spec": {
                "containers": [
                    {
                        "name": "b",
                        "$setElementOrder/env": [{"name": "X"}],
                        "env": [{"name": "X", "value": "1"}, {"name": "Y", "$patch": "delete"}],
                    }
                ]
            }
        },
        pod({"name": "b", "env": [{"name": "X", "value": "1"}]}, {"name": "a"}),
    ),
    (
        "finalizers merge as a set",
        CONFIGMAP,
        {"metadata": {"name": "c", "finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"name": "c", "finalizers": ["a", "b", "c"]}},
    ),
    (
        "$deleteFromPrimitiveList on finalizers",
        CONFIGMAP,
        {"metadata": {"name": "c", "finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"name": "c", "finalizers": ["a", "c"]}},
    ),
    (
        "$setElementOrder on a primitive set",
        CONFIGMAP,
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"]}},
        {"metadata": {"finalizers": ["c", "b", "a"]}},
    ),
    (
        "ownerReferences merge by uid",
        CONFIGMAP,
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}},
        {
            "metadata": {
                "ownerReferences": [{"uid": "2", "name": "b"}, {"uid": "1", "controller": True}]
            }
        },
        {
            "metadata": {
                "ownerReferences": [
                    {"uid": "2", "name": "b"},
                    {"uid": "1", "name": "a", "controller": True},
                ]
            }
        },
    ),
    (
        "labels and annotations merge, null removes",
        CONFIGMAP,
        {"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}},
        {"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"k": "w"}},
        {"metadata": {"labels": {"b": "2", "c": "3"}}, "data": {"k": "w"}},
    ),
    (
        "Service ports merge by port",
        SERVICE,
        {
            "spec": {
                "ports": [{"port": 80, "targetPort": 8080}, {"port": 443}],
                "selector": {"a": "b"},
            }
        },
        {"spec": {"ports": [{"port": 80, "targetPort": 9090}], "selector": {"c": "d"}}},
        {
            "spec": {
                "ports": [{"port": 80, "targetPort": 9090}, {"port": 443}],
                "selector": {"a": "b", "c": "d"},
            }
        },
    ),
    (
        "Deployment selector is replaced, not merged",
        DEPLOY,
        {"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
    ),
    (
        "Deployment strategy $retainKeys (kubectl switching to Recreate)",
        DEPLOY,
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}
            }
        },
        {"spec": {"strategy": {"type": "Recreate"}}},
    ),
    (
        "CronJob reaches containers through jobTemplate",
        ("batch", "v1", "CronJob"),
        {
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}]}
                        }
                    }
                }
            }
        },
        {
            "spec": {
                "jobTemplate": {
                    "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "2"}]}}}
                }
            }
        },
        {
            "spec": {
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {"containers": [{"name": "a", "image": "2"}, {"name": "b"}]}
                        }
                    }
                }
            }
        },
    ),
    (
        "StatefulSet / Job / DaemonSet templates",
        ("apps", "v1", "StatefulSet"),
        {
            "spec": {
                "template": {
                    "spec": {
                        "initContainers": [{"name": "i", "image": "1"}],
                        "containers": [{"name": "a"}],
                    }
                }
            }
        },
        {"spec": {"template": {"spec": {"initContainers": [{"name": "i", "image": "2"}]}}}},
        {
            "spec": {
                "template": {
                    "spec": {
                        "initContainers": [{"name": "i", "image": "2"}],
                        "containers": [{"name": "a"}],
                    }
                }
            }
        },
    ),
    (
        "status conditions merge by type",
        DEPLOY,
        {
            "status": {
                "conditions": [
                    {"type": "Available", "status": "False"},
                    {"type": "Progressing", "status": "True"},
                ]
            }
        },
        {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
        {
            "status": {
                "conditions": [
                    {"type": "Available", "status": "True"},
                    {"type": "Progressing", "status": "True"},
                ]
            }
        },
    ),
    (
        "topologySpreadConstraints by topologyKey",
        POD,
        pod({"name": "a"}, topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 1}]),
        {
            "spec": {
                "topologySpreadConstraints": [
                    {"topologyKey": "zone", "maxSkew": 2},
                    {"topologyKey": "host", "maxSkew": 1},
                ]
            }
        },
        pod(
            {"name": "a"},
            topologySpreadConstraints=[
                {"topologyKey": "zone", "maxSkew": 2},
                {"topologyKey": "host", "maxSkew": 1},
            ],
        ),
    ),
    (
        "type change replaces",
        CONFIGMAP,
        {"data": {"a": "b"}},
        {"data": "x"},
        {"data": "x"},
    ),
    (
        "unknown built-in kind: lists replace, metadata still strategic",
        ("networking.k8s.io", "v1", "Ingress"),
        {"metadata": {"finalizers": ["a"]}, "spec": {"rules": [{"host": "a"}, {"host": "b"}]}},
        {"metadata": {"finalizers": ["b"]}, "spec": {"rules": [{"host": "c"}]}},
        {"metadata": {"finalizers": ["b", "a"]}, "spec": {"rules": [{"host": "c"}]}},
    ),
]


@pytest.mark.parametrize(
    ("gvk", "original", "patch", "expected"),
    [c[1:] for c in SMP_CASES],
    ids=[c[0] for c in SMP_CASES],
)
def test_strategic_merge_patch(gvk: tuple, original: dict, patch: dict, expected: dict) -> None:
    before, patch_before = copy.deepcopy(original), copy.deepcopy(patch)
    assert apply_strategic_merge_patch(original, patch, gvk) == expected
    assert original == before and patch == patch_before


def test_crd_falls_back_to_merge_patch() -> None:
    original = {"spec": {"items": [{"name": "a", "v": 1}, {"name": "b"}], "x": 1}}
    patch = {"spec": {"items": [{"name": "a", "v": 2}], "x": None}}
    assert apply_strategic_merge_patch(original, patch, CRD) == {
        "spec": {"items": [{"name": "a", "v": 2}]}
    }


SMP_ERRORS = [
    ("bad $patch in a map", {"spec": {"$patch": "frob"}}),
    ("$patch: merge in a list", {"spec": {"containers": [{"$patch": "merge"}]}}),
    ("item without merge key", {"spec": {"containers": [{"image": "x"}]}}),
    ("delete item without merge key", {"spec": {"containers": [{"$patch": "delete"}]}}),
    ("$retainKeys missing a patched key", {"spec": {"$retainKeys": ["a"], "nodeName": "n"}}),
    ("unknown directive", {"spec": {"$frob": 1}}),
    (
        "$setElementOrder without merge keys",
        {"spec": {"$setElementOrder/containers": [{"image": "x"}]}},
    ),
]


@pytest.mark.parametrize("patch", [c[1] for c in SMP_ERRORS], ids=[c[0] for c in SMP_ERRORS])
def test_strategic_merge_patch_errors(patch: dict) -> None:
    with pytest.raises(PatchError):
        apply_strategic_merge_patch(pod({"name": "a"}), patch, POD)


def test_strategic_merge_patch_must_be_an_object() -> None:
    with pytest.raises(PatchError):
        apply_strategic_merge_patch({}, [], POD)  # type: ignore[arg-type]


# --- realistic upgrade patches captured from the real binaries --------------------------
def web_deployment(replicas: int, containers: list[dict], annotations: dict | None = None) -> dict:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "labels": {"app": "web"}}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers},
            },
        },
    }


WEB_V1 = [
    {
        "name": "web",
        "image": "nginx:1.25",
        "env": [
            {"name": "A", "value": "1"},
            {"name": "B", "value": "2"},
            {"name": "C", "value": "3"},
        ],
        "ports": [{"containerPort": 80}],
    },
    {
        "name": "sidecar",
        "image": "busybox:1.36",
        "env": [{"name": "X", "value": "x"}],
        "ports": [{"containerPort": 9000}],
    },
]
WEB_V2 = [
    {
        "name": "sidecar",
        "image": "busybox:1.37",
        "env": [{"name": "X", "value": "x"}],
        "ports": [{"containerPort": 9000}],
    },
    {
        "name": "web",
        "image": "nginx:1.27",
        "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "33"}],
        "ports": [{"containerPort": 80}],
    },
]

# Sent by `helm upgrade` (helm v3.19.0) after `helm install` of WEB_V1: three-way merge of
# the old manifest, the new one and the live object.
HELM3_UPGRADE_PATCH = {
    "spec": {
        "replicas": 3,
        "template": {
            "spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
                "containers": [
                    {"image": "busybox:1.37", "name": "sidecar"},
                    {
                        "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                        "env": [{"name": "C", "value": "33"}, {"$patch": "delete", "name": "B"}],
                        "image": "nginx:1.27",
                        "name": "web",
                    },
                ],
            }
        },
    }
}


def test_helm3_upgrade_patch_changes_image_replicas_env_and_order() -> None:
    live = web_deployment(2, copy.deepcopy(WEB_V1))
    live["status"] = {"replicas": 2}
    result = apply_strategic_merge_patch(live, HELM3_UPGRADE_PATCH, DEPLOY)
    expected = web_deployment(3, copy.deepcopy(WEB_V2))
    expected["status"] = {"replicas": 2}
    assert result == expected


def test_kubectl_client_side_apply_patch() -> None:
    # Sent by `kubectl apply -f` (v1.34.5) for the same change; it also rewrites the
    # last-applied-configuration annotation.
    last = '{"apiVersion":"apps/v1","kind":"Deployment"}\n'
    patch = copy.deepcopy(HELM3_UPGRADE_PATCH)
    patch["metadata"] = {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last}}
    live = web_deployment(
        2, copy.deepcopy(WEB_V1), {"kubectl.kubernetes.io/last-applied-configuration": "old"}
    )
    result = apply_strategic_merge_patch(live, patch, DEPLOY)
    assert result == web_deployment(
        3, copy.deepcopy(WEB_V2), {"kubectl.kubernetes.io/last-applied-configuration": last}
    )


def test_helm3_patch_keeps_fields_set_by_others() -> None:
    live = web_deployment(2, copy.deepcopy(WEB_V1))
    live["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    live["spec"]["template"]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/restartedAt": "now"
    }
    result = apply_strategic_merge_patch(live, HELM3_UPGRADE_PATCH, DEPLOY)
    web = result["spec"]["template"]["spec"]["containers"][1]
    assert web["name"] == "web" and web["resources"] == {"limits": {"cpu": "1"}}
    assert result["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "now"
    }


# =======================================================================================
# Server-side apply
# =======================================================================================
def applied_web(replicas: int, containers: list[dict], **labels: str) -> dict:
    obj = web_deployment(replicas, copy.deepcopy(containers))
    obj["metadata"]["labels"].update(labels)
    return obj


def owned(obj: dict, manager: str) -> set[str]:
    """Ownership as readable strings: '.spec.replicas', '.spec...containers[name="web"]'."""
    from tests.kubesim.patch import _path_string

    return {_path_string(p) for p in managed_fields_paths(obj, manager)}


def test_ssa_create() -> None:
    applied = applied_web(2, WEB_V1)
    result = apply_server_side(None, applied, "helm", True, DEPLOY, now=NOW)
    assert '.spec.template.spec.containers[name="web"].env[name="B"].value' in owned(result, "helm")
    entries = result["metadata"].pop("managedFields")
    assert result == applied
    assert len(entries) == 1
    entry = entries[0]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "helm",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": NOW,
        "fieldsType": "FieldsV1",
    }
    fields = entry["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert fields["f:spec"]["f:replicas"] == {}
    assert fields["f:spec"]["f:selector"] == {}  # atomic
    web = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert web["."] == {}
    assert web["f:image"] == {}
    assert set(web["f:env"]) == {'k:{"name":"A"}', 'k:{"name":"B"}', 'k:{"name":"C"}'}
    assert web["f:ports"]['k:{"containerPort":80}'] == {".": {}, "f:containerPort": {}}


def test_ssa_reapply_removes_fields_no_longer_applied() -> None:
    first = apply_server_side(
        None, applied_web(2, WEB_V1, tier="be"), "helm", True, DEPLOY, now=NOW
    )
    second = apply_server_side(first, applied_web(3, WEB_V2), "helm", True, DEPLOY, now=NOW)
    assert second["metadata"]["labels"] == {"app": "web"}  # tier dropped
    assert second["spec"]["replicas"] == 3
    containers = second["spec"]["template"]["spec"]["containers"]
    assert containers == WEB_V2  # env B removed, images changed, applied order followed
    assert ".metadata.labels.tier" not in owned(second, "helm")
    assert len(second["metadata"]["managedFields"]) == 1


def test_ssa_reapply_keeps_fields_of_other_managers() -> None:
    first = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    # kubectl scale / an HPA writes replicas; another manager adds an annotation.
    scaled = copy.deepcopy(first)
    scaled["spec"]["replicas"] = 5
    scaled["metadata"]["annotations"] = {"note": "x"}
    scaled = record_update(first, scaled, "kubectl", now=NOW)
    assert owned(scaled, "kubectl") == {".spec.replicas", ".metadata.annotations.note"}
    assert ".spec.replicas" not in owned(scaled, "helm")
    # helm re-applies without replicas: the field stays (kubectl owns it), so does the annotation.
    applied = applied_web(2, WEB_V1)
    del applied["spec"]["replicas"]
    again = apply_server_side(scaled, applied, "helm", False, DEPLOY, now=NOW)
    assert again["spec"]["replicas"] == 5
    assert again["metadata"]["annotations"] == {"note": "x"}


def test_ssa_conflict_without_force() -> None:
    live = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    changed = copy.deepcopy(live)
    changed["spec"]["replicas"] = 4
    live = record_update(live, changed, "kubectl-client-side-apply", now=NOW)
    with pytest.raises(ApplyConflict) as info:
        apply_server_side(live, applied_web(3, WEB_V1), "helm", False, DEPLOY, now=NOW)
    err = info.value
    assert err.conflicts == [
        f'conflict with "kubectl-client-side-apply" using apps/v1 at {NOW}: .spec.replicas'
    ]
    assert (
        str(err)
        == f'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1 at {NOW}: .spec.replicas'
    )
    assert isinstance(err, PatchError)


def test_ssa_same_value_is_shared_not_a_conflict() -> None:
    live = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    other = apply_server_side(
        live,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 2},
        },
        "ops",
        False,
        DEPLOY,
        now=NOW,
    )
    assert ".spec.replicas" in owned(other, "helm") and ".spec.replicas" in owned(other, "ops")


def test_ssa_force_takes_ownership() -> None:
    live = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    changed = copy.deepcopy(live)
    changed["spec"]["replicas"] = 4
    live = record_update(live, changed, "kubectl-client-side-apply", now=NOW)
    result = apply_server_side(live, applied_web(3, WEB_V1), "helm", True, DEPLOY, now=NOW)
    assert result["spec"]["replicas"] == 3
    assert ".spec.replicas" in owned(result, "helm")
    managers = [e["manager"] for e in result["metadata"]["managedFields"]]
    assert managers == ["helm"]  # the other entry had nothing left and was dropped


def test_ssa_conflict_message_lists_several_fields_by_manager() -> None:
    live = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    first = apply_server_side(
        live, applied_web(2, [{"name": "web", "image": "nginx:1.26"}]), "a", True, DEPLOY, now=NOW
    )
    second = copy.deepcopy(first)
    second["spec"]["replicas"] = 7
    second = record_update(first, second, "b", now=NOW)
    with pytest.raises(ApplyConflict) as info:
        apply_server_side(
            second,
            applied_web(1, [{"name": "web", "image": "nginx:1.28"}]),
            "c",
            False,
            DEPLOY,
            now=NOW,
        )
    assert str(info.value) == (
        'Apply failed with 2 conflicts: conflicts with "a":\n'
        '- .spec.template.spec.containers[name="web"].image\n'
        f'conflicts with "b" using apps/v1 at {NOW}:\n'
        "- .spec.replicas"
    )
    assert len(info.value.conflicts) == 2


def test_ssa_two_managers_own_disjoint_fields() -> None:
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    a = apply_server_side(None, {**base, "data": {"x": "1"}}, "alice", False, CONFIGMAP, now=NOW)
    b = apply_server_side(a, {**base, "data": {"y": "2"}}, "bob", False, CONFIGMAP, now=NOW)
    assert b["data"] == {"x": "1", "y": "2"}
    assert owned(b, "alice") == {".data.x"} and owned(b, "bob") == {".data.y"}
    # alice stops applying x: only her field goes.
    c = apply_server_side(b, {**base, "data": {"z": "3"}}, "alice", False, CONFIGMAP, now=NOW)
    assert c["data"] == {"y": "2", "z": "3"}
    assert [e["manager"] for e in c["metadata"]["managedFields"]] == ["alice", "bob"]


def test_ssa_helm4_apply_bodies_round() -> None:
    # The two apply bodies helm v4.2.3 sent for install and upgrade (force=false both times).
    annotations = {"meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "default"}
    v1 = applied_web(2, WEB_V1)
    v1["metadata"]["annotations"] = dict(annotations)
    v1["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Helm"
    v2 = applied_web(3, WEB_V2)
    v2["metadata"]["annotations"] = dict(annotations)
    v2["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "Helm"
    live = apply_server_side(None, v1, "helm", False, DEPLOY, now=NOW)
    live["status"] = {"replicas": 2}
    upgraded = apply_server_side(live, v2, "helm", False, DEPLOY, now=NOW)
    assert upgraded["spec"]["template"]["spec"]["containers"] == WEB_V2
    assert upgraded["status"] == {"replicas": 2}
    assert upgraded["metadata"]["annotations"] == annotations
    # Re-applying the same thing changes nothing but the time stamp.
    again = apply_server_side(upgraded, v2, "helm", False, DEPLOY, now="2024-01-02T00:00:00Z")
    assert {k: v for k, v in again.items() if k != "metadata"} == {
        k: v for k, v in upgraded.items() if k != "metadata"
    }


def test_ssa_atomic_lists_and_sets() -> None:
    base = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    live = apply_server_side(
        None,
        {
            **base,
            "metadata": {"name": "p", "finalizers": ["a"]},
            "spec": {"containers": [{"name": "c", "args": ["1", "2"]}]},
        },
        "x",
        False,
        POD,
        now=NOW,
    )
    assert '.metadata.finalizers[="a"]' in owned(live, "x")
    assert '.spec.containers[name="c"].args' in owned(live, "x")
    result = apply_server_side(
        live,
        {
            **base,
            "metadata": {"name": "p", "finalizers": ["b"]},
            "spec": {"containers": [{"name": "c", "args": ["3"]}]},
        },
        "x",
        False,
        POD,
        now=NOW,
    )
    assert result["metadata"]["finalizers"] == ["b"]
    assert result["spec"]["containers"] == [{"name": "c", "args": ["3"]}]


def test_ssa_crd_lists_are_atomic() -> None:
    base = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    live = apply_server_side(
        None, {**base, "spec": {"items": [{"name": "a"}]}}, "x", False, CRD, now=NOW
    )
    result = apply_server_side(
        live, {**base, "spec": {"items": [{"name": "b"}]}}, "x", False, CRD, now=NOW
    )
    assert result["spec"] == {"items": [{"name": "b"}]}
    assert owned(result, "x") == {".spec.items"}


def test_ssa_does_not_mutate_inputs() -> None:
    applied = applied_web(2, WEB_V1)
    live = apply_server_side(None, copy.deepcopy(applied), "helm", True, DEPLOY, now=NOW)
    live_copy, applied_copy = copy.deepcopy(live), copy.deepcopy(applied)
    apply_server_side(live, applied_web(3, WEB_V2), "helm", True, DEPLOY, now=NOW)
    assert live == live_copy and applied == applied_copy


@pytest.mark.parametrize(("applied", "manager"), [([], "m"), ({"kind": "ConfigMap"}, "")])
def test_ssa_rejects_bad_requests(applied: Any, manager: str) -> None:
    with pytest.raises(PatchError):
        apply_server_side(None, applied, manager, False, CONFIGMAP)


def test_managed_fields_are_stable_and_sorted() -> None:
    one = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    two = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    assert one == two
    fields = one["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    assert list(fields) == sorted(fields)


# --- record_update -------------------------------------------------------------------------
def test_record_update_on_create_and_update() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1"}},
        "data": {"k": "v"},
    }
    created = record_update(None, cm, "kubectl-create", now=NOW)
    assert owned(created, "kubectl-create") == {".metadata.labels.a", ".data.k"}
    entry = created["metadata"]["managedFields"][0]
    assert (entry["operation"], entry["apiVersion"], entry["time"]) == ("Update", "v1", NOW)

    edited = copy.deepcopy(created)
    edited["data"] = {"k": "w", "n": "1"}
    edited["metadata"]["labels"] = {}
    updated = record_update(created, edited, "kubectl-edit", now=NOW)
    assert owned(updated, "kubectl-edit") == {".data.k", ".data.n", ".metadata.labels"}
    assert owned(updated, "kubectl-create") == set()
    assert [e["manager"] for e in updated["metadata"]["managedFields"]] == ["kubectl-edit"]


def test_record_update_without_changes_adds_nothing() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    created = record_update(None, cm, "a", now=NOW)
    same = record_update(created, copy.deepcopy(created), "b", now="2030-01-01T00:00:00Z")
    assert same["metadata"]["managedFields"] == created["metadata"]["managedFields"]


def test_record_update_list_items() -> None:
    before = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    after = copy.deepcopy(before)
    after["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "D", "value": "4"})
    after = record_update(before, after, "kubectl-set", now=NOW)
    assert owned(after, "kubectl-set") == {
        '.spec.template.spec.containers[name="web"].env[name="D"]',
        '.spec.template.spec.containers[name="web"].env[name="D"].name',
        '.spec.template.spec.containers[name="web"].env[name="D"].value',
    }


def test_record_update_honours_managed_fields_sent_by_the_client() -> None:
    before = apply_server_side(None, applied_web(2, WEB_V1), "helm", True, DEPLOY, now=NOW)
    after = copy.deepcopy(before)
    after["metadata"]["managedFields"][0]["manager"] = "renamed"
    result = record_update(before, after, "kubectl-patch", now=NOW)
    assert [e["manager"] for e in result["metadata"]["managedFields"]] == ["renamed"]
    # A client that sends none (a plain PUT of a trimmed object) keeps the live ones.
    bare = copy.deepcopy(before)
    del bare["metadata"]["managedFields"]
    kept = record_update(before, bare, "kubectl-replace", now=NOW)
    assert kept["metadata"]["managedFields"] == before["metadata"]["managedFields"]
