"""The values schema: every key lain understands, as plain Python data.

Each key is a node (``Str``, ``Int``, ``Mapping``, ``MapOf``, ``ListOf``, ...)
carrying its type, default, one-line description and an example, so the same
data drives validation (:func:`validate_values`) and the values reference in
the docs (:func:`iter_keys`).  Kubernetes structures that lain passes through
untouched (resources, probes, affinity, volumes, ...) are *open* mappings: their
well-known fields are checked, anything else valid in Kubernetes is allowed.

Problems carry the key path as a tuple; the caller maps it to a file and line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]
Check = Callable[[Any], str | None]

MAX_NAME = 63
# StatefulSet pods carry a controller-revision-hash label "<name>-<hash>" and
# CronJobs append an 11-character suffix to their Jobs: both need shorter names.
MAX_STS_NAME = 52
MAX_CRONJOB_NAME = 52
MAX_RELEASE_NAME = 53  # helm's limit
# The sizes lain is made for (docs/values.rst, "Sizes"): past them, helm and the
# schema checks of every rendered object take minutes, so lain refuses instead.
MAX_WORKLOADS = 500
MAX_INGRESSES = 500
# helm's client-side patch of an env list grows with the square of its length;
# Linux starts no process whose environment passes 2 MiB (ARG_MAX with the usual stack)
MAX_ENV = 2000
MAX_ENV_BYTES = 1024 * 1024

RFC1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")

DEFAULT_ERROR_LOG_PATTERN = r"(?i)\b(error|exception|traceback|fatal|panic)\b"
DEFAULT_SECRET_MOUNT_PATH = "/lain/secrets"


# -- nodes ------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A key's type.  Subclasses that add no field are not decorated again: they
    inherit Node's generated methods (and each decoration costs start-up time)."""

    description: str = ""
    default: Any = None
    example: str | None = None
    check: Check | None = None
    # Consumed by lain itself (build, notices, status, the image tag), never by
    # the chart.  Every other key must show in the rendered manifests
    # (tests/test_chart.py::test_no_schema_key_is_silently_ignored).
    lain_only: bool = False

    type_name = "value"

    def accepts(self, value: Any) -> bool:
        return True


@dataclass(frozen=True)
class Str(Node):
    choices: tuple[str, ...] = ()
    type_name = "string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str)


class Tag(Node):
    """An image tag: a string, though YAML reads ``1234567`` as an integer (accepted).

    A float is refused: ``1.10`` would silently become the tag ``1.1``.
    """

    type_name = "string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Int(Node):
    min: int | None = None
    max: int | None = None
    type_name = "integer"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class Number(Node):
    """An integer or a decimal number (seconds, ratios)."""

    type_name = "number"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)


class Bool(Node):
    type_name = "boolean"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


class Scalar(Node):
    """A string, number or boolean (annotation and env values)."""

    type_name = "string, number or boolean"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int | float | bool)


class IntOrStr(Node):
    """An integer or a string such as ``25%`` (Kubernetes IntOrString)."""

    type_name = "integer or string"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int) and not isinstance(value, bool)


class Quantity(Node):
    """A Kubernetes quantity: ``500m``, ``1``, ``0.5``, ``256Mi``."""

    type_name = "quantity"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str | int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Mapping(Node):
    """A mapping with known keys.  ``open`` ones also allow any other key."""

    fields: dict[str, Node] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # exactly one of these keys must be present
    open: bool = False
    type_name = "mapping"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)


@dataclass(frozen=True)
class MapOf(Node):
    """A mapping with user-chosen keys (procs, env, annotations)."""

    value: Node = field(default_factory=Node)
    key_kind: str = "any"  # "name": an RFC 1123 label, "env": an env var name
    placeholder: str = "<name>"
    type_name = "mapping"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)


@dataclass(frozen=True)
class ListOf(Node):
    item: Node = field(default_factory=Node)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)

    @property
    def type_name(self) -> str:  # type: ignore[override]
        inner = {"string": "strings", "mapping": "mappings"}.get(self.item.type_name)
        return f"list of {inner}" if inner else "list"


@dataclass(frozen=True)
class Either(Node):
    options: tuple[Node, ...] = ()

    def accepts(self, value: Any) -> bool:
        return any(o.accepts(value) for o in self.options)

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return " or ".join(o.type_name for o in self.options)


# -- checks -----------------------------------------------------------------


def _regex_compiles(value: Any) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    return None


def _absolute_path(value: Any) -> str | None:
    return None if value.startswith("/") else f"must be an absolute path, got {value!r}"


def _url(value: Any) -> str | None:
    return None if re.match(r"^https?://\S+$", value) else f"not an http(s) URL: {value!r}"


def _quantity(value: Any) -> str | None:
    if not QUANTITY.match(str(value)):
        return f"not a Kubernetes quantity: {value!r} (e.g. 500m, 1, 256Mi, 2Gi)"
    return None


def _memory(value: Any) -> str | None:
    problem = _quantity(value)
    if problem:
        return problem
    if isinstance(value, str) and value.endswith("m"):
        return f"{value!r} means {value[:-1]}/1000 of a byte; did you mean {value[:-1]}Mi?"
    return None


def _percent_or_int(value: Any) -> str | None:
    if isinstance(value, str) and not re.match(r"^\d+%$", value):
        return f"expected an integer or a percentage like 25%, got {value!r}"
    return None


def _host(value: Any) -> str | None:
    if not DNS_SUBDOMAIN.match(value) or len(value) > 253:
        return f"not a valid host name: {value!r} (lowercase letters, digits, '-' and '.')"
    return None


def _http_path(value: Any) -> str | None:
    return None if value.startswith("/") else f"an ingress path must start with '/', got {value!r}"


# -- the schema -------------------------------------------------------------

ANNOTATIONS = MapOf(value=Scalar(), description="Kubernetes annotations (values are quoted for you).",
                    example="{prometheus.io/scrape: 'true'}")
STRINGS = ListOf(item=Str())

ENV = Either(
    options=(
        MapOf(value=Scalar(), key_kind="env", placeholder="<NAME>"),
        ListOf(item=Mapping(fields={"name": Str(), "value": Scalar(), "valueFrom": Mapping(open=True)},
                            required=("name",), open=True)),
    ),
    description="Non-secret environment variables: NAME: value, or a Kubernetes env list.",
    example="{FOO: bar}",
)

RESOURCE_LIST = Mapping(
    fields={"cpu": Quantity(check=_quantity), "memory": Quantity(check=_memory)},
    open=True,
    description="Quantities per resource: cpu (1000m is one core), memory (Mi, Gi).",
)
RESOURCES = Mapping(
    fields={"limits": RESOURCE_LIST, "requests": RESOURCE_LIST,
            "claims": ListOf(item=Mapping(open=True), description="Dynamic resource claims, passed through.")},
    description="Container resources (Kubernetes ResourceRequirements).",
    example="{limits: {cpu: 1000m, memory: 80Mi}, requests: {cpu: 10m, memory: 80Mi}}",
)


def _probe(what: str) -> Mapping:
    return Mapping(
        fields={
            "httpGet": Mapping(open=True), "exec": Mapping(open=True), "tcpSocket": Mapping(open=True),
            "grpc": Mapping(open=True),
            "initialDelaySeconds": Int(min=0), "periodSeconds": Int(min=1), "timeoutSeconds": Int(min=1),
            "successThreshold": Int(min=1), "failureThreshold": Int(min=1),
            "terminationGracePeriodSeconds": Int(min=0),
        },
        one_of=("httpGet", "exec", "tcpSocket", "grpc"),
        open=True,
        description=f"{what} (Kubernetes Probe).",
        example="{httpGet: {path: /healthz, port: 5000}, periodSeconds: 5}",
    )


VOLUME = Mapping(fields={"name": Str()}, required=("name",), open=True)
VOLUMES = ListOf(item=VOLUME, description="Kubernetes volumes, mountable with volumeMounts.",
                 example="[{name: data, hostPath: {path: /data}}]")
VOLUME_MOUNTS = ListOf(
    item=Mapping(fields={"name": Str(), "mountPath": Str(check=_absolute_path), "subPath": Str(),
                         "readOnly": Bool()},
                 required=("mountPath",), open=True),
    description="Volume mounts; an entry without name mounts the file subPath from lain secret.",
    example="[{subPath: topsecret.txt, mountPath: /lain/app/deploy/topsecret.txt}]",
)
INIT_CONTAINERS = ListOf(
    item=Mapping(fields={"name": Str(), "image": Str(), "imageTag": Tag(), "command": STRINGS,
                         "args": STRINGS, "workingDir": Str(), "env": ENV, "volumeMounts": VOLUME_MOUNTS,
                         "resources": RESOURCES},
                 required=("name",), open=True),
    description="Init containers (the app's image unless image is given).",
    example="[{name: backup, image: ubuntu, command: [bash, -c, 'backup.sh']}]",
)

# Fields every workload (deployment, statefulSet, job, cronjob, test) has.
CONTAINER_FIELDS: dict[str, Node] = {
    "image": Str(description="A fixed image instead of the app's own, e.g. kibana:7.5.0."),
    "imageTag": Tag(description="Lock this workload to a tag of the app's image, whatever lain deploy builds."),
    "imagePullPolicy": Str(choices=("Always", "IfNotPresent", "Never"), default="Always",
                           description="Kubernetes imagePullPolicy."),
    "command": ListOf(item=Str(), description="The container command (exec form).",
                      example='["/lain/app/run.py"]'),
    "args": ListOf(item=Str(), description="Arguments to the command."),
    "workingDir": Str(description="Working directory in the container."),
    "env": ENV,
    "resources": RESOURCES,
    "volumes": ListOf(item=VOLUME, description="Volumes for this workload only, added to the app's."),
    "volumeMounts": ListOf(item=VOLUME_MOUNTS.item,
                           description="Mounts for this workload only, added to the app's."),
    "readinessProbe": _probe("Readiness probe"),
    "livenessProbe": _probe("Liveness probe"),
    "startupProbe": _probe("Startup probe"),
    "lifecycle": Mapping(fields={"postStart": Mapping(open=True), "preStop": Mapping(open=True)}, open=True,
                         description="Container lifecycle hooks (Kubernetes Lifecycle)."),
    "securityContext": Mapping(open=True, description="Container securityContext."),
    "podSecurityContext": Mapping(open=True, description="Pod securityContext, e.g. {runAsUser: 0}."),
    "serviceAccountName": Str(description="Service account of the pods."),
    "terminationGracePeriodSeconds": Int(min=0, default=100, description="Grace period on stop, seconds."),
    "podAnnotations": ANNOTATIONS,
    "annotations": ANNOTATIONS,
    "labels": MapOf(value=Scalar(), description="Extra labels for this workload and its pods."),
    "nodeSelector": MapOf(value=Scalar(), description="Node labels the pods must match."),
    "affinity": Mapping(fields={"nodeAffinity": Mapping(open=True), "podAffinity": Mapping(open=True),
                                "podAntiAffinity": Mapping(open=True)},
                        open=True, description="Kubernetes affinity."),
    "tolerations": ListOf(item=Mapping(open=True), description="Kubernetes tolerations."),
    "nodes": ListOf(item=Str(), description="Node names (their kubernetes.io/hostname label) the pods must run on: "
                                            "a required node affinity, added to any affinity given."),
    "hostNetwork": Bool(default=False, description="Use the node's network namespace."),
    "hostAliases": ListOf(item=Mapping(fields={"ip": Str(), "hostnames": STRINGS}, required=("ip",), open=True),
                          description="Extra /etc/hosts entries for this workload."),
    "initContainers": INIT_CONTAINERS,
}

JOB_FIELDS: dict[str, Node] = {
    "ttlSecondsAfterFinished": Int(min=0, description="Delete the finished Job after this many seconds.",
                                   example="86400"),
    "activeDeadlineSeconds": Int(min=1, description="Fail the Job after this many seconds.", example="3600"),
    "backoffLimit": Int(min=0, description="Retries before the Job fails.", example="0"),
    "completions": Int(min=1, description="Pods that must complete."),
    "parallelism": Int(min=0, description="Pods run at the same time."),
    "restartPolicy": Str(choices=("Never", "OnFailure"), default="Never", description="Pod restartPolicy."),
}

SERVICE_FIELDS: dict[str, Node] = {
    "containerPort": Int(min=1, max=65535, description="The port the container listens on; makes a Service.",
                         example="5000"),
    "nodePort": Int(min=1, max=65535, description="Expose the Service on this node port (usually 30000-32767)."),
    "protocol": Str(choices=("TCP", "UDP", "SCTP"), default="TCP", description="Protocol of the port."),
}

HPA = Mapping(
    fields={
        "minReplicas": Int(min=1, description="Defaults to replicaCount."),
        "maxReplicas": Int(min=1, description="Upper bound of replicas."),
        "metrics": ListOf(item=Mapping(open=True), description="autoscaling/v2 MetricSpecs (default: 80% cpu)."),
        "behavior": Mapping(open=True, description="autoscaling/v2 HorizontalPodAutoscalerBehavior."),
    },
    required=("maxReplicas",),
    description="A HorizontalPodAutoscaler for this proc.",
    example="{maxReplicas: 10}",
)

PDB = Mapping(
    fields={"minAvailable": IntOrStr(check=_percent_or_int, description="Pods that must stay up (n or n%)."),
            "maxUnavailable": IntOrStr(check=_percent_or_int, description="Pods that may be down (n or n%).")},
    one_of=("minAvailable", "maxUnavailable"),
    description="A PodDisruptionBudget for this proc: minAvailable or maxUnavailable.",
    example="{maxUnavailable: 1}",
)

DEPLOYMENT = Mapping(
    fields={
        "replicaCount": Int(min=0, default=1, description="Number of pods.", example="1"),
        **SERVICE_FIELDS,
        **CONTAINER_FIELDS,
        "strategy": Mapping(fields={"type": Str(choices=("RollingUpdate", "Recreate")),
                                    "rollingUpdate": Mapping(fields={"maxSurge": IntOrStr(),
                                                                     "maxUnavailable": IntOrStr()},
                                                             open=True)},
                            open=True, description="Deployment strategy, passed through.",
                            example="{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}"),
        "minReadySeconds": Int(min=0, default=0, description="Seconds a new pod must be ready to count."),
        "hpa": HPA,
        "podDisruptionBudget": PDB,
    },
    description="A long-running process of the app (a Deployment).",
)

STATEFULSET = Mapping(
    fields={
        "replicaCount": Int(min=0, default=1, description="Number of pods.", example="1"),
        **SERVICE_FIELDS,
        **CONTAINER_FIELDS,
        "updateStrategy": Mapping(fields={"type": Str(choices=("RollingUpdate", "OnDelete"))}, open=True,
                                  description="StatefulSet updateStrategy, passed through."),
        "podManagementPolicy": Str(choices=("OrderedReady", "Parallel"), description="StatefulSet pod policy."),
        "volumeClaimTemplates": ListOf(item=Mapping(open=True), description="PVC templates, passed through."),
        "minReadySeconds": Int(min=0, default=0, description="Seconds a new pod must be ready to count."),
        "podDisruptionBudget": PDB,
    },
    description="A process with stable identity (a StatefulSet).",
)

JOB = Mapping(
    fields={**CONTAINER_FIELDS, **JOB_FIELDS},
    description="A Job; annotate it as a helm hook (helm.sh/hook: pre-upgrade) to run it before every deploy.",
)

CRONJOB = Mapping(
    fields={
        "schedule": Str(description="Cron schedule, in the cluster's time zone.", example="'0 17 * * *'"),
        "timeZone": Str(description="Time zone of the schedule, e.g. Asia/Shanghai."),
        "concurrencyPolicy": Str(choices=("Allow", "Forbid", "Replace"), default="Replace",
                                 description="What to do when the previous run is still going."),
        "successfulJobsHistoryLimit": Int(min=0, default=1, description="Finished Jobs kept."),
        "failedJobsHistoryLimit": Int(min=0, default=1, description="Failed Jobs kept."),
        "startingDeadlineSeconds": Int(min=0, description="Skip a run that cannot start in time."),
        "suspend": Bool(default=False, description="Pause the schedule."),
        **CONTAINER_FIELDS,
        **JOB_FIELDS,
    },
    required=("schedule",),
    description="A CronJob.",
)

TEST = Mapping(fields=dict(CONTAINER_FIELDS), description="A helm test pod, run after deploy.")

INGRESS = Mapping(
    fields={
        "host": Str(check=_host, description="Host name; without a dot the cluster's domain is appended.",
                    example="dummy"),
        "deployName": Str(description="The proc (with a containerPort) the traffic goes to.", example="web"),
        "paths": ListOf(item=Str(check=_http_path), default=["/"], description="URL path prefixes.",
                        example="[/]"),
        "annotations": ANNOTATIONS,
        "ingressClassName": Str(description="Overrides the cluster's ingress class."),
        "tls": Either(options=(Bool(), Mapping(open=True)), description="TLS settings, passed through."),
    },
    required=("host", "deployName"),
)

WEBHOOK = Mapping(
    fields={
        "url": Str(check=_url, description="Incoming webhook URL."),
        "provider": Str(choices=("slack", "feishu", "dingtalk", "wecom", "generic"), default="feishu",
                        description="Message format."),
        "clusters": ListOf(item=Str(), description="Only notify for these clusters (default: all)."),
    },
    required=("url",),
    description="Where deploy notices go, overriding the cluster's webhook.",
    lain_only=True,
    example="{url: https://open.feishu.cn/open-apis/bot/v2/hook/xxx, clusters: [prod]}",
)

BUILD_ENV = MapOf(value=Scalar(), key_kind="env", placeholder="<NAME>",
                  description="ENV lines for the generated Dockerfile.")
BUILD = Mapping(
    fields={
        "base": Str(description="Base image of the generated Dockerfile.", example="python:3.11"),
        "env": BUILD_ENV,
        "args": MapOf(value=Scalar(), key_kind="env", placeholder="<NAME>",
                      description="Build arguments: an ARG line in the generated Dockerfile and a --build-arg "
                                  "(also for the app's own Dockerfile). In the repo, so never a secret: "
                                  "`lain build --build-arg NAME` takes one from the environment."),
        "prepare": Mapping(fields={"script": ListOf(item=Str(), description="Commands installing dependencies."),
                                   "keep": ListOf(item=Str(), description="Files kept after prepare "
                                                                          "(everything else is removed)."),
                                   "env": BUILD_ENV},
                           description="A cached dependency layer: script runs, then only keep is kept."),
        "script": ListOf(item=Str(), description="Build commands (RUN lines)."),
        "workingDir": Str(check=_absolute_path, default="/lain/app",
                          description="Where the repo is copied and the commands run (WORKDIR)."),
    },
    description="Generate a Dockerfile for `lain build` (and `deploy --build`) when the app has none.",
    lain_only=True,
)

RELEASE = Mapping(
    fields={"dest_base": Str(description="Base image of the final stage."), "env": BUILD_ENV,
            "copy": ListOf(item=Mapping(fields={"src": Str(description="Path in the build stage."),
                                                "dest": Str(description="Path in the final image (default src).")},
                                        required=("src",)),
                           description="What to copy from the build stage.")},
    description="lain4: copy build results into a smaller final image (not supported yet: a warning).",
    lain_only=True,
)

VALUES = Mapping(
    fields={
        "appname": Str(description="Names the release, every object, the image and the secrets.",
                       example="dummy"),
        "releaseName": Str(description="Helm release name (default appname); set it to release the app twice."),
        "imageTag": Tag(description="The image tag to deploy (default: git short sha of HEAD).", lain_only=True),
        "env": ENV,
        "labels": MapOf(value=Scalar(), description="Extra labels on every object.", example="{team: web}"),
        "hostAliases": ListOf(item=Mapping(fields={"ip": Str(), "hostnames": STRINGS}, required=("ip",),
                                           open=True),
                              description="Extra /etc/hosts entries for every pod."),
        "volumes": VOLUMES,
        "volumeMounts": VOLUME_MOUNTS,
        "persistentVolumeClaims": MapOf(value=Mapping(fields={"accessModes": STRINGS,
                                                               "resources": Mapping(open=True),
                                                               "storageClassName": Str()}, open=True),
                                        key_kind="name",
                                        description="PVCs to create, each also a volume of the same name.",
                                        example="{data: {accessModes: [ReadWriteOnce], resources: "
                                                "{requests: {storage: 1Gi}}}}"),
        "extraEnvFrom": ListOf(item=Mapping(open=True),
                               description="More Secrets/ConfigMaps for every container's envFrom.",
                               example="[{secretRef: {name: another-env}}]"),
        "serviceAccountName": Str(description="Service account of every pod (per-proc one wins)."),
        "nodeSelector": MapOf(value=Scalar(), description="Node labels every pod must match (per-proc one wins)."),
        "affinity": Mapping(open=True, description="Affinity of every pod (per-proc one wins)."),
        "tolerations": ListOf(item=Mapping(open=True), description="Tolerations of every pod (per-proc wins)."),
        "ingressAnnotations": ANNOTATIONS,
        "externalIngressAnnotations": ANNOTATIONS,
        "serviceAnnotations": ANNOTATIONS,
        "networkPolicy": Mapping(fields={"spec": Mapping(open=True)}, open=True,
                                 description="A NetworkPolicy for the app (its spec, passed through)."),
        "webhook": WEBHOOK,
        "build": BUILD,
        "release": RELEASE,
        "secretMountPath": Str(check=_absolute_path, default=DEFAULT_SECRET_MOUNT_PATH,
                               description="Where the files of lain secret are mounted."),
        "errorLogPattern": Str(check=_regex_compiles, default=DEFAULT_ERROR_LOG_PATTERN,
                               description="Regex for error lines that `lain status` reports.", lain_only=True),
        "canaryGroups": MapOf(value=Mapping(open=True), description="lain4 canary groups: not supported yet.",
                              lain_only=True),
        "prometheus_query_range": Str(description="lain4: not used by lain.", lain_only=True),
        "deployments": MapOf(value=DEPLOYMENT, key_kind="name", placeholder="<proc>",
                             description="Long-running processes, each a Deployment."),
        "statefulSets": MapOf(value=STATEFULSET, key_kind="name", placeholder="<proc>",
                              description="Processes with stable identity, each a StatefulSet."),
        "jobs": MapOf(value=JOB, key_kind="name", placeholder="<job>",
                      description="Jobs, e.g. migrations run as pre-upgrade hooks."),
        "cronjobs": MapOf(value=CRONJOB, key_kind="name", placeholder="<cronjob>",
                          description="Scheduled jobs."),
        "tests": MapOf(value=TEST, key_kind="name", placeholder="<test>",
                       description="helm test pods run after deploy."),
        "ingresses": ListOf(item=INGRESS, description="Ingress rules (internal domain)."),
        "externalIngresses": ListOf(item=INGRESS, description="Ingress rules (public domain)."),
    },
    required=("appname",),
)

WORKLOAD_KINDS = {
    "deployments": "deployment",
    "statefulSets": "statefulset",
    "jobs": "job",
    "cronjobs": "cronjob",
    "tests": "test",
}

# lain4 keys accepted but doing nothing yet: warned about, never silently ignored.
NOT_SUPPORTED = {
    "canaryGroups": "not supported yet; the canary groups are ignored",
    "prometheus_query_range": "not used by lain; ignored",
    "release": "lain4's multi-stage release build is not supported yet; build.* makes the image, release is ignored",
}


def lain_defaults() -> dict[str, Any]:
    """The first layer of every merge: lain's own top-level defaults."""
    return {"secretMountPath": DEFAULT_SECRET_MOUNT_PATH, "errorLogPattern": DEFAULT_ERROR_LOG_PATTERN}


# -- introspection ----------------------------------------------------------


@dataclass(frozen=True)
class KeyDoc:
    path: str
    type: str
    default: Any
    description: str
    example: str | None
    lain_only: bool = False  # the key or one above it is consumed by lain, not the chart


def iter_keys(node: Node = VALUES, prefix: str = "", lain_only: bool = False) -> Iterator[KeyDoc]:
    """Every documented key, depth first, as ``deployments.<proc>.replicaCount`` style paths."""
    if isinstance(node, Mapping):
        for name, child in node.fields.items():
            path = f"{prefix}.{name}" if prefix else name
            own = lain_only or child.lain_only
            yield KeyDoc(path, _type_doc(child), child.default, child.description, child.example, own)
            yield from _children(child, path, own)


def _children(node: Node, path: str, lain_only: bool) -> Iterator[KeyDoc]:
    if isinstance(node, Mapping) and node.fields and not node.open:
        yield from iter_keys(node, path, lain_only)
    elif isinstance(node, MapOf) and isinstance(node.value, Mapping) and node.value.fields \
            and not node.value.open:
        yield from iter_keys(node.value, f"{path}.{node.placeholder}", lain_only)
    elif isinstance(node, ListOf) and isinstance(node.item, Mapping) and not node.item.open:
        yield from iter_keys(node.item, f"{path}[]", lain_only)


def _type_doc(node: Node) -> str:
    if isinstance(node, Str) and node.choices:
        return " | ".join(node.choices)
    if isinstance(node, Int) and (node.min is not None or node.max is not None):
        lo = "" if node.min is None else str(node.min)
        hi = "" if node.max is None else str(node.max)
        return f"integer ({lo}..{hi})"
    return node.type_name


# -- validation -------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    severity: str = "error"  # or "warning"


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_ARTICLE = {"integer or string": "an integer or a string"}


def _a(type_name: str) -> str:
    if type_name in _ARTICLE:
        return _ARTICLE[type_name]
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'a string ("{shown}")'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def suggest(word: str, candidates: Sequence[str]) -> str | None:
    """The closest candidate to ``word`` (case-insensitive), or None."""
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def check_node(node: Node, value: Any, path: Path, problems: list[Problem]) -> None:
    """Check ``value`` against ``node``, appending what is wrong to ``problems``."""
    if not node.accepts(value):
        problems.append(Problem(path, f"expected {_a(node.type_name)}, got {describe_value(value)}"))
        return
    if isinstance(node, Either):
        for option in node.options:
            if option.accepts(value):
                check_node(option, value, path, problems)
                break
    elif isinstance(node, Str) and node.choices and value not in node.choices:
        hint = suggest(value, node.choices)
        problems.append(Problem(path, f"must be one of {', '.join(node.choices)}, got {value!r}"
                                + (f"; did you mean {hint}?" if hint else "")))
        return
    elif isinstance(node, Int):
        if node.min is not None and value < node.min:
            problems.append(Problem(path, _range_message(node, value)))
            return
        if node.max is not None and value > node.max:
            problems.append(Problem(path, _range_message(node, value)))
            return
    elif isinstance(node, Mapping):
        _check_mapping(node, value, path, problems)
    elif isinstance(node, MapOf):
        for key, item in value.items():
            key_problem = _check_key(node.key_kind, key)
            if key_problem:
                problems.append(Problem((*path, key), key_problem))
                continue
            if item is None and isinstance(node.value, Mapping):
                item = {}
            check_node(node.value, item, (*path, key), problems)
    elif isinstance(node, ListOf):
        for index, item in enumerate(value):
            check_node(node.item, item, (*path, index), problems)
    if node.check is not None:
        message = node.check(value)
        if message:
            problems.append(Problem(path, message))


def _range_message(node: Int, value: int) -> str:
    if node.min is not None and node.max is not None:
        return f"must be between {node.min} and {node.max}, got {value}"
    if node.min is not None:
        return f"must be {'non-negative' if node.min == 0 else f'at least {node.min}'}, got {value}"
    return f"must be at most {node.max}, got {value}"


def _check_mapping(node: Mapping, value: dict[str, Any], path: Path, problems: list[Problem]) -> None:
    for key, item in value.items():
        child = node.fields.get(key)
        if child is None:
            if not node.open:
                problems.append(Problem((*path, key), _unknown_key(node, key, path)))
            continue
        check_node(child, item, (*path, key), problems)
    for key in node.required:
        if key not in value:
            problems.append(Problem((*path, key), "required key is missing"))
    if node.one_of:
        present = [k for k in node.one_of if k in value]
        if len(present) != 1:
            what = "exactly one of" if len(node.one_of) > 2 else "either"
            sep = ", " if len(node.one_of) > 2 else " or "
            got = f" (got {' and '.join(present)})" if present else ""
            problems.append(Problem(path, f"needs {what} {sep.join(node.one_of)}{got}"))


def _unknown_key(node: Mapping, key: str, path: Path) -> str:
    exact = suggest(key, list(node.fields))
    if exact and exact.lower() == key.lower():
        return f"unknown key; did you mean {exact}?"
    if node is VALUES and key in DEPLOYMENT.fields:
        return f"unknown key; {key} belongs to a proc, e.g. deployments.<proc>.{key}"
    return "unknown key" + (f"; did you mean {exact}?" if exact else "")


def _check_key(kind: str, key: str) -> str | None:
    if kind == "name" and not RFC1123_LABEL.match(key):
        return (f"invalid name {key!r}: use lowercase letters, digits and '-', "
                "starting and ending with a letter or digit")
    if kind == "name" and len(key) > MAX_NAME:
        return f"name {key!r} is longer than {MAX_NAME} characters"
    if kind == "env" and not ENV_NAME.match(key):
        return f"invalid environment variable name {key!r}"
    return None


def validate_values(values: MappingABC[str, Any]) -> list[Problem]:
    """All problems of merged ``values``: schema first, then the checks across keys."""
    problems: list[Problem] = []
    if "lain" in values:
        problems.append(Problem(("lain",), "the key lain is reserved for the values lain computes; rename it"))
        values = {k: v for k, v in values.items() if k != "lain"}
    problems += size_problems(values)
    if problems:
        return problems  # refused before any work that grows with the size
    check_node(VALUES, dict(values), (), problems)
    if any(p.severity == "error" for p in problems):
        return problems
    problems += _cross_checks(values)
    for key, message in NOT_SUPPORTED.items():
        if key in values:
            problems.append(Problem((key,), message, severity="warning"))
    return problems


def size_problems(values: MappingABC[str, Any]) -> list[Problem]:
    """Apps beyond the sizes lain is made for (docs/values.rst, "Sizes"): refused, not crawled through."""
    problems: list[Problem] = []
    sections = {s: v for s in WORKLOAD_KINDS if isinstance(v := values.get(s), MappingABC)}
    count = sum(len(v) for v in sections.values())
    if count > MAX_WORKLOADS:
        biggest = max(sections, key=lambda s: len(sections[s]))
        problems.append(Problem((biggest,), f"the app has {count} workloads (deployments, statefulSets, jobs, "
                                            f"cronjobs and tests); lain is made for up to {MAX_WORKLOADS}"))
    for key in ("ingresses", "externalIngresses"):
        items = values.get(key)
        if isinstance(items, list) and len(items) > MAX_INGRESSES:
            problems.append(Problem((key,), f"{len(items)} entries; lain is made for up to {MAX_INGRESSES}"))
    app_count, app_bytes = _env_size(values.get("env"))
    for section, workloads in sections.items():
        for name, spec in workloads.items():
            if not isinstance(spec, MappingABC):
                continue
            count, size = _env_size(spec.get("env"))
            count, size = count + app_count, size + app_bytes
            where = (section, name, "env") if "env" in spec else ("env",)
            if count > MAX_ENV:
                problems.append(Problem(where, f"{count} environment variables in the {name} container "
                                               f"(the app's and its own); lain is made for up to {MAX_ENV}"))
            elif size > MAX_ENV_BYTES:
                problems.append(Problem(where, f"the environment of the {name} container would be "
                                               f"{size / 1024 / 1024:.1f} MiB; lain is made for up to "
                                               f"{MAX_ENV_BYTES // 1024 // 1024} MiB (Linux starts no process "
                                               "with much more than 2 MiB of environment and arguments)"))
    return problems


def _env_size(env: Any) -> tuple[int, int]:
    """(variables, bytes as NAME=value strings) of an env mapping or list."""
    if isinstance(env, MappingABC):
        return len(env), sum(len(str(k)) + len(str(v)) + 2 for k, v in env.items())
    if isinstance(env, list):
        return len(env), sum(len(str(e.get("name", ""))) + len(str(e.get("value", ""))) + 2
                             for e in env if isinstance(e, MappingABC))
    return 0, 0


def _cross_checks(values: MappingABC[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    appname = values["appname"]
    release = values.get("releaseName") or appname
    for key, name in (("appname", appname), ("releaseName", values.get("releaseName"))):
        if name is None:
            continue
        if not RFC1035_LABEL.match(name):
            problems.append(Problem((key,), f"invalid name {name!r}: use lowercase letters, digits and '-', "
                                            "starting with a letter and ending with a letter or digit"))
        elif len(name) > MAX_RELEASE_NAME:
            problems.append(Problem((key,), f"{name!r} is longer than {MAX_RELEASE_NAME} characters "
                                            "(helm's limit for release names)"))
    seen: dict[str, str] = {}
    for section, kind in WORKLOAD_KINDS.items():
        for name, spec in (values.get(section) or {}).items():
            if name in seen:
                problems.append(Problem((section, name), f"the name {name} is also used in {seen[name]}; "
                                        "names must be unique across deployments, statefulSets, jobs, "
                                        "cronjobs and tests"))
            seen.setdefault(name, section)
            full = f"{release}-test-{name}" if kind == "test" else f"{release}-{name}"
            limit = {"statefulset": MAX_STS_NAME, "cronjob": MAX_CRONJOB_NAME}.get(kind, MAX_NAME)
            if len(full) > limit:
                problems.append(Problem((section, name), f"the {kind} would be named {full} "
                                        f"({len(full)} characters); Kubernetes allows at most {limit}"))
            problems += _check_workload((section, name), spec or {})
    problems += _check_ingresses(values)
    return problems


def _check_workload(path: Path, spec: MappingABC[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    hpa = spec.get("hpa")
    if hpa:
        low = hpa.get("minReplicas", spec.get("replicaCount", 1))
        source = "minReplicas" if "minReplicas" in hpa else "replicaCount"
        if hpa["maxReplicas"] < low:
            problems.append(Problem((*path, "hpa", "maxReplicas"),
                                    f"maxReplicas ({hpa['maxReplicas']}) is less than {source} ({low})"))
    if "nodePort" in spec and "containerPort" not in spec:
        problems.append(Problem((*path, "nodePort"), "nodePort needs a containerPort"))
    return problems


def _check_ingresses(values: MappingABC[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    targets = {**(values.get("statefulSets") or {}), **(values.get("deployments") or {})}
    for section in ("ingresses", "externalIngresses"):
        seen: dict[tuple[str, str], int] = {}
        for index, rule in enumerate(values.get(section) or []):
            proc = rule["deployName"]
            if proc not in targets:
                procs = ", ".join(sorted(targets)) or "none"
                hint = suggest(proc, list(targets))
                problems.append(Problem((section, index, "deployName"),
                                        f"{proc!r} is not a proc of this app (procs: {procs})"
                                        + (f"; did you mean {hint}?" if hint else "")))
            elif not (targets[proc] or {}).get("containerPort"):
                problems.append(Problem((section, index, "deployName"),
                                        f"proc {proc} has no containerPort, so there is no Service to route to"))
            for url_path in rule.get("paths", ["/"]):
                first = seen.setdefault((rule["host"], url_path), index)
                if first != index:
                    problems.append(Problem((section, index, "host"),
                                            f"duplicate host {rule['host']} with path {url_path} "
                                            f"(also in {section}[{first}])"))
    return problems
