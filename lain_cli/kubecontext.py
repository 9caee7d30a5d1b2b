"""Which kube context a command acts on, and the one ``lain use`` pinned.

A cluster file with ``context:`` names its context.  Without one, ``lain use
NAME`` pins the kubeconfig's current context of that moment (kept in
``$XDG_CONFIG_HOME/lain/contexts.json``), so a later ``kubectl config
use-context`` does not move lain to another cluster without a word: lain keeps
the pinned context and warns that kubectl's has moved.  ``--kube-context``
overrides all of this for one command.

The kubeconfig is read here, not through kubectl: its current context is one
key of a small YAML file, and lain asks for it on every command.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where the context came from, as the first line of a command shows it.
FROM_FILE = "cluster file"
FROM_OPTION = "--kube-context"
FROM_PIN = "pinned by lain use"
FROM_KUBECONFIG = "kubectl's current"


def kubeconfig_files(explicit: str | None) -> list[Path]:
    """The kubeconfig files kubectl would read: the cluster's, else ``$KUBECONFIG``, else ~/.kube/config."""
    if explicit:
        return [Path(explicit)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _parse(text: str) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


# kubectl writes the key at the start of a line, its value plain or quoted
_CURRENT = re.compile(r"""^current-context:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#"'][^\s#]*))?[ \t]*(?:#.*)?$""",
                      re.M)


def current_context_of(text: str) -> str | None:
    """A kubeconfig's current-context, read without a YAML parser when it is written the way
    kubectl writes it (the common case: every command asks)."""
    match = _CURRENT.search(text)
    if match:
        return next((g for g in match.groups() if g), None)
    value = _parse(text).get("current-context")
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class KubeconfigView:
    """What lain needs from the kubeconfig: its current context and the contexts it knows."""

    current: str | None
    files: tuple[Path, ...]

    @property
    def contexts(self) -> frozenset[str]:
        """The context names of every file (parsed only when asked)."""
        names: set[str] = set()
        for path in self.files:
            for entry in _parse(_read(path)).get("contexts") or []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    names.add(entry["name"])
        return frozenset(names)

    @property
    def where(self) -> str:
        from lain_cli.values import display_path

        return ", ".join(display_path(p) for p in self.files)


def read_kubeconfig(explicit: str | None) -> KubeconfigView:
    """The merged view kubectl has: the first file setting current-context wins, contexts add up."""
    files = kubeconfig_files(explicit)
    current: str | None = None
    for path in files:
        current = current_context_of(_read(path))
        if current:
            break
    return KubeconfigView(current, tuple(files))


def pins_file() -> Path:
    from lain_cli.clusters import config_dir

    return config_dir() / "contexts.json"


def _read_pins() -> dict[str, dict[str, str]]:
    try:
        data = json.loads(pins_file().read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("context"), str)}


def _write_pins(pins: dict[str, dict[str, str]]) -> None:
    target = pins_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".contexts.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def pinned(cluster: str) -> str | None:
    """The context ``lain use CLUSTER`` pinned, if any."""
    entry = _read_pins().get(cluster)
    return entry["context"] if entry else None


def pin(cluster: str, context: str) -> None:
    pins = _read_pins()
    pins[cluster] = {"context": context}
    _write_pins(pins)


def unpin(cluster: str) -> None:
    pins = _read_pins()
    if pins.pop(cluster, None) is not None:
        _write_pins(pins)


@dataclass(frozen=True)
class ContextChoice:
    """The context of one command: what kubectl/helm get, what the first line shows, and why."""

    passed: str | None  # given to kubectl/helm as --context / --kube-context (None: theirs)
    shown: str  # the context's name, "" when there is none at all
    source: str
    warnings: tuple[str, ...] = ()


def choose(
    cluster_name: str, file_context: str | None, kubeconfig: str | None, override: str | None
) -> ContextChoice:
    """The context for a command on ``cluster_name`` (see the module docstring for the order)."""
    if override:
        return ContextChoice(override, override, FROM_OPTION)
    if file_context:
        return ContextChoice(file_context, file_context, FROM_FILE)
    view = read_kubeconfig(kubeconfig)
    pin_ = pinned(cluster_name)
    if pin_ is None:
        return ContextChoice(None, view.current or "", FROM_KUBECONFIG)
    warnings = []
    if view.current == pin_:
        return ContextChoice(pin_, pin_, FROM_PIN)
    known = view.contexts
    if known and pin_ not in known:
        warnings.append(
            f"context {pin_}, pinned by `lain use {cluster_name}`, is not in {view.where}; "
            f"run `lain use {cluster_name}` again, or set context: in its cluster file"
        )
    elif view.current and view.current != pin_:
        warnings.append(
            f"kubectl's current context is now {view.current}; lain stays on {pin_}, pinned by "
            f"`lain use {cluster_name}` (run it again to move to {view.current}, or pass --kube-context)"
        )
    return ContextChoice(pin_, pin_, FROM_PIN, tuple(warnings))
