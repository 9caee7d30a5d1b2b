"""Tests for the hand-written Kubernetes protobuf codec.

The fixtures under ``testdata/protobuf`` are request bodies captured from the real helm
and kubectl binaries (see ``testdata/protobuf/README.md``); the expected dicts are the
JSON kubectl itself prints for the same command with ``--dry-run=client -o json`` (less
its ``creationTimestamp: null``).
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.kubesim.protobuf import (
    MAGIC,
    PROTOBUF_CONTENT_TYPE,
    SUPPORTED_KINDS,
    ProtobufError,
    UnsupportedKind,
    decode_body,
    decode_message,
    encode_message,
    encode_object,
    is_protobuf,
)

TESTDATA = Path(__file__).parent / "testdata" / "protobuf"
CT = PROTOBUF_CONTENT_TYPE


def fixture(name: str) -> bytes:
    return (TESTDATA / f"{name}.bin").read_bytes()


# --- tiny wire-format writer, independent of the module under test -----------------------
def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append(n & 0x7F | 0x80)
        n >>= 7


def vfield(num: int, n: int) -> bytes:
    return varint(num << 3) + varint(n)


def lfield(num: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return varint(num << 3 | 2) + varint(len(raw)) + raw


def entry(num: int, key: str, value: bytes | str) -> bytes:
    return lfield(num, lfield(1, key) + lfield(2, value))


def envelope(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    type_meta = lfield(1, api_version) + lfield(2, kind)
    return MAGIC + lfield(1, type_meta) + lfield(2, raw) + lfield(3, encoding) + lfield(4, "")


# --- captured bodies ----------------------------------------------------------------------
def _pod_template(name: str, extra: dict[str, Any], restart: str) -> dict[str, Any]:
    container = {"name": name, "image": "busybox", "command": ["echo", "hi"], "resources": {}}
    return {
        "metadata": {},
        "spec": {"containers": [container | extra], "restartPolicy": restart},
    }


CAPTURED: list[tuple[str, dict[str, Any]]] = [
    (
        "helm3.19-uninstall-deleteoptions",
        {"kind": "DeleteOptions", "apiVersion": "v1"},
    ),
    (
        "helm4.2-uninstall-deleteoptions",
        {"kind": "DeleteOptions", "apiVersion": "v1"},
    ),
    (
        "kubectl1.34-secret-generic",
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "mysec"},
            "data": {"a": "Yg==", "password": "czNjcjN0IQ=="},
        },
    ),
    (
        "kubectl1.34-configmap",
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "mycm"},
            "data": {"k1": "v1", "k2": "v2"},
        },
    ),
    (
        "kubectl1.34-configmap-dryrun",
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cm2"}, "data": {"x": "y"}},
    ),
    (
        "kubectl1.36-secret-docker-registry",
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "myreg"},
            "data": {
                ".dockerconfigjson": base64.b64encode(
                    b'{"auths":{"r.example.com":{"username":"u","password":"p","auth":"dTpw"}}}'
                ).decode()
            },
            "type": "kubernetes.io/dockerconfigjson",
        },
    ),
    (
        "kubectl1.36-namespace",
        {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {"name": "myns"},
            "spec": {},
            "status": {},
        },
    ),
    (
        "kubectl1.36-serviceaccount",
        {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "mysa"}},
    ),
    (
        "kubectl1.36-deployment",
        {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "web2", "labels": {"app": "web2"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web2"}},
                "template": {
                    "metadata": {"labels": {"app": "web2"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "nginx",
                                "image": "nginx",
                                "ports": [{"containerPort": 80}],
                                "resources": {},
                            }
                        ]
                    },
                },
                "strategy": {},
            },
            "status": {},
        },
    ),
    (
        "kubectl1.36-job",
        {
            "kind": "Job",
            "apiVersion": "batch/v1",
            "metadata": {"name": "j1"},
            "spec": {"template": _pod_template("j1", {}, "Never")},
            "status": {},
        },
    ),
    (
        "kubectl1.36-cronjob",
        {
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": {"name": "cj"},
            "spec": {
                "schedule": "*/5 * * * *",
                "jobTemplate": {
                    "metadata": {"name": "cj"},
                    "spec": {"template": _pod_template("cj", {}, "OnFailure")},
                },
            },
            "status": {},
        },
    ),
    (
        "kubectl1.36-service",
        {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {"name": "svc1", "labels": {"app": "svc1"}},
            "spec": {
                "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "selector": {"app": "svc1"},
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        },
    ),
]


@pytest.mark.parametrize(("name", "expected"), CAPTURED, ids=[c[0] for c in CAPTURED])
def test_captured_kubectl_bodies_decode_like_kubectl_json(name: str, expected: dict) -> None:
    assert decode_body(CT, fixture(name)) == expected


ALL_FIXTURES = sorted(p.stem for p in TESTDATA.glob("*.bin"))


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_captured_bodies_reencode_byte_for_byte(name: str) -> None:
    body = fixture(name)
    assert encode_object(decode_body(CT, body)) == body


HELM_RELEASES = [
    ("helm3.19-release-secret-create", "pending-install", "createdAt"),
    ("helm3.19-release-secret-update", "deployed", "modifiedAt"),
    ("helm4.2-release-secret-create", "pending-install", "createdAt"),
    ("helm4.2-release-secret-update", "deployed", "modifiedAt"),
]


@pytest.mark.parametrize(("name", "status", "stamp"), HELM_RELEASES)
def test_helm_release_secret(name: str, status: str, stamp: str) -> None:
    obj = decode_body(CT, fixture(name))
    assert obj["kind"] == "Secret" and obj["apiVersion"] == "v1"
    meta = obj["metadata"]
    assert meta["name"] == "sh.helm.release.v1.myrel.v1"
    assert set(meta) == {"name", "labels"}
    labels = meta["labels"]
    assert {k: labels[k] for k in ("name", "owner", "status", "version")} == {
        "name": "myrel",
        "owner": "helm",
        "status": status,
        "version": "1",
    }
    assert labels[stamp].isdigit()
    assert obj["type"] == "helm.sh/release.v1"
    # JSON base64 of the Secret bytes, which helm itself fills with base64(gzip(json)).
    payload = base64.b64decode(base64.b64decode(obj["data"]["release"]))
    release = json.loads(gzip.decompress(payload))
    assert release["name"] == "myrel"
    assert release["namespace"] == "default"
    assert release["info"]["status"] == status
    assert release["chart"]["metadata"]["name"] == "demo"


# --- field numbers, checked against hand-written wire bytes --------------------------------
def test_object_meta_field_numbers() -> None:
    owner = (
        lfield(1, "Deployment")
        + lfield(3, "web")
        + lfield(4, "uid-1")
        + lfield(5, "apps/v1")
        + vfield(6, 1)
        + vfield(7, 0)
    )
    managed = (
        lfield(1, "helm")
        + lfield(2, "Apply")
        + lfield(3, "v1")
        + lfield(4, vfield(1, 1704067200) + vfield(2, 0))
        + lfield(6, "FieldsV1")
        + lfield(7, lfield(1, '{"f:data":{}}'))
        + lfield(8, "status")
    )
    meta = (
        lfield(1, "n")
        + lfield(2, "gen-")
        + lfield(3, "ns")
        + lfield(4, "/self")
        + lfield(5, "u")
        + lfield(6, "42")
        + vfield(7, 3)
        + lfield(8, vfield(1, 1704067200))
        + lfield(9, vfield(1, 1704067230) + vfield(2, 500))
        + vfield(10, 30)
        + entry(11, "app", "x")
        + entry(12, "note", "y")
        + lfield(13, owner)
        + lfield(14, "a/b")
        + lfield(14, "c/d")
        + lfield(17, managed)
    )
    body = envelope("v1", "ConfigMap", lfield(1, meta) + entry(2, "k", "v"))
    assert decode_body(CT, body) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": "n",
            "generateName": "gen-",
            "namespace": "ns",
            "selfLink": "/self",
            "uid": "u",
            "resourceVersion": "42",
            "generation": 3,
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "deletionTimestamp": "2024-01-01T00:00:30Z",
            "deletionGracePeriodSeconds": 30,
            "labels": {"app": "x"},
            "annotations": {"note": "y"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "uid-1",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
            "finalizers": ["a/b", "c/d"],
            "managedFields": [
                {
                    "manager": "helm",
                    "operation": "Apply",
                    "apiVersion": "v1",
                    "time": "2024-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {}},
                    "subresource": "status",
                }
            ],
        },
        "data": {"k": "v"},
    }


@pytest.mark.parametrize("api_version", ["meta.k8s.io/v1", "v1"])
def test_delete_options_field_numbers(api_version: str) -> None:
    raw = (
        vfield(1, 0)
        + lfield(2, lfield(1, "uid-1") + lfield(2, "7"))
        + vfield(3, 0)
        + lfield(4, "Foreground")
        + lfield(5, "All")
    )
    assert decode_body(CT, envelope(api_version, "DeleteOptions", raw)) == {
        "kind": "DeleteOptions",
        "apiVersion": api_version,
        "gracePeriodSeconds": 0,  # a pointer: zero is meaningful ("delete now")
        "preconditions": {"uid": "uid-1", "resourceVersion": "7"},
        "orphanDependents": False,
        "propagationPolicy": "Foreground",
        "dryRun": ["All"],
    }


def test_empty_delete_options() -> None:
    assert decode_body(CT, envelope("meta.k8s.io/v1", "DeleteOptions", b"")) == {
        "kind": "DeleteOptions",
        "apiVersion": "meta.k8s.io/v1",
    }


def test_secret_and_configmap_field_numbers() -> None:
    secret = lfield(1, b"") + entry(2, "bin", b"\x00\xff") + lfield(3, "Opaque")
    secret += entry(4, "plain", "text") + vfield(5, 0)
    assert decode_body(CT, envelope("v1", "Secret", secret)) == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {},
        "data": {"bin": "AP8="},
        "type": "Opaque",
        "stringData": {"plain": "text"},
        "immutable": False,
    }
    cm = entry(2, "a", "b") + entry(3, "blob", b"\x01") + vfield(4, 1)
    assert decode_body(CT, envelope("v1", "ConfigMap", cm)) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {},
        "data": {"a": "b"},
        "binaryData": {"blob": "AQ=="},
        "immutable": True,
    }


def test_scale_field_numbers_keep_required_zero() -> None:
    raw = lfield(1, lfield(1, "web")) + lfield(2, vfield(1, 0)) + lfield(3, vfield(1, 0))
    assert decode_body(CT, envelope("autoscaling/v1", "Scale", raw)) == {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web"},
        "spec": {},  # replicas is omitempty in ScaleSpec
        "status": {"replicas": 0},  # but not in ScaleStatus
    }


def test_container_field_numbers() -> None:
    quantity = lfield(1, "250m")
    container = (
        lfield(1, "app")
        + lfield(2, "nginx:1.25")
        + lfield(3, "sh")
        + lfield(4, "-c")
        + lfield(5, "/srv")
        + lfield(6, lfield(1, "http") + vfield(3, 8080) + lfield(4, "TCP"))
        + lfield(7, lfield(1, "A") + lfield(2, "1"))
        + lfield(
            7, lfield(1, "S") + lfield(3, lfield(4, lfield(1, lfield(1, "sec")) + lfield(2, "k")))
        )
        + lfield(8, entry(1, "cpu", quantity) + entry(2, "memory", lfield(1, "64Mi")))
        + lfield(9, lfield(1, "data") + lfield(3, "/data"))
        + lfield(14, "IfNotPresent")
        + vfield(16, 1)
        + vfield(18, 1)
        + lfield(19, lfield(2, lfield(1, lfield(1, "cm"))))
    )
    spec = (
        lfield(1, lfield(1, "data") + lfield(2, lfield(2, b"")))
        + lfield(2, container)
        + lfield(3, "Never")
        + lfield(8, "sa")
        + lfield(10, "node-1")
    )
    pod = decode_body(CT, envelope("v1", "Pod", lfield(2, spec)))
    assert pod == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {},
        "spec": {
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.25",
                    "command": ["sh"],
                    "args": ["-c"],
                    "workingDir": "/srv",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "S", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}},
                    ],
                    "resources": {"limits": {"cpu": "250m"}, "requests": {"memory": "64Mi"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "imagePullPolicy": "IfNotPresent",
                    "stdin": True,
                    "tty": True,
                    "envFrom": [{"configMapRef": {"name": "cm"}}],
                }
            ],
            "restartPolicy": "Never",
            "serviceAccountName": "sa",
            "nodeName": "node-1",
        },
        "status": {},
    }


def test_event_field_numbers_and_micro_time() -> None:
    ref = lfield(1, "Pod") + lfield(2, "default") + lfield(3, "p") + lfield(5, "v1")
    raw = (
        lfield(1, lfield(1, "p.1"))
        + lfield(2, ref)
        + lfield(3, "Started")
        + lfield(4, "msg")
        + lfield(5, lfield(1, "kubelet") + lfield(2, "node"))
        + lfield(6, vfield(1, 1704067200))
        + lfield(7, vfield(1, 1704067260))
        + vfield(8, 2)
        + lfield(9, "Normal")
        + lfield(10, vfield(1, 1704067200) + vfield(2, 123456789))
        + lfield(14, "kubelet")
    )
    assert decode_body(CT, envelope("v1", "Event", raw)) == {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "p.1"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "p", "apiVersion": "v1"},
        "reason": "Started",
        "message": "msg",
        "source": {"component": "kubelet", "host": "node"},
        "firstTimestamp": "2024-01-01T00:00:00Z",
        "lastTimestamp": "2024-01-01T00:01:00Z",
        "count": 2,
        "type": "Normal",
        "eventTime": "2024-01-01T00:00:00.123456Z",
        "reportingComponent": "kubelet",
        "reportingInstance": "",  # no omitempty on this one
    }


def test_int_or_string_and_negative_ints() -> None:
    probe = lfield(
        1, lfield(2, lfield(1, "/healthz") + lfield(2, vfield(1, 1) + lfield(3, "http")))
    )
    container = (
        lfield(1, "c")
        + lfield(10, probe)
        + lfield(11, lfield(1, lfield(3, lfield(1, vfield(2, 81)))))
    )
    toleration = lfield(1, "k") + lfield(2, "Exists") + vfield(5, -1)
    spec = lfield(2, container) + lfield(22, toleration)
    pod = decode_body(CT, envelope("v1", "Pod", lfield(2, spec)))
    c = pod["spec"]["containers"][0]
    assert c["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": "http"}}
    assert c["readinessProbe"] == {"tcpSocket": {"port": 81}}
    assert pod["spec"]["tolerations"] == [
        {"key": "k", "operator": "Exists", "tolerationSeconds": -1}
    ]
    assert encode_object(pod) == envelope("v1", "Pod", encode_message("Pod", pod_body(pod)))


def pod_body(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def test_packed_repeated_ints_are_accepted() -> None:
    packed = varint(4 << 3 | 2) + varint(3) + varint(1000) + varint(5)  # 1000 takes 2 bytes
    sec = lfield(14, packed)  # PodSpec.securityContext.supplementalGroups = 4
    pod = decode_body(CT, envelope("v1", "Pod", lfield(2, sec)))
    assert pod["spec"]["securityContext"] == {"supplementalGroups": [1000, 5]}


# --- robustness ---------------------------------------------------------------------------
def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = (
        vfield(99, 7)
        + lfield(100, "future")
        + varint(101 << 3 | 1)
        + b"\x00" * 8
        + varint(102 << 3 | 5)
        + b"\x00" * 4
    )
    meta = lfield(1, "x") + unknown
    raw = lfield(1, meta) + unknown + entry(2, "k", "v")
    assert decode_body(CT, envelope("v1", "ConfigMap", raw)) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "x"},
        "data": {"k": "v"},
    }


MALFORMED = [
    ("no magic", b"\x0a\x00"),
    ("empty", b""),
    ("truncated varint", MAGIC + b"\x0a\x80"),
    ("length past end", MAGIC + b"\x0a\x05ab"),
    ("no kind", MAGIC + lfield(1, lfield(1, "v1"))),
    ("wire type 3", MAGIC + varint(1 << 3 | 3)),
    ("field number 0", MAGIC + b"\x02\x00"),
    ("compressed", envelope("v1", "ConfigMap", b"", encoding="gzip")),
    ("string as varint", envelope("v1", "ConfigMap", lfield(1, vfield(1, 5)))),
    ("int as bytes", envelope("v1", "Namespace", lfield(1, lfield(7, "x")))),
    ("bad utf-8", envelope("v1", "ConfigMap", lfield(1, lfield(1, b"\xff\xfe")))),
    ("message as varint", envelope("v1", "ConfigMap", vfield(1, 1))),
    ("bad FieldsV1", envelope("v1", "ConfigMap", lfield(1, lfield(17, lfield(7, lfield(1, "{")))))),
    ("overlong varint", MAGIC + b"\x08" + b"\xff" * 11),
]


@pytest.mark.parametrize(("label", "body"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_bodies_raise_protobuf_error(label: str, body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_body(CT, body)


def test_protobuf_error_is_a_value_error() -> None:
    assert issubclass(ProtobufError, ValueError)


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("application/vnd.kubernetes.protobuf", True),
        ("application/vnd.kubernetes.protobuf; charset=binary", True),
        ("application/json", False),
        ("", False),
    ],
)
def test_content_type(content_type: str, ok: bool) -> None:
    assert is_protobuf(content_type) is ok
    body = fixture("kubectl1.34-configmap")
    if ok:
        assert decode_body(content_type, body)["kind"] == "ConfigMap"
    else:
        with pytest.raises(ProtobufError):
            decode_body(content_type, body)


@pytest.mark.parametrize(
    ("api_version", "kind"), [("v1", "Node"), ("apps/v1beta1", "Deployment"), ("foo.io/v1", "Bar")]
)
def test_unsupported_kind(api_version: str, kind: str) -> None:
    with pytest.raises(UnsupportedKind) as info:
        decode_body(CT, envelope(api_version, kind, b""))
    assert (info.value.api_version, info.value.kind) == (api_version, kind)
    with pytest.raises(UnsupportedKind):
        encode_object({"apiVersion": api_version, "kind": kind})


def test_supported_kinds_cover_the_brief() -> None:
    for pair in [
        ("v1", "Secret"),
        ("v1", "ConfigMap"),
        ("v1", "Namespace"),
        ("v1", "ServiceAccount"),
        ("v1", "Event"),
        ("v1", "Pod"),
        ("autoscaling/v1", "Scale"),
        ("meta.k8s.io/v1", "DeleteOptions"),
        ("v1", "DeleteOptions"),
    ]:
        assert pair in SUPPORTED_KINDS


# --- round trips of rich objects -----------------------------------------------------------
RICH_POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "debug",
        "namespace": "default",
        "uid": "0b6f",
        "resourceVersion": "12",
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "labels": {"app": "web", "tier": "be"},
        "annotations": {"a": "b"},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-1",
                "uid": "u",
                "controller": True,
            }
        ],
        "finalizers": ["x/y"],
    },
    "spec": {
        "volumes": [
            {
                "name": "cfg",
                "configMap": {
                    "name": "cm",
                    "items": [{"key": "k", "path": "p"}],
                    "defaultMode": 420,
                },
            },
            {"name": "sec", "secret": {"secretName": "s", "optional": False}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "pvc", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
        ],
        "initContainers": [{"name": "init", "image": "busybox", "resources": {}}],
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "command": ["nginx"],
                "args": ["-g", "daemon off;"],
                "workingDir": "/srv",
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "envFrom": [
                    {"prefix": "CFG_", "configMapRef": {"name": "cm"}},
                    {"secretRef": {"name": "s"}},
                ],
                "env": [
                    {"name": "PLAIN", "value": "1"},
                    {"name": "EMPTY"},
                    {
                        "name": "S",
                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}},
                    },
                    {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                    {
                        "name": "N",
                        "valueFrom": {
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}
                        },
                    },
                    {
                        "name": "R",
                        "valueFrom": {
                            "resourceFieldRef": {
                                "containerName": "web",
                                "resource": "limits.cpu",
                                "divisor": "1m",
                            }
                        },
                    },
                ],
                "resources": {
                    "limits": {"cpu": "1", "memory": "128Mi"},
                    "requests": {"cpu": "100m"},
                },
                "volumeMounts": [
                    {"name": "cfg", "readOnly": True, "mountPath": "/etc/cfg", "subPath": "p"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": 80, "scheme": "HTTP"},
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                    "failureThreshold": 3,
                },
                "readinessProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": 1},
                "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "Always",
                "securityContext": {
                    "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                    "privileged": False,
                    "runAsUser": 1000,
                    "runAsNonRoot": True,
                    "readOnlyRootFilesystem": True,
                    "allowPrivilegeEscalation": False,
                },
                "stdin": True,
                "stdinOnce": True,
                "tty": True,
            }
        ],
        "ephemeralContainers": [
            {
                "name": "dbg",
                "image": "busybox",
                "resources": {},
                "targetContainerName": "web",
                "stdin": True,
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"disk": "ssd"},
        "serviceAccountName": "sa",
        "automountServiceAccountToken": False,
        "nodeName": "node-1",
        "securityContext": {"fsGroup": 2000, "supplementalGroups": [1, 2]},
        "imagePullSecrets": [{"name": "reg"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "zone", "operator": "In", "values": ["a", "b"]}
                            ]
                        }
                    ]
                }
            }
        },
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a.local"]}],
        "priority": 0,
        "enableServiceLinks": True,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "web"}},
            }
        ],
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:05Z"}
        ],
        "podIP": "10.1.0.5",
        "startTime": "2024-01-01T00:00:01Z",
        "containerStatuses": [
            {
                "name": "web",
                "state": {"running": {"startedAt": "2024-01-01T00:00:02Z"}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "nginx:1.25",
                "imageID": "",
                "started": True,
            }
        ],
    },
}

ROUND_TRIPS: list[dict[str, Any]] = [
    RICH_POD,
    {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "generation": 4},
        "spec": {
            "replicas": 0,  # pointer: zero survives
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx", "resources": {}}]},
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {"observedGeneration": 4, "replicas": 2, "readyReplicas": 2},
    },
    {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "source": {},
        "eventTime": "2024-01-01T00:00:00.500000Z",
        "series": {"count": 3, "lastObservedTime": "2024-01-01T00:05:00.000001Z"},
        "action": "Pulling",
        "related": {"kind": "Node", "name": "n"},
        "reportingComponent": "kubelet",
        "reportingInstance": "node-1",
    },
    {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "default", "resourceVersion": "5"},
        "spec": {"replicas": 3},
        "status": {"replicas": 1, "selector": "app=web"},
    },
    {
        "kind": "DeleteOptions",
        "apiVersion": "meta.k8s.io/v1",
        "gracePeriodSeconds": 5,
        "preconditions": {"uid": "u", "resourceVersion": "9"},
        "propagationPolicy": "Background",
        "dryRun": ["All"],
    },
    {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": {"name": "sa"},
        "secrets": [{"name": "tok"}],
        "imagePullSecrets": [{"name": "reg"}],
        "automountServiceAccountToken": True,
    },
    {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "ns"},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    },
    {
        "kind": "StatefulSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {},
                "spec": {"containers": [{"name": "db", "image": "pg", "resources": {}}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                    "status": {},
                }
            ],
            "serviceName": "db",
            "updateStrategy": {},
        },
        "status": {"replicas": 0, "availableReplicas": 0},
    },
    {
        "kind": "Ingress",
        "apiVersion": "networking.k8s.io/v1",
        "metadata": {"name": "web"},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["a.example"], "secretName": "tls"}],
            "rules": [
                {
                    "host": "a.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
        "status": {"loadBalancer": {}},
    },
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "kind": "secrets"},
        "code": 404,
    },
]


@pytest.mark.parametrize("obj", ROUND_TRIPS, ids=[o["kind"] for o in ROUND_TRIPS])
def test_round_trip(obj: dict[str, Any]) -> None:
    body = encode_object(obj)
    assert body.startswith(MAGIC)
    assert decode_body(CT, body) == obj


def test_zero_values_follow_go_json() -> None:
    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "spec": {
            "containers": [
                {"name": "c", "stdin": False, "ports": [{"containerPort": 80, "hostPort": 0}]}
            ]
        },
    }
    got = decode_body(CT, encode_object(pod))
    # Non-pointer zero scalars with omitempty vanish; non-pointer structs appear as {}.
    assert got == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}], "resources": {}}]},
        "status": {},
    }


def test_time_with_offset_and_fraction_is_normalised() -> None:
    obj = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"creationTimestamp": "2024-01-01T02:00:00.75+02:00"},
    }
    got = decode_body(CT, encode_object(obj))
    assert got["metadata"] == {"creationTimestamp": "2024-01-01T00:00:00Z"}


def test_strict_encoding_rejects_unknown_keys() -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x", "bogus": 1}}
    with pytest.raises(ProtobufError, match="bogus"):
        encode_object(obj)
    lenient = decode_body(CT, encode_object(obj, strict=False))
    assert lenient["metadata"] == {"name": "x"}


@pytest.mark.parametrize(
    "obj",
    [
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": 5}},
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"generation": "3"}},
        {"kind": "Secret", "apiVersion": "v1", "data": {"a": "not base64!"}},
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"creationTimestamp": "yesterday"}},
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"finalizers": "x"}},
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": "x"},
        {"apiVersion": "v1"},
    ],
)
def test_encoding_bad_values_raises(obj: dict[str, Any]) -> None:
    with pytest.raises(ProtobufError):
        encode_object(obj)


def test_repeated_message_occurrences_merge() -> None:
    # Protobuf semantics: a singular message field seen twice is merged.
    raw = lfield(1, lfield(1, "n")) + lfield(1, lfield(3, "ns"))
    assert decode_message("ConfigMap", raw) == {"metadata": {"name": "n", "namespace": "ns"}}
