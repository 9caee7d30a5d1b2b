"""Loading, merging and locating values.

A values file is read as ruamel.yaml's round-trip loader reads it, fast and
bounded (:mod:`lain_cli.yamlload`), into plain dicts and lists (a
:class:`Layer`) with a side table ``path -> line``.  Layers merge in order: mappings merge
deeply, lists and scalars replace, and a ``null`` removes what an earlier layer
set (as in helm).  :class:`Origins` answers "which file and line set this key?"
for error messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lain_cli.errors import ConfigError, UsageError
from lain_cli.yamlload import copy_plain

MAX_FILE_SIZE = 5 * 1024 * 1024
KeyPath = tuple[str | int, ...]

_APPNAME_PLACEHOLDER = re.compile(r"\{\{\s*appname\s*\}\}")


@dataclass
class Layer:
    """One source of values: a file, cluster defaults or the ``--set`` pairs."""

    name: str  # what error messages call it: "chart/values.yaml", "--set", "lain defaults"
    data: dict[str, Any]
    lines: dict[KeyPath, int | None] = field(default_factory=dict)


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as people type it: relative to the working directory, else under ``~``, else absolute."""
    full = os.path.abspath(os.fspath(path))
    try:
        rel = os.path.relpath(full)
    except ValueError:
        return full
    if not rel.startswith(".."):
        return rel
    home = os.path.expanduser("~")
    if full.startswith(home.rstrip("/") + "/"):
        return "~/" + os.path.relpath(full, home)
    return rel if len(rel) < len(full) else full


# -- loading ----------------------------------------------------------------


def read_text(path: Path, shown: str) -> str:
    """The file's text, or a ConfigError for missing, huge or non-UTF-8 files."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_SIZE:
            raise ConfigError(
                f"file is too large ({size / 1024 / 1024:.1f} MiB; the limit is "
                f"{MAX_FILE_SIZE // 1024 // 1024} MiB)",
                file=shown,
                hint="values files are configuration; keep data out of them",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", file=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a values file", file=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=shown) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            file=shown,
            line=line,
            hint="save the file as UTF-8",
        ) from None


def parse_yaml(text: str, shown: str) -> tuple[Any, dict[KeyPath, int | None]]:
    """Parse YAML ``text`` into plain data and the line of every key and list item.

    Bounded in nesting depth and alias expansion (see :mod:`lain_cli.yamlload`).
    """
    from lain_cli import yamlload

    return yamlload.parse(text, shown)


def load_file(path: str | os.PathLike[str], *, missing_hint: str | None = None) -> Layer:
    """Load one values file; its top level must be a mapping (an empty file is ``{}``)."""
    path = Path(path)
    shown = display_path(path)
    if missing_hint and not path.exists():
        raise ConfigError("file not found", file=shown, hint=missing_hint)
    data, lines = parse_yaml(read_text(path, shown), shown)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise ConfigError(f"the top level must be a mapping of keys (like appname: ...), not {kind}",
                          file=shown, line=1)
    return Layer(shown, data, lines)


# -- merging ----------------------------------------------------------------


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``override`` merged into ``base``.

    Mappings merge deeply; lists and scalars replace; ``None`` in ``override``
    deletes the key from ``base`` (or is kept when ``base`` has no such key).
    Neither argument is modified.
    """
    result = dict(base)
    for key, value in override.items():
        if value is None:
            if key in result:
                del result[key]
            else:
                result[key] = None
            continue
        old = result.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            result[key] = merge(old, value)
        else:
            result[key] = copy_plain(value)
    return result


def merge_layers(layers: Iterable[Layer]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge(merged, layer.data)
    return merged


def expand_appname(value: Any, appname: str) -> Any:
    """Replace ``{{ appname }}`` (whitespace-tolerant) in every string of ``value``."""
    if isinstance(value, str):
        return _APPNAME_PLACEHOLDER.sub(appname, value) if "{{" in value else value
    if isinstance(value, dict):
        return {k: expand_appname(v, appname) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_appname(v, appname) for v in value]
    return value


@dataclass
class Origins:
    """Where each key of the merged values came from."""

    layers: Sequence[Layer]
    default_file: str = "chart/values.yaml"

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        """(file, line) of the last layer that set ``path`` or, failing that, its nearest parent."""
        for end in range(len(path), 0, -1):
            sub = path[:end]
            for layer in reversed(self.layers):
                if sub in layer.lines:
                    return layer.name, layer.lines[sub]
        return self.default_file, None


# -- --set ------------------------------------------------------------------

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_SEGMENT = re.compile(r"^(?P<key>(?:[^\[\]\\]|\\.)+)?(?P<idx>(?:\[\d+\])*)$")


def typed_value(text: str) -> Any:
    """``--set`` value typing, as helm's: ints, true/false, null, [a,b] lists; quotes keep strings.

    Like helm, nothing becomes a float: ``3549e18`` is a git sha, not 3.549e21,
    and ``0.5`` (a CPU quantity) works as the string Kubernetes accepts anyway.
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [typed_value(part) for part in _split_list(inner)] if inner else []
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    if _INT.match(text):
        return int(text)
    return text


def _split_list(inner: str) -> list[str]:
    parts, current, quote = [], "", ""
    for char in inner:
        if quote:
            current += char
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current += char
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse_set_path(text: str) -> KeyPath:
    """``a.b[0].c`` -> ("a", "b", 0, "c"); ``\\.`` keeps a dot inside a key."""
    segments = re.split(r"(?<!\\)\.", text)
    path: list[str | int] = []
    for segment in segments:
        match = _SEGMENT.match(segment)
        if not segment or not match or not match.group("key"):
            raise UsageError(f"invalid --set key {text!r}",
                             hint="write dotted keys like deployments.web.replicaCount=3 or ingresses[0].host=x")
        path.append(match.group("key").replace("\\.", "."))
        path += [int(i) for i in re.findall(r"\[(\d+)\]", match.group("idx"))]
    return tuple(path)


def set_layer(pairs: Sequence[str]) -> Layer:
    """The ``--set k=v`` pairs as one layer, applied in order."""
    data: dict[str, Any] = {}
    lines: dict[KeyPath, int | None] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"invalid --set {pair!r}: expected KEY=VALUE",
                             hint="for example --set deployments.web.replicaCount=3")
        path = parse_set_path(key.strip())
        value = typed_value(raw)
        if path[-1] == "imageTag" and value == "":
            # an empty tag would silently mean "the git commit" (issue 16)
            raise UsageError(f"--set {key.strip()}= gives no tag",
                             hint=f"give one (--set {key.strip()}=TAG), or leave the --set out to use the "
                                  "git commit's tag")
        _assign(data, path, value, pair)
        for end in range(1, len(path) + 1):
            lines[path[:end]] = None
    return Layer("--set", data, lines)


class _Indexed(list):  # type: ignore[type-arg]
    """A list built by ``a[0]=x``: it changes items of an existing list instead of replacing it."""


def _assign(data: dict[str, Any], path: KeyPath, value: Any, pair: str) -> None:
    node: Any = data
    for here, nxt in zip(path, path[1:], strict=False):
        container: Any = _Indexed() if isinstance(nxt, int) else {}
        node = _step(node, here, container, pair)
    last = path[-1]
    if isinstance(last, int):
        _pad(node, last)
        node[last] = value
    else:
        node[last] = value


def _step(node: Any, key: str | int, empty: Any, pair: str) -> Any:
    if isinstance(key, int):
        if not isinstance(node, list):
            raise UsageError(f"invalid --set {pair!r}: [{key}] indexes something that is not a list")
        _pad(node, key)
        if not isinstance(node[key], type(empty)):
            node[key] = empty
        return node[key]
    if not isinstance(node, dict):
        raise UsageError(f"invalid --set {pair!r}: {key} is under something that is not a mapping")
    if not isinstance(node.get(key), type(empty)):
        node[key] = empty
    return node[key]


def _pad(items: list[Any], index: int) -> None:
    if index > 1000:
        raise UsageError(f"--set list index {index} is too large")
    while len(items) <= index:
        items.append(None)


def apply_list_sets(merged: dict[str, Any], layer: Layer) -> dict[str, Any]:
    """Merge the ``--set`` layer, letting ``a[1].b=x`` change one item of an existing list."""
    return _merge_indexed(merged, layer.data)


def _merge_indexed(base: Any, override: Any) -> Any:
    if isinstance(override, dict):
        result = dict(base) if isinstance(base, dict) else {}
        for key, value in override.items():
            if value is None and key in result:
                del result[key]
            else:
                result[key] = _merge_indexed(result.get(key), value)
        return result
    if isinstance(override, _Indexed):
        result_list = copy_plain(base) if isinstance(base, list) else []
        for index, value in enumerate(override):
            if index < len(result_list):
                if value is not None:
                    result_list[index] = _merge_indexed(result_list[index], value)
            else:
                result_list.append(_merge_indexed(None, value))
        return result_list
    if isinstance(override, list):
        return [_merge_indexed(None, v) for v in override]
    return override  # a scalar


WORKLOAD_SECTIONS = ("deployments", "statefulSets", "jobs", "cronjobs", "tests")


def finalize(merged: dict[str, Any]) -> dict[str, Any]:
    """Null means "not set": drop keys whose value is null, as helm does.

    An empty proc (``web:`` with nothing under it) means ``web: {}``.
    """
    out = drop_nulls(merged)
    for section in WORKLOAD_SECTIONS:
        procs = merged.get(section)
        if isinstance(procs, dict):
            out[section] = {name: ({} if spec is None else drop_nulls(spec)) for name, spec in procs.items()}
    return out


def drop_nulls(value: Any) -> Any:
    """``value`` without the mapping keys whose value is null (list items are kept)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value
