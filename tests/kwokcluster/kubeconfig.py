"""Kubeconfig files: the admin one a cluster writes, and reading any one back.

The file we write embeds kwokctl's credentials, so copies stand alone, and names the
cluster's log folder in a cluster extension (``kwokcluster.lain.dev``, which kubectl and
helm ignore), so that a :class:`~tests.kwokcluster.client.KwokClient` made from a copy
can still append to container logs.  Reading supports embedded or file credentials and
bearer tokens (enough for kind, k3d and kwok clusters).
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .api import Credentials

EXTENSION = "kwokcluster.lain.dev"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, credentials: Credentials, name: str, namespace: str = "default",
                     log_root: Path | None = None) -> Path:
    """Write a kubeconfig for ``credentials`` (context ``name``, default ``namespace``)."""
    cluster: dict[str, Any] = {"server": credentials.server}
    if credentials.ca:
        cluster["certificate-authority-data"] = _b64(credentials.ca)
    if log_root is not None:
        cluster["extensions"] = [{"name": EXTENSION, "extension": {
            "apiVersion": "kwokcluster.lain.dev/v1", "kind": "KwokCluster", "logs": str(log_root)}}]
    user: dict[str, Any] = {}
    if credentials.cert and credentials.key:
        user = {"client-certificate-data": _b64(credentials.cert), "client-key-data": _b64(credentials.key)}
    if credentials.token:
        user["token"] = credentials.token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Kubeconfig:
    credentials: Credentials
    namespace: str
    log_root: Path | None


_folder: Path | None = None


def _material(data: str) -> Path:
    """Embedded certificate data as a private file (``requests`` wants paths), in a
    folder of this process that goes when it exits."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="kwokcluster-credentials-"))
        atexit.register(shutil.rmtree, _folder, True)
    raw = base64.b64decode(data)
    path = _folder / (hashlib.sha256(raw).hexdigest()[:32] + ".pem")
    if not path.exists():
        path.write_bytes(raw)
        path.chmod(0o600)
    return path


def _pick(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for entry in entries or []:
        if entry.get("name") == name:
            return entry
    raise KeyError(name)


def read_kubeconfig(path: Path) -> Kubeconfig:
    """The current context of ``path``: server, credentials, namespace, log folder."""
    config = yaml.safe_load(Path(path).read_text())
    base = Path(path).parent
    context = _pick(config.get("contexts") or [], config["current-context"])["context"]
    cluster = _pick(config.get("clusters") or [], context["cluster"])["cluster"]
    user = _pick(config.get("users") or [], context["user"])["user"] if context.get("user") else {}

    def file(key: str, entry: dict[str, Any]) -> Path | None:
        if entry.get(f"{key}-data"):
            return _material(entry[f"{key}-data"])
        if entry.get(key):
            return base / entry[key]
        return None

    if "exec" in user or "auth-provider" in user:
        raise ValueError(f"{path}: exec and auth-provider credentials are not supported")
    log_root = None
    for extension in cluster.get("extensions") or []:
        if extension.get("name") == EXTENSION:
            log_root = Path((extension.get("extension") or {})["logs"])
    credentials = Credentials(server=cluster["server"].rstrip("/"), ca=file("certificate-authority", cluster),
                              cert=file("client-certificate", user), key=file("client-key", user),
                              token=user.get("token"), insecure=bool(cluster.get("insecure-skip-tls-verify")))
    return Kubeconfig(credentials=credentials, namespace=context.get("namespace") or "default", log_root=log_root)
