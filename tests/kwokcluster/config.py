"""The kwokctl configuration file: components, ports and flags, plus the project's kwok
configuration (``config/*.yaml``): Stages, the log and exec fallbacks.

kwokctl saves what it reads from ``--config`` into the cluster's ``kwok.yaml``, which the
kwok controller loads.  The pod Stages are written compactly in ``config/``: this module
prepends ``pod-dispatch.jq`` to their jq expressions and ``pod-helpers.tpl`` to their
templates, numbers the copies of aliased Event steps and applies the time scale.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .binaries import Binaries
from .ports import Ports

Obj = dict[str, Any]
CONFIG_DIR = Path(__file__).resolve().parent / "config"
# The gate the log agent sets once a pod's logs and exec target are in place.
LOGS_READY = "kwokcluster.lain.dev/logs-ready"
NODE_NAME = "kwok-node-0"


@dataclass(frozen=True)
class Settings:
    """What a cluster's configuration depends on."""

    binaries: Binaries
    ports: Ports
    time_scale: float
    empty_log: Path
    exec_dir: Path


def _load(name: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all((CONFIG_DIR / name).read_text()) if doc]


def _jq_prelude() -> str:
    lines = (CONFIG_DIR / "pod-dispatch.jq").read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#")).strip() + "\n"


def _scaled(text: str, time_scale: float) -> str:
    return text.replace("@TIME_SCALE@", repr(float(time_scale)))


def pod_stages(time_scale: float) -> list[Obj]:
    """``pod-stages.yaml`` with the jq and template helpers spliced in."""
    prelude = _jq_prelude()
    helpers = (CONFIG_DIR / "pod-helpers.tpl").read_text()
    stages = []
    for stage in _load("pod-stages.yaml"):
        stage = copy.deepcopy(stage)  # YAML aliases share objects
        spec = stage["spec"]
        for expression in spec["selector"]["matchExpressions"]:
            expression["jq"]["key"] = prelude + expression["jq"]["key"]
        duration_from = (spec.get("delay") or {}).get("durationFrom")
        if duration_from:
            duration_from["jq"]["expression"] = prelude + _scaled(duration_from["jq"]["expression"], time_scale)
        steps = []
        for number, step in enumerate(spec.get("steps") or []):
            step = copy.deepcopy(step)
            for kind in ("patch", "apply"):
                if kind in step:
                    template = step[kind]["template"].replace("@N@", str(number))
                    step[kind]["template"] = helpers + _scaled(template, time_scale)
            steps.append(step)
        spec["steps"] = steps
        stages.append(stage)
    return stages


def fallbacks(settings: Settings) -> list[Obj]:
    text = (CONFIG_DIR / "fallbacks.yaml").read_text()
    text = text.replace("@EMPTY_LOG@", str(settings.empty_log)).replace("@EXEC_DIR@", str(settings.exec_dir))
    return [doc for doc in yaml.safe_load_all(text) if doc]


def admission_objects() -> list[Obj]:
    """The MutatingAdmissionPolicy behind the ``unschedulable`` knob (applied after start)."""
    return _load("unschedulable-policy.yaml")


def _arg(key: str, value: str, override: bool = False) -> Obj:
    return {"key": key, "value": value, **({"override": True} if override else {})}


def kwokctl_configuration(settings: Settings) -> Obj:
    b, p = settings.binaries, settings.ports
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "quietPull": True,
            "kubeApiserverBinary": str(b.path("kube-apiserver")),
            "kubeControllerManagerBinary": str(b.path("kube-controller-manager")),
            "kubeSchedulerBinary": str(b.path("kube-scheduler")),
            "etcdBinary": str(b.path("etcd")),
            "kwokControllerBinary": str(b.path("kwok")),
            "kubectlBinary": str(b.kubectl),
            "etcdPort": p.etcd,
            "etcdPeerPort": p.etcd_peer,
            "kubeApiserverPort": p.apiserver,
            "kwokControllerPort": p.kwok,
            "kubeControllerManagerPort": p.controller_manager,
            "kubeSchedulerPort": p.scheduler,
            "kubeAuthorization": True,  # RBAC, and the service account token controller
            "kubeAdmission": True,  # the API server's default admission plugins
            "disableQPSLimits": True,
            "kubeFeatureGates": "MutatingAdmissionPolicy=true",
            "kubeRuntimeConfig": "admissionregistration.k8s.io/v1beta1=true",
            "enableCRDs": ["Logs", "Exec"],
            "nodeLeaseDurationSeconds": 40,
        },
        "componentsPatches": [
            {"name": "etcd", "extraArgs": [_arg("unsafe-no-fsync", "true")]},
            {"name": "kube-apiserver", "extraArgs": [
                # logs and exec go to the node's InternalIP (127.0.0.1), not its name
                _arg("kubelet-preferred-address-types", "InternalIP"),
            ]},
            {"name": "kube-controller-manager", "extraArgs": [_arg("leader-elect", "false")]},
            {"name": "kube-scheduler", "extraArgs": [_arg("leader-elect", "false")]},
            {"name": "kwok-controller", "extraArgs": [_arg("node-ip", "127.0.0.1", override=True)]},
        ],
    }


def _block_strings(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, _block_strings)


def render(settings: Settings) -> str:
    """The whole ``--config`` file for ``kwokctl create cluster``."""
    docs = [kwokctl_configuration(settings), *_load("node-stages.yaml"),
            *pod_stages(settings.time_scale), *fallbacks(settings)]
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, width=1000)
