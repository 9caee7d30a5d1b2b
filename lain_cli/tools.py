"""Finding helm and kubectl and knowing their versions.

Lookup order for each tool: ``$LAIN_HELM`` / ``$LAIN_KUBECTL`` (an explicit
path), then the ``bin`` directory of the virtualenv lain runs from (where
``make setup`` installs the pinned binaries), then ``PATH``.  Versions are read
once per binary and cached on disk keyed by path, size and mtime, so a command
does not pay ``helm version`` on every run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import cache

from lain_cli.errors import ToolError

MIN_HELM = (3, 17, 0)
SUPPORTED_HELM_MAJORS = (3, 4)

_ENV_OVERRIDE = {"helm": "LAIN_HELM", "kubectl": "LAIN_KUBECTL", "docker": "LAIN_DOCKER"}
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Tool:
    name: str
    path: str
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return "v" + ".".join(map(str, self.version))

    @property
    def major(self) -> int:
        return self.version[0]


def find_executable(name: str) -> str:
    """Absolute path of ``name`` (helm, kubectl, docker, ...), or ToolError."""
    override = os.environ.get(_ENV_OVERRIDE.get(name, ""), "")
    if override:
        if os.access(override, os.X_OK):
            return os.path.abspath(override)
        raise ToolError(
            f"${_ENV_OVERRIDE[name]} points at {override}, which is not an executable file",
            hint=f"fix or unset {_ENV_OVERRIDE[name]}",
        )
    venv_bin = os.path.join(sys.prefix, "bin", name)
    if sys.prefix != sys.base_prefix and os.access(venv_bin, os.X_OK):
        return venv_bin
    import shutil  # not at import: shutil pulls in bz2 and lzma, and a found tool never needs it

    found = shutil.which(name)
    if found:
        return found
    raise ToolError(
        f"{name} not found on PATH",
        hint="run `make setup` in lain's checkout (it installs pinned helm and kubectl), "
        f"or install {name} and put it on PATH",
    )


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION_RE.search(text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _cache_file() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lain", "tool-versions.json")


def _cached_version(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
        with open(_cache_file(), encoding="utf-8") as fh:
            data = json.load(fh)
        entry = data.get(path)
        if entry and entry["size"] == st.st_size and entry["mtime"] == st.st_mtime:
            return tuple(entry["version"])  # type: ignore[return-value]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _store_version(path: str, version: tuple[int, int, int]) -> None:
    cache_file = _cache_file()
    try:
        st = os.stat(path)
        try:
            with open(cache_file, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            data = {}
        data[path] = {"size": st.st_size, "mtime": st.st_mtime, "version": list(version)}
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        tmp = f"{cache_file.removesuffix('.json')}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a cache we cannot write only costs time


def _read_version(name: str, path: str) -> tuple[int, int, int]:
    from lain_cli import proc

    argv = [path, "version", "--short"] if name == "helm" else [path, "version", "--client", "-o", "json"]
    if name == "docker":
        argv = [path, "--version"]
    result = proc.run(argv, timeout=30, check=False)
    text = result.stdout
    if name == "kubectl" and result.ok:
        with contextlib.suppress(ValueError, KeyError):
            text = json.loads(result.stdout)["clientVersion"]["gitVersion"]
    version = parse_version(text) if result.ok else None
    if version is None:
        raise ToolError(
            f"could not read the version of {path}",
            hint=f"`{path} version` said: {(result.stderr or result.stdout).strip()[:200]}",
        )
    return version


@cache
def get_tool(name: str) -> Tool:
    """The tool ``name`` with its version; helm is checked against what lain supports."""
    path = find_executable(name)
    version = _cached_version(path)
    if version is None:
        version = _read_version(name, path)
        _store_version(path, version)
    tool = Tool(name, path, version)
    if name == "helm":
        check_helm_supported(tool)
    return tool


def check_helm_supported(tool: Tool) -> None:
    if tool.version < MIN_HELM:
        raise ToolError(
            f"helm {tool.version_text} at {tool.path} is too old; lain needs helm 3.17 or newer",
            hint="run `make setup` for the pinned helm, or upgrade helm",
        )
    if tool.major not in SUPPORTED_HELM_MAJORS:
        raise ToolError(
            f"helm {tool.version_text} at {tool.path} is not supported (lain supports helm 3.17+ and 4.x)",
            hint="run `make setup` for the pinned helm",
        )


def helm() -> Tool:
    return get_tool("helm")


def kubectl() -> Tool:
    return get_tool("kubectl")
