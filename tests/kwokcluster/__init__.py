"""kwokcluster: a real Kubernetes control plane for lain's end-to-end tests.

kwokctl starts the upstream etcd, kube-apiserver, kube-controller-manager and
kube-scheduler (``make k8s`` builds them) with kwok faking one node and its pods.  Pods
follow tests/kubesim's knobs (pod annotations ``kubesim.lain.dev/<knob>``) through the
project's kwok Stages (``config/``); a log agent thread gives them logs and an exec
target.  :class:`KwokClient` has tests/kubesim's ``SimClient`` API.  Test
infrastructure only; ``lain_cli`` never imports it.
"""

from .binaries import default_bin_dir, missing
from .client import KwokClient
from .cluster import KwokCluster, KwokClusterError

binaries_dir = default_bin_dir  # the name tests/backends.py and bench/ use

__all__ = ["KwokClient", "KwokCluster", "KwokClusterError", "binaries_dir", "default_bin_dir", "missing"]
