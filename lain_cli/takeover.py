"""Taking over a release that lain4 deployed, in place.

lain4's chart selected a Deployment's (or StatefulSet's) pods by
``app.kubernetes.io/name: <appname>`` plus ``app.kubernetes.io/instance:
<release>-<proc>``, its Services listened on port 80, and it named Ingresses
``<host>-<release>-<proc>`` and HPAs ``<appname>-<proc>``.  lain's chart
selects by ``instance: <release>`` plus ``component``; selectors are
immutable, so rendering lain's own would make the first ``lain deploy`` of a
lain4 app fail on the cluster, and renaming objects would delete and
re-create them.

So before rendering, :func:`chart_values` reads the release's live
Deployments, StatefulSets, Services and Ingresses once (one ``kubectl get``)
and :func:`plan_adoption` decides, per proc whose live workload carries
lain4's selector: keep that selector (on its pods too), its Service's live port
and a StatefulSet's live ``serviceName``; and keep the live names of the
Ingresses and HPAs lain4 named differently.  The chart reads that plan from
``.Values.lain.adopt``.  Nothing is deleted and pods roll over as in any
deploy.  The deploy says once that it did so, and notes ``lain4 selectors
kept`` in the revision's description; "Coming from lain4" in the docs gives
the path to lain's own labels (a planned re-create).

A deploy skips the read when the newest revision helm applied is lain's own,
rendered without that note (lain_cli.release_plan.live_objects_matter): its
selectors are lain's, and selectors cannot change after that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lain_cli.labels import INSTANCE, NAME

Obj = Mapping[str, Any]
RELEASE_ANNOTATION = "meta.helm.sh/release-name"  # helm 3+ sets it on every object of a release
LAIN4_CHART_LABEL = "helm.sh/chart"  # lain4's chart set it to the release name on every object
LIVE_KINDS = "deployments,statefulsets,services,ingresses"


@dataclass(frozen=True)
class Adoption:
    """What a render keeps of a lain4 release (empty: nothing to keep)."""

    selectors: dict[str, dict[str, str]] = field(default_factory=dict)  # proc -> matchLabels
    service_ports: dict[str, int] = field(default_factory=dict)  # proc -> its Service's port
    service_names: dict[str, str] = field(default_factory=dict)  # StatefulSet proc -> spec.serviceName
    names: dict[str, str] = field(default_factory=dict)  # "Kind/lain's name" -> live name
    pod_selector: dict[str, Any] | None = None  # the NetworkPolicy's default podSelector

    def __bool__(self) -> bool:
        return bool(self.selectors or self.names)

    def values(self) -> dict[str, Any]:
        """The ``lain.adopt`` block of the chart values."""
        block: dict[str, Any] = {
            "selectors": self.selectors, "servicePorts": self.service_ports,
            "serviceNames": self.service_names, "names": self.names,
        }
        if self.pod_selector is not None:
            block["podSelector"] = self.pod_selector
        return block

    def summary(self, release: str, would: bool = False) -> str:
        """One line: what this deploy keeps (``would``: would keep) of lain4's release."""
        parts = []
        if self.selectors:
            procs = ", ".join(sorted(self.selectors))
            parts.append(f"{procs} keep{'s' if len(self.selectors) == 1 else ''} lain4's selectors "
                         f"({INSTANCE}={release}-<proc>)")
        ports = sorted({p for p in self.service_ports.values()})
        if ports:
            parts.append(f"Service port{'s' if len(ports) > 1 else ''} {', '.join(map(str, ports))}")
        if self.names:
            parts.append(f"the names of {', '.join(sorted(self.names.values()))}")
        lead = "lain deploy would take over" if would else "taking over"
        return f"{lead} lain4's release {release} in place: " + "; ".join(parts)


def lain4_selector(appname: str, release: str, proc: str) -> dict[str, str]:
    return {NAME: appname, INSTANCE: f"{release}-{proc}"}


def lain_ingress_name(release: str, deploy_name: str, host: str, external: bool) -> str:
    """The chart's name of an ingress rule (chart_template/templates/ingress.yaml)."""
    slug = host.replace(".", "-").replace("*", "wildcard").lower()
    return f"{release}-{deploy_name}-{slug}{'-external' if external else ''}"[:253].rstrip("-")


def lain4_ingress_name(release: str, deploy_name: str, host: str, domain: str, external: bool) -> str:
    """The name lain4 gave the same rule: the host (with the cluster's domain) first."""
    if external or "." in host or not domain:
        return f"{host.replace('.', '-')}-{release}-{deploy_name}"
    return f"{host}-{domain.replace('.', '-')}-{release}-{deploy_name}"


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _of_release(objects: Sequence[Obj], release: str) -> dict[tuple[str, str], Obj]:
    """(kind, name) -> object, for the objects helm manages as part of ``release``: helm's
    annotation, or lain4's own ``helm.sh/chart: <release>`` label (helm before 3.2 set no
    annotation)."""
    found = {}
    for obj in objects:
        annotations = _meta(obj).get("annotations") or {}
        chart_label = (_meta(obj).get("labels") or {}).get(LAIN4_CHART_LABEL)
        if annotations.get(RELEASE_ANNOTATION) == release or chart_label == release:
            found[(str(obj.get("kind")), str(_meta(obj).get("name")))] = obj
    return found


def _port(container_port: Any) -> int:
    return int(container_port) if isinstance(container_port, int) else 0


def plan_adoption(values: Mapping[str, Any], *, appname: str, release: str, domain: str,
                  live: Sequence[Obj]) -> Adoption:
    """What to keep of the live objects of ``release`` (pure: no cluster call)."""
    objects = _of_release(live, release)
    selectors: dict[str, dict[str, str]] = {}
    ports: dict[str, int] = {}
    service_names: dict[str, str] = {}
    names: dict[str, str] = {}
    for section, kind in (("deployments", "Deployment"), ("statefulSets", "StatefulSet")):
        for proc, spec in (values.get(section) or {}).items():
            spec = spec or {}
            name = f"{release}-{proc}"
            workload = objects.get((kind, name))
            if workload is None:
                continue
            selector = (workload.get("spec") or {}).get("selector") or {}
            wanted = lain4_selector(appname, release, proc)
            if selector.get("matchLabels") != wanted or selector.get("matchExpressions"):
                continue
            selectors[proc] = wanted
            service = objects.get(("Service", name))
            live_ports = ((service or {}).get("spec") or {}).get("ports") or []
            own = _port(spec.get("containerPort") or spec.get("nodePort"))
            if own and live_ports and live_ports[0].get("port") not in (None, own):
                ports[proc] = int(live_ports[0]["port"])
            if kind == "StatefulSet":
                live_service = str((workload.get("spec") or {}).get("serviceName") or "")
                if live_service and live_service != f"{name}-headless":
                    service_names[proc] = live_service
            if spec.get("hpa") and appname != release:
                names[f"HorizontalPodAutoscaler/{name}"] = f"{appname}-{proc}"
    for section, external in (("ingresses", False), ("externalIngresses", True)):
        for rule in values.get(section) or []:
            host, deploy_name = str(rule.get("host", "")), str(rule.get("deployName", ""))
            ours = lain_ingress_name(release, deploy_name, host, external)
            theirs = lain4_ingress_name(release, deploy_name, host, domain, external)
            if theirs != ours and ("Ingress", theirs) in objects and ("Ingress", ours) not in objects:
                names[f"Ingress/{ours}"] = theirs
    pod_selector = None
    if selectors:
        instances = [release, *(f"{release}-{proc}" for proc in sorted(selectors))]
        pod_selector = {"matchLabels": {NAME: appname},
                        "matchExpressions": [{"key": INSTANCE, "operator": "In", "values": instances}]}
    return Adoption(selectors, ports, service_names, names, pod_selector)


def read_live(ctx: Any, request_timeout: float | None = None) -> list[dict[str, Any]]:
    """The app's live workloads, Services and Ingresses: one ``kubectl get`` (both charts label
    them ``app.kubernetes.io/name: <appname>``), bounded by ``request_timeout`` (the
    command's deadline) when given."""
    from lain_cli import kube

    timeout = kube.REQUEST_TIMEOUT if request_timeout is None else request_timeout
    listing = kube.get_json(ctx.cluster, LIVE_KINDS, selector=f"{NAME}={ctx.appname}",
                            request_timeout=timeout) or {}
    return [dict(obj) for obj in listing.get("items") or [] if isinstance(obj, Mapping)]


def chart_values(ctx: Any, live: Sequence[Obj] | None = None, *, preview: bool = False) -> dict[str, Any]:
    """``ctx.chart_values()`` for a deploy (``preview``: for lain diff): with the ``lain.adopt``
    block when the release on the cluster is lain4's, said once on the terminal.  ``live``:
    the objects read already (:func:`read_live`), else the cluster is read now."""
    from lain_cli import console, docs

    values = ctx.chart_values()
    live_objects = live if live is not None else read_live(ctx)
    adoption = plan_adoption(ctx.values, appname=ctx.appname, release=ctx.release_name,
                             domain=getattr(ctx.cluster, "domain", "") or "", live=live_objects)
    if adoption:
        console.step(adoption.summary(ctx.release_name, would=preview))
        console.info(f"nothing is re-created; moving to lain's own labels: "
                     f"{docs.see('coming-from-lain4', getattr(ctx.cluster, 'docs_url', ''))}")
        values["lain"]["adopt"] = adoption.values()
    return values
