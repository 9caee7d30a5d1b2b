"""YAML text to plain data and the line of every key, fast and bounded.

Values and cluster files are read as ruamel.yaml's round-trip loader reads
them (YAML 1.2: ``yes`` is a string, ``0o17`` an octal, duplicate keys an
error), then turned into plain dicts, lists and scalars with a side table
``path -> line``.  ruamel's pure-Python scanner takes about 2 s per MB (8 s
for a MB of small mappings), so the common case goes another way: libyaml's
event parser (through PyYAML) feeds a composer here that builds the plain data
directly, resolving and constructing scalars with ruamel's own resolver and
constructor, so both ways give the same data (tests/test_fuzz_values.py
checks that on generated documents).  Whatever that composer does not handle
itself (``<<`` merge keys, complex keys, ``!!set``-like tags, directives,
several documents, and every error libyaml reports on a file of normal size)
goes to ruamel, whose messages are the ones users see.

Both ways are bounded, whatever the input:

- nesting deeper than :data:`MAX_DEPTH` levels is refused (deeper input would
  otherwise end in a RecursionError somewhere after loading);
- aliases may add at most :data:`MAX_ALIAS_NODES` values in all, counted as
  they are expanded: a few hundred bytes of nested aliases (the "billion
  laughs") would otherwise expand to millions of values and gigabytes.

The checks are counters on work done anyway: they cost nothing measurable on
normal files.
"""

from __future__ import annotations

import datetime
import re
import warnings
from typing import Any

from lain_cli.errors import ConfigError

KeyPath = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
# libyaml's errors on bigger texts are shown as they are instead of parsing the
# text again with ruamel for its wording (ruamel takes seconds per MB).
REFERENCE_ERROR_MAX = 512 * 1024

DEPTH_HINT = "values need a few levels (deployments.web.resources.limits.cpu is five); check the indentation"
ALIAS_HINT = ("values files have no need for anchors that multiply: write the repeated part out, "
              "or use fewer aliases of aliases")


class _UseReference(Exception):
    """The fast composer met something it leaves to ruamel."""


def parse(text: str, shown: str) -> tuple[Any, dict[KeyPath, int | None]]:
    """Parse YAML ``text`` into plain data and the line of every key and list item.

    ``shown`` names the file in error messages.  Raises ConfigError for invalid
    YAML, duplicate keys, nesting beyond :data:`MAX_DEPTH` and aliases that
    expand beyond :data:`MAX_ALIAS_NODES` values.
    """
    try:
        return _FastComposer(text, shown).compose()
    except _UseReference:
        pass
    return parse_reference(text, shown)


# -- the fast way: libyaml events -------------------------------------------

_YAML_ORG = "tag:yaml.org,2002:"
_CONSTRUCTED_TAGS = {f"{_YAML_ORG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS = {None, "!", f"{_YAML_ORG}map", f"{_YAML_ORG}seq"}


# YAML 1.2's implicit resolvers exactly as ruamel.yaml's VersionedResolver((1, 2)) has
# them (tests/test_yamlload.py compares the two): (tag suffix, pattern, first characters,
# verbose), tried in this order.  Written out so that loading a values file needs ruamel only
# to construct the rare scalars it spells its own way (floats, dates, 0x10).
_IMPLICIT_1_2 = (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF", True),
    ("float", r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789.", True),
    ("int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", "-+0123456789", True),
    ("merge", r"^(?:<<)$", "<", False),
    ("null", r"""^(?: ~
        |null|Null|NULL
        | )$""", ("~", "n", "N", ""), True),
    ("timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789", True),
    ("value", r"^(?:=)$", "=", False),
    ("yaml", r"^(?:!|&|\*)$", "!&*", False),
)


def implicit_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    """First character of a plain scalar ('' for an empty one) -> the (tag, pattern)
    pairs to try, in order, as ruamel's resolver builds them for YAML 1.2."""
    table: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for suffix, pattern, firsts, verbose in _IMPLICIT_1_2:
        compiled = re.compile(pattern, re.X if verbose else 0)
        for first in firsts:
            table.setdefault(first, []).append((f"{_YAML_ORG}{suffix}", compiled))
    return table


class _Scalars:
    """Scalar resolution and construction exactly as ruamel's round-trip loader does them."""

    def __init__(self) -> None:
        self._resolvers = implicit_resolvers()
        self._constructor: Any = None  # ruamel's, made when a scalar needs it
        # plain scalar -> its resolved tag: the same texts come back in every proc
        # ("5000", "100m", "true")
        self._resolved: dict[str, str] = {}

    def _resolve(self, value: str) -> str:
        for tag, pattern in self._resolvers.get(value[:1], ()):
            if pattern.match(value):
                return tag
        return f"{_YAML_ORG}str"

    def _construct(self, tag: str, value: str, style: str | None) -> Any:
        from ruamel.yaml.nodes import ScalarNode
        from ruamel.yaml.tag import Tag

        if self._constructor is None:
            from ruamel.yaml import YAML

            self._constructor = YAML(typ="rt").constructor
        node = ScalarNode(Tag(suffix=tag), value, style=style or None)
        return self._constructor.construct_object(node, deep=True)

    def value(self, value: str, tag: str | None, plain: bool, style: str | None, key: bool = False) -> Any:
        """The plain value of a scalar; ``key``: for a mapping key (only simple ones are done here)."""
        if tag is None or tag == "!":
            plain = plain or tag == "!"  # ruamel resolves a "!" scalar as if it were plain, quoted or not
            if not plain or value[:1] not in self._resolvers:
                return value
            resolved = self._resolved.get(value)
            if resolved is None:
                resolved = self._resolved[value] = self._resolve(value)
            if resolved == f"{_YAML_ORG}str":
                return value
            if resolved == f"{_YAML_ORG}null":
                return None
            if resolved == f"{_YAML_ORG}bool":
                return value.lower() == "true"
            if resolved == f"{_YAML_ORG}int" and _is_simple_int(value):
                return int(value)
            if key or resolved not in _CONSTRUCTED_TAGS:
                # merge (<<) and value (=) tags; keys that ruamel spells its own way (0x10, 1.5, dates)
                raise _UseReference
            tag = resolved
        elif not tag.startswith(_YAML_ORG):
            return value  # a custom tag (!foo bar): ruamel keeps the text
        elif tag not in _CONSTRUCTED_TAGS:
            raise _UseReference  # !!binary, !!set, !!python/...: ruamel decides
        try:
            constructed = self._construct(tag, value, style)
        except Exception:  # noqa: BLE001 - ruamel reports it, with its own message
            raise _UseReference from None
        return plain_scalar(constructed)


def _is_simple_int(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isdigit() and digits.isascii() and (digits == "0" or digits[0] != "0")


class _Frame:
    __slots__ = ("path", "data", "is_map", "key", "keys", "anchor", "start", "line")

    def __init__(self, path: KeyPath, is_map: bool, anchor: str | None, start: int, line: int) -> None:
        self.path = path
        self.is_map = is_map
        self.data: Any = {} if is_map else []
        self.key: str | None = None  # the key whose value comes next (mappings)
        self.keys: set[Any] = set()  # constructed keys seen, for duplicates
        self.anchor = anchor
        self.start = start  # index in the line list where this node's entries begin
        self.line = line


class _FastComposer:
    def __init__(self, text: str, shown: str) -> None:
        self.text = text
        self.shown = shown
        self.lines: list[tuple[KeyPath, int | None]] = []
        # anchor -> (value, first and last index of its entries in self.lines, its path, its line)
        self.anchors: dict[str, tuple[Any, int, int, KeyPath, int]] = {}
        self.open_anchors: set[str] = set()
        self.alias_budget = MAX_ALIAS_NODES

    def compose(self) -> tuple[Any, dict[KeyPath, int | None]]:
        try:
            from yaml import YAMLError, events
            from yaml.cyaml import CParser
        except ImportError:  # PyYAML without libyaml: ruamel does it all
            raise _UseReference from None
        if self.text.find("\ufeff", 1) >= 0:
            raise _UseReference  # a byte order mark inside the text: libyaml and ruamel differ
        scalars = _scalars()
        parser = CParser(self.text)
        stack: list[_Frame] = []
        root: list[Any] = []
        scalar_event, alias_event = events.ScalarEvent, events.AliasEvent
        map_start, seq_start = events.MappingStartEvent, events.SequenceStartEvent
        map_end, seq_end = events.MappingEndEvent, events.SequenceEndEvent
        doc_start, doc_end = events.DocumentStartEvent, events.DocumentEndEvent
        documents = 0
        try:
            while True:
                event = parser.get_event()
                if event is None:
                    break
                kind = type(event)
                if kind is scalar_event:
                    mark = event.start_mark
                    top = stack[-1] if stack else None
                    if top is not None and top.is_map and top.key is None:
                        if event.tag is not None or event.anchor is not None:
                            raise _UseReference  # tagged or anchored keys: rare, ruamel's way
                        key = scalars.value(event.value, None, not event.style, event.style, key=True)
                        self._add_key(top, key, mark.line + 1, mark.column + 1)
                        continue
                    if top is None and event.style in ("|", ">"):
                        raise _UseReference  # a block scalar at column 0: libyaml reads "#" lines as comments
                    value = scalars.value(event.value, event.tag, not event.style and event.implicit[0],
                                          event.style)
                    self._place(stack, root, value, mark.line + 1)
                    if event.anchor is not None:
                        self._check_name(mark.index, "&", event.anchor)
                        self.anchors[event.anchor] = (value, len(self.lines), len(self.lines), (), mark.line + 1)
                elif kind is map_start or kind is seq_start:
                    if event.tag not in _COLLECTION_TAGS and event.tag.startswith(_YAML_ORG):
                        raise _UseReference  # !!omap, !!set, !!pairs
                    mark = event.start_mark
                    top = stack[-1] if stack else None
                    if top is not None and top.is_map and top.key is None:
                        raise _UseReference  # a mapping or list as a key
                    if len(stack) >= MAX_DEPTH:
                        raise too_deep(self.shown, mark.line + 1)
                    path = self._child_path(top, mark.line + 1)
                    frame = _Frame(path, kind is map_start, event.anchor, len(self.lines), mark.line + 1)
                    if event.anchor is not None:
                        self._check_name(mark.index, "&", event.anchor)
                        self.open_anchors.add(event.anchor)
                    stack.append(frame)
                elif kind is map_end or kind is seq_end:
                    frame = stack.pop()
                    if frame.anchor is not None:
                        self.open_anchors.discard(frame.anchor)
                        self.anchors[frame.anchor] = (frame.data, frame.start, len(self.lines), frame.path,
                                                      frame.line)
                    self._attach(stack, root, frame.data)
                elif kind is alias_event:
                    self._alias(stack, root, event)
                elif kind is doc_start:
                    documents += 1
                    if documents > 1 or event.version is not None or event.tags:
                        raise _UseReference  # several documents, %YAML or %TAG: ruamel's way
                elif kind is doc_end:
                    pass
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            if "maximum nesting depth" in str(getattr(exc, "problem", "")) and mark is not None:
                raise too_deep(self.shown, mark.line + 1) from None  # libyaml's own bound, 1000 levels
            if len(self.text) <= REFERENCE_ERROR_MAX:
                raise _UseReference from None
            raise yaml_error(exc, self.shown) from None
        return (root[0] if root else None), dict(self.lines)

    def _child_path(self, top: _Frame | None, line: int) -> KeyPath:
        """The path of a node starting now, recording its line in its parent."""
        if top is None:
            return ()
        if top.is_map:
            return (*top.path, top.key)  # type: ignore[arg-type]
        path = (*top.path, len(top.data))
        self.lines.append((path, line))
        return path

    def _add_key(self, frame: _Frame, key: Any, line: int, column: int) -> None:
        if key in frame.keys:
            raise duplicate_key(self.shown, key_text(key), line, column)
        frame.keys.add(key)
        name = key_text(key)
        frame.key = name
        self.lines.append(((*frame.path, name), line))

    def _place(self, stack: list[_Frame], root: list[Any], value: Any, line: int) -> None:
        """A scalar or an alias's copy, at the place the parser is at."""
        top = stack[-1] if stack else None
        if top is not None and not top.is_map:
            self.lines.append(((*top.path, len(top.data)), line))
        self._attach(stack, root, value)

    def _attach(self, stack: list[_Frame], root: list[Any], value: Any) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        if top.is_map:
            top.data[top.key] = value
            top.key = None
        else:
            top.data.append(value)

    def _check_name(self, index: int, sigil: str, name: str) -> None:
        """Leave it to ruamel when an anchor or alias name runs on in the text (``&a:b``):
        libyaml ends names at the first character that is not a letter, digit, - or _."""
        at = self.text.find(sigil + name, index, index + len(name) + 1024)
        end = at + 1 + len(name)
        if at < 0 or (end < len(self.text) and self.text[end] not in " \t\r\n,[]{}"):
            raise _UseReference

    def _alias(self, stack: list[_Frame], root: list[Any], event: Any) -> None:
        name = event.anchor
        self._check_name(event.start_mark.index, "*", name)
        line = event.start_mark.line + 1
        if name in self.open_anchors:
            raise ConfigError(f"the alias *{name} is inside the node it refers to (a structure without end)",
                              file=self.shown, line=line, hint=ALIAS_HINT)
        if name not in self.anchors:
            raise _UseReference  # undefined alias: ruamel's message
        value, first, last, base, anchor_line = self.anchors[name]
        top = stack[-1] if stack else None
        if top is not None and top.is_map and top.key is None:
            if isinstance(value, dict | list):
                raise _UseReference  # a mapping or list as a key
            self._add_key(top, value, anchor_line, event.start_mark.column + 1)
            return
        self.alias_budget -= last - first + 1
        if self.alias_budget < 0:
            raise aliases_too_many(self.shown, line)
        path: KeyPath = ()
        if top is not None:
            if top.is_map:
                path = (*top.path, top.key)  # type: ignore[arg-type]
            else:
                path = (*top.path, len(top.data))
                # ruamel gives an aliased item the line of the node it refers to
                self.lines.append((path, anchor_line))
        cut = len(base)
        self.lines.extend([((*path, *sub[cut:]), sub_line) for sub, sub_line in self.lines[first:last]])
        self._attach(stack, root, copy_plain(value))


_SCALARS: list[_Scalars] = []


def _scalars() -> _Scalars:
    if not _SCALARS:
        _SCALARS.append(_Scalars())
    return _SCALARS[0]


def copy_plain(value: Any) -> Any:
    """A copy of plain data (dicts and lists copied, scalars shared)."""
    if isinstance(value, dict):
        return {k: copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_plain(v) for v in value]
    return value


# -- the reference way: ruamel.yaml's round-trip loader ------------------------


def parse_reference(text: str, shown: str) -> tuple[Any, dict[KeyPath, int | None]]:
    """Parse ``text`` with ruamel.yaml's round-trip loader (slow, and the reference)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="rt")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ruamel warns on stderr about reused anchors: not for users
            doc = yaml.load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        found = exc.problem or ""
        start = found.find('duplicate key "')
        key = found[start + 15:found.find('"', start + 15)] if start >= 0 else ""
        raise duplicate_key(shown, key, mark.line + 1, mark.column + 1) from None
    except YAMLError as exc:
        raise yaml_error(exc, shown) from None
    except RecursionError:
        raise too_deep(shown, None) from None
    except Exception as exc:  # noqa: BLE001 - ruamel itself fails on some tagged nodes (!!set null)
        raise ConfigError(f"invalid YAML: it cannot be read ({exc.__class__.__name__}: {exc})", file=shown,
                          hint="a tag such as !!set, !!omap or !!binary may not fit its value; "
                               "values files need no tags") from None
    lines: dict[KeyPath, int | None] = {}
    return _Plain(shown, lines).convert(doc, ()), lines


class _Plain:
    """ruamel's round-trip objects as plain data, within the depth and alias bounds."""

    def __init__(self, shown: str, lines: dict[KeyPath, int | None]) -> None:
        self.shown = shown
        self.lines = lines
        self.seen: set[int] = set()  # containers already converted: meeting one again is an alias
        self.alias_budget = MAX_ALIAS_NODES
        self.in_alias = 0

    def convert(self, node: Any, path: KeyPath, line: int | None = None) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if not isinstance(node, CommentedMap | CommentedSeq):
            if self.in_alias:
                self._spend(1, line)
            return plain_scalar(node, self.shown, line)
        if len(path) >= MAX_DEPTH:
            raise too_deep(self.shown, line)
        again = id(node) in self.seen
        self.seen.add(id(node))
        self.in_alias += again
        if self.in_alias:
            self._spend(1, line)
        try:
            if isinstance(node, CommentedMap):
                return self._mapping(node, path)
            return self._sequence(node, path)
        finally:
            self.in_alias -= again

    def _spend(self, count: int, line: int | None) -> None:
        self.alias_budget -= count
        if self.alias_budget < 0:
            raise aliases_too_many(self.shown, line)

    def _mapping(self, node: Any, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        own_line = node.lc.line + 1 if node.lc.line is not None else None
        for key, value in node.items():
            name = key_text(key)
            sub = (*path, name)
            try:
                line = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                line = own_line  # a key from a `<<:` merge
            self.lines[sub] = line
            out[name] = self.convert(value, sub, line)
        return out

    def _sequence(self, node: Any, path: KeyPath) -> list[Any]:
        items = []
        for index, value in enumerate(node):
            sub = (*path, index)
            try:
                line = node.lc.item(index)[0] + 1
            except (KeyError, TypeError):
                line = None
            self.lines[sub] = line
            items.append(self.convert(value, sub, line))
        return items


def plain_scalar(node: Any, shown: str | None = None, line: int | None = None) -> Any:
    """One of ruamel's scalar objects as a plain str, int, float, bool or None."""
    from ruamel.yaml.comments import TaggedScalar

    if isinstance(node, TaggedScalar):
        return node.value
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, datetime.date):
        return node.isoformat()
    kind = {bytes: "!!binary"}.get(type(node), f"!!{type(node).__name__.removeprefix('Commented').lower()}")
    raise ConfigError(f"{kind} values are not supported", file=shown, line=line,
                      hint="write mappings, lists, strings, numbers, true/false or null")


def key_text(key: Any) -> str:
    """A mapping key as the string lain uses (``true`` for True, ``null`` for None)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


# -- errors -----------------------------------------------------------------


def located(message: str, shown: str, line: int | None, col: int | None, hint: str | None) -> ConfigError:
    """A ConfigError shown as ``file:line:col: message``, with ``.file`` and ``.line`` set."""
    where = f"{shown}:{line}:{col}" if line and col else (f"{shown}:{line}" if line else shown)
    exc = ConfigError(message, file=where, hint=hint)
    exc.file, exc.line = shown, line
    return exc


def duplicate_key(shown: str, key: str, line: int, column: int) -> ConfigError:
    return located(f"duplicate key {key!r}" if key else "duplicate key", shown, line, column,
                   "each key may appear once per mapping; remove or merge the repeated one")


def too_deep(shown: str, line: int | None) -> ConfigError:
    return located(f"nested more than {MAX_DEPTH} levels deep", shown, line, None, DEPTH_HINT)


def aliases_too_many(shown: str, line: int | None) -> ConfigError:
    return located(f"aliases expand to more than {MAX_ALIAS_NODES:,} values", shown, line, None, ALIAS_HINT)


_UNCLOSED = {
    "while scanning a quoted scalar": ("the quoted string that starts here is not closed",
                                       "add the closing quote (a quote inside the text: write \\\" or use the other quote)"),
    "while parsing a flow sequence": ("the [ list that starts here is not closed", "add the closing ]"),
    "while parsing a flow mapping": ("the { mapping that starts here is not closed", "add the closing }"),
}


def unclosed(exc: Exception) -> tuple[str, str] | None:
    """(message, hint) when ``exc`` is a quote, ``[`` or ``{`` left open until the end of the text."""
    problem = str(getattr(exc, "problem", None) or "")
    context = getattr(exc, "context", None)
    at_end = "end of stream" in problem or "<stream end>" in problem
    if at_end and getattr(exc, "context_mark", None) is not None and context in _UNCLOSED:
        return _UNCLOSED[context]
    return None


def yaml_error(exc: Exception, shown: str) -> ConfigError:
    """A YAML error of ruamel or libyaml as ``file:line:col: invalid YAML: ...``.

    An error found at the end of the file about something opened earlier (a
    quote, a ``[`` or ``{``) is shown where that was opened: the end of the file
    is not where the mistake is.
    """
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem is None and context is None:
        return ConfigError(f"invalid YAML: {exc}", file=shown)
    problem = problem or "invalid YAML"
    opened = unclosed(exc)
    if opened is not None:
        message, hint = opened
        return located(f"invalid YAML: {message}", shown, context_mark.line + 1, context_mark.column + 1, hint)
    if context:
        problem = f"{problem} ({context})"
    mark = problem_mark or context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return located(f"invalid YAML: {problem}", shown, line, col, "check the indentation and quoting")
