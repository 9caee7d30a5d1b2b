"""Where the control plane binaries are, and whether they are all there.

``make k8s`` (``tools/build_k8s.py``) builds kube-apiserver, kube-controller-manager,
kube-scheduler, etcd, kwok and kwokctl into ``.venv/tools/k8s-<version>/`` and writes
``manifest.json`` last, so a folder without it is a build still running (or failed).
kubectl comes from ``make setup`` (``.venv/tools/helm<major>/kubectl``); kwokctl runs it
to check that the API server answers.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok", "kwokctl")


def default_bin_dir() -> Path:
    """``tools/build_k8s.py``'s ``target_dir`` for the repository's ``.venv``."""
    script = REPO_ROOT / "tools" / "build_k8s.py"
    spec = importlib.util.spec_from_file_location("_lain_build_k8s", script)
    if spec is None or spec.loader is None:  # pragma: no cover - the script is part of the repo
        raise FileNotFoundError(script)
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return Path(module.target_dir(REPO_ROOT / ".venv"))


def find_kubectl() -> Path:
    """kubectl from ``$LAIN_KUBECTL``, else the pinned one (``LAIN_TEST_HELM_MAJOR``), else PATH."""
    candidates = [os.environ.get("LAIN_KUBECTL", "")]
    major = os.environ.get("LAIN_TEST_HELM_MAJOR", "3")
    candidates += [str(REPO_ROOT / ".venv" / "tools" / f"helm{m}" / "kubectl") for m in (major, "3", "4")]
    candidates.append(shutil.which("kubectl") or "")
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise FileNotFoundError("kubectl not found: run `make setup` (or set LAIN_KUBECTL)")


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of everything kwokctl starts."""

    folder: Path
    kubectl: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def kwokctl(self) -> Path:
        return self.path("kwokctl")


def missing(bin_dir: Path) -> list[str]:
    """What is missing from ``bin_dir`` (empty when everything is built)."""
    absent = [name for name in CONTROL_PLANE if not os.access(bin_dir / name, os.X_OK)]
    if not (bin_dir / "manifest.json").is_file():
        absent.append("manifest.json (the build has not finished)")
    return absent


def locate(bin_dir: Path | None = None) -> Binaries:
    """The binaries, or FileNotFoundError saying what is missing and how to build it."""
    folder = (bin_dir or default_bin_dir()).resolve()
    absent = missing(folder)
    if absent:
        raise FileNotFoundError(f"control plane binaries missing in {folder}: {', '.join(absent)}; "
                                "run `make k8s`")
    return Binaries(folder=folder, kubectl=find_kubectl())
