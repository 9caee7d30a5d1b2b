"""The table of kinds the simulator serves: group/version, plural, kind, scope, verbs, subresources.

Discovery, OpenAPI, routing and storage are all driven by this one table, so adding a kind
is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
STATUS_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """A subresource such as ``pods/log``; ``kind``/``group``/``version`` of its body."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served resource (GVR) and everything discovery says about it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def store_key(self) -> tuple[str, str]:
        """Objects are stored per (group, plural): one version per group here."""
        return (self.group, self.plural)

    def subresource(self, name: str) -> Subresource | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    @property
    def has_status(self) -> bool:
        return self.subresource("status") is not None


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS_VERBS)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", STATUS_VERBS, group="autoscaling", version="v1")


_ALL = ("all",)

RESOURCES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",),
                 ("create", "delete", "get", "list", "patch", "update", "watch"),
                 (_status("Namespace"), Subresource("finalize", "Namespace", ("update",)))),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), subresources=(_status("Node"),)),
    ResourceType("", "v1", "pods", "Pod", True, ("po",), subresources=(
        _status("Pod"),
        Subresource("log", "Pod", ("get",)),
        Subresource("exec", "PodExecOptions", ("create", "get")),
        Subresource("attach", "PodAttachOptions", ("create", "get")),
        Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
        Subresource("eviction", "Eviction", ("create",), group="policy", version="v1"),
        Subresource("binding", "Binding", ("create",)),
        Subresource("ephemeralcontainers", "Pod", STATUS_VERBS),
    ), categories=_ALL),
    ResourceType("", "v1", "services", "Service", True, ("svc",),
                 subresources=(_status("Service"), Subresource("proxy", "ServiceProxyOptions",
                 ("create", "delete", "get", "patch", "update"))), categories=_ALL),
    ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",),
                 subresources=(Subresource("token", "TokenRequest", ("create",),
                               group="authentication.k8s.io", version="v1"),)),
    ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",),
                 subresources=(_status("PersistentVolumeClaim"),)),
    ResourceType("", "v1", "persistentvolumes", "PersistentVolume", False, ("pv",),
                 subresources=(_status("PersistentVolume"),)),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "replicationcontrollers", "ReplicationController", True, ("rc",),
                 subresources=(_status("ReplicationController"), _scale()), categories=_ALL),
    ResourceType("", "v1", "limitranges", "LimitRange", True, ("limits",)),
    ResourceType("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",),
                 subresources=(_status("ResourceQuota"),)),
    # apps/v1
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",),
                 subresources=(_status("Deployment"), _scale()), categories=_ALL),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",),
                 subresources=(_status("ReplicaSet"), _scale()), categories=_ALL),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",),
                 subresources=(_status("StatefulSet"), _scale()), categories=_ALL),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",),
                 subresources=(_status("DaemonSet"),), categories=_ALL),
    ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    # batch/v1
    ResourceType("batch", "v1", "jobs", "Job", True, (), subresources=(_status("Job"),),
                 categories=_ALL),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",),
                 subresources=(_status("CronJob"),), categories=_ALL),
    # networking.k8s.io/v1
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",),
                 subresources=(_status("Ingress"),)),
    ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    ResourceType("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    # autoscaling/v2
    ResourceType("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True,
                 ("hpa",), subresources=(_status("HorizontalPodAutoscaler"),), categories=_ALL),
    # policy/v1
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",),
                 subresources=(_status("PodDisruptionBudget"),)),
    # events.k8s.io/v1
    ResourceType("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
    # rbac.authorization.k8s.io/v1
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # coordination.k8s.io/v1
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    # apiextensions.k8s.io/v1
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                 "CustomResourceDefinition", False, ("crd", "crds"),
                 subresources=(_status("CustomResourceDefinition"),)),
)

# Extra kinds the handlers know but that are not listable resources.
LIST_SUFFIX = "List"


@dataclass
class Registry:
    """Lookups over :data:`RESOURCES`."""

    resources: tuple[ResourceType, ...] = RESOURCES
    _by_gvr: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _by_gvk: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rt in self.resources:
            self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
            self._by_gvk[(rt.group, rt.version, rt.kind)] = rt

    def by_gvr(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def by_gvk(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_gvk.get((group, version, kind))

    def by_api_version_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self.by_gvk(group, version, kind)

    def get(self, group: str, plural: str) -> ResourceType:
        """The (only) served version of ``group``/``plural``; raises KeyError."""
        for rt in self.resources:
            if rt.group == group and rt.plural == plural:
                return rt
        raise KeyError(f"{plural}.{group}")

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, [versions]) in table order, core group ("") first."""
        out: dict[str, list[str]] = {}
        for rt in self.resources:
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return list(out.items())

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self.resources if rt.group == group and rt.version == version]


REGISTRY = Registry()
