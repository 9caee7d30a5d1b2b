"""A volume provisioner for the kwok cluster, as every real cluster has one.

A PersistentVolumeClaim on a bare control plane stays Pending forever, and so does
every pod that mounts it ("pod has unbound immediate PersistentVolumeClaims").  Real
clusters run a dynamic provisioner behind a default StorageClass; this is the smallest
one: a default StorageClass ``standard`` (``volumeBindingMode: Immediate``) whose
provisioner is this thread.  For each Pending claim of that class it creates a
PersistentVolume with a ``claimRef`` to the claim; the real PV controller then binds
them.  A volume whose claim is gone (``Released``) is deleted, as the ``Delete``
reclaim policy says.  The volumes are hostPath folders under the cluster's workdir
that nothing ever mounts (kwok runs no containers).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import requests

from .api import Api, ApiError

Obj = dict[str, Any]
STORAGE_CLASS = "standard"
PROVISIONER = "kwokcluster.lain.dev/hostpath"
POLL = 0.2  # seconds between looks at the claims


def storage_class() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def volume_for(claim: Obj, root: Path) -> Obj:
    """The PersistentVolume that satisfies ``claim`` (pure)."""
    meta = claim["metadata"]
    spec = claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    name = f"pvc-{meta['uid']}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": STORAGE_CLASS,
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "hostPath": {"path": str(root / name), "type": "DirectoryOrCreate"},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                         "name": meta["name"], "uid": meta["uid"]},
        },
    }


def wants_volume(claim: Obj) -> bool:
    spec = claim.get("spec") or {}
    return (spec.get("storageClassName") == STORAGE_CLASS and not spec.get("volumeName")
            and (claim.get("status") or {}).get("phase", "Pending") == "Pending"
            and not claim["metadata"].get("deletionTimestamp"))


class Provisioner:
    """The provisioning thread: :meth:`start` (creates the StorageClass first), :meth:`stop`."""

    def __init__(self, api: Api, root: Path) -> None:
        self.api = api
        self.root = root
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="kwok-provisioner", daemon=True)

    def start(self) -> None:
        obj = storage_class()
        self.api.json("PATCH", f"/apis/storage.k8s.io/v1/storageclasses/{STORAGE_CLASS}", body=obj,
                      content_type="application/apply-patch+yaml",
                      params={"fieldManager": "kwokcluster", "force": "true"})
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.api.close()

    def _main(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self._reconcile()
            except (ApiError, requests.RequestException) as exc:
                self.problems = [*self.problems[-9:], f"provisioner: {exc!r}"]

    def _reconcile(self) -> None:
        claims = self.api.json("GET", "/api/v1/persistentvolumeclaims").get("items") or []
        volumes = self.api.json("GET", "/api/v1/persistentvolumes").get("items") or []
        have = {v["metadata"]["name"] for v in volumes}
        for claim in claims:
            if wants_volume(claim) and f"pvc-{claim['metadata']['uid']}" not in have:
                try:
                    self.api.json("POST", "/api/v1/persistentvolumes", body=volume_for(claim, self.root))
                except ApiError as exc:
                    if exc.status != 409:
                        raise
        for volume in volumes:
            ours = (volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") == PROVISIONER
            if ours and (volume.get("status") or {}).get("phase") == "Released":
                try:
                    self.api.request("DELETE", f"/api/v1/persistentvolumes/{volume['metadata']['name']}")
                except ApiError as exc:
                    if exc.status != 404:
                        raise
