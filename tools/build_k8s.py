#!/usr/bin/env python3
"""Build the real Kubernetes control plane used by the e2e tests (``make k8s``).

Everything is built from the Go module proxy, pinned by the build modules under
``tools/k8s/`` (their ``go.mod`` and ``go.sum`` are committed):

* ``tools/k8s/kubernetes``: kube-apiserver, kube-controller-manager, kube-scheduler
  from ``k8s.io/kubernetes``, with every staging module pinned by ``replace``;
* ``tools/k8s/etcd``: etcd from ``go.etcd.io/etcd/server/v3``;
* ``tools/k8s/kwok``: kwok and kwokctl from ``sigs.k8s.io/kwok``.

The binaries land in ``<venv>/tools/k8s-<version>/`` beside a ``manifest.json`` that
records what was built from what.  A second run whose manifest matches the build
modules does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODULES = REPO / "tools" / "k8s"
KUBERNETES_VERSION = "v1.34.4"
# What kwokctl reads (``kube-apiserver --version``) to choose the flags it passes.
VERSION_PACKAGE = "k8s.io/component-base/version"


@dataclass(frozen=True)
class Target:
    module: str  # folder under tools/k8s/
    package: str  # Go package of the command
    binary: str

    def ldflags(self) -> str:
        flags = ["-s", "-w"]
        if self.module == "kubernetes":
            major, minor, _ = KUBERNETES_VERSION.lstrip("v").split(".")
            flags += [
                f"-X {VERSION_PACKAGE}.gitVersion={KUBERNETES_VERSION}",
                f"-X {VERSION_PACKAGE}.gitMajor={major}",
                f"-X {VERSION_PACKAGE}.gitMinor={minor}",
                f"-X {VERSION_PACKAGE}.gitTreeState=clean",
                f"-X {VERSION_PACKAGE}.buildDate=1970-01-01T00:00:00Z",
            ]
        return " ".join(flags)


TARGETS = (
    Target("kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
    Target("kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager", "kube-controller-manager"),
    Target("kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler", "kube-scheduler"),
    Target("etcd", "go.etcd.io/etcd/server/v3", "etcd"),
    Target("kwok", "sigs.k8s.io/kwok/cmd/kwok", "kwok"),
    Target("kwok", "sigs.k8s.io/kwok/cmd/kwokctl", "kwokctl"),
)


def target_dir(venv: Path) -> Path:
    return venv / "tools" / f"k8s-{KUBERNETES_VERSION}"


def inputs_digest() -> str:
    """A digest of every build input that we control: the modules and this script."""
    digest = hashlib.sha256()
    for path in sorted(MODULES.rglob("go.*")) + [Path(__file__)]:
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not found:
        sys.exit("error: make k8s needs Go 1.26 or newer on PATH (https://go.dev/doc/install)")
    return found


def up_to_date(out: Path, digest: str) -> bool:
    manifest = out / "manifest.json"
    if not manifest.exists():
        return False
    try:
        recorded = json.loads(manifest.read_text())
    except ValueError:
        return False
    return recorded.get("inputs") == digest and all((out / t.binary).is_file() for t in TARGETS)


def build(go: str, out: Path, jobs: int) -> dict[str, float]:
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false", GOTOOLCHAIN="local")
    took: dict[str, float] = {}
    staging = out.with_name(out.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    by_module: dict[str, list[Target]] = {}
    for target in TARGETS:
        by_module.setdefault(target.module, []).append(target)
    for module, targets in by_module.items():
        started = time.monotonic()
        names = ", ".join(t.binary for t in targets)
        print(f"make k8s: building {names} (module tools/k8s/{module}) ...", flush=True)
        for target in targets:
            argv = [go, "build", "-p", str(jobs), "-trimpath", "-ldflags", target.ldflags(),
                    "-o", str(staging / target.binary), target.package]
            result = subprocess.run(argv, cwd=MODULES / module, env=env)
            if result.returncode != 0:
                sys.exit(f"error: building {target.binary} failed (exit {result.returncode}):\n"
                         f"  cd tools/k8s/{module} && {' '.join(argv)}")
        took[module] = round(time.monotonic() - started, 1)
        print(f"make k8s: {names} built in {took[module]:.0f} s", flush=True)
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=REPO / ".venv")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--print-dir", action="store_true", help="print the binaries' folder and exit")
    args = parser.parse_args(argv)
    out = target_dir(args.venv.resolve())
    if args.print_dir:
        print(out)
        return 0
    digest = inputs_digest()
    if up_to_date(out, digest):
        print(f"make k8s: {out} is up to date")
        return 0
    go = go_binary()
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    took = build(go, out, args.jobs)
    staging = out.with_name(out.name + ".partial")
    manifest = {
        "kubernetes": KUBERNETES_VERSION,
        "go": version,
        "inputs": digest,
        "seconds": took,
        "binaries": {t.binary: {"module": f"tools/k8s/{t.module}", "package": t.package} for t in TARGETS},
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    print(f"make k8s: control plane binaries in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
