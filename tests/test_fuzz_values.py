"""Fuzzing the values loader and the schema with hypothesis, in a bounded time.

Three properties, each tried on generated inputs for a bounded time (a few
hundred inputs or a few seconds each, whichever ends first: the file stays
under 30 s; ``LAIN_FUZZ_EXAMPLES`` scales both up for a longer hunt):

1. the fast loader (libyaml events) and ruamel's round-trip loader give the
   same data and lines, or both refuse (documents written by ruamel with random
   styles, anchors, aliases and merge keys);
2. any text, mangled YAML included, makes the values loader either return data
   or raise a ConfigError, quickly, never anything else;
3. any data under the keys the schema knows makes merging and validation
   either pass or raise a ConfigError, and every message renders.

On CI (``CI`` set) the inputs are the same every run (derandomized), so a
failure there is reproducible; elsewhere each run tries new ones.
"""

from __future__ import annotations

import io
import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lain_cli import schema, values, yamlload
from lain_cli.context import merge_and_validate
from lain_cli.errors import ConfigError, LainError

SCALE = float(os.environ.get("LAIN_FUZZ_EXAMPLES", "1"))
SLOW = 2.0  # CPU seconds (a busy machine does not count): any one input taking longer is a finding


class Budget:
    """Wall-clock seconds a property may spend on inputs: past them, the rest of its examples
    are let through untried, so the whole file stays under 30 s on a loaded machine too."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds * SCALE
        self.until: float | None = None
        self.tried = 0

    def spend(self) -> bool:
        now = time.monotonic()
        if self.until is None:
            self.until = now + self.seconds
        if now > self.until:
            return False
        self.tried += 1
        return True


BUDGETS = {name: Budget(seconds) for name, seconds in
           (("same data", 5), ("any text", 7), ("any bytes", 1), ("known keys", 6))}


@pytest.fixture(scope="module", autouse=True)
def _report_inputs_tried() -> Any:
    yield
    tried = ", ".join(f"{name}: {b.tried}" for name, b in BUDGETS.items())
    print(f"\nfuzz inputs tried: {sum(b.tried for b in BUDGETS.values())} ({tried})")


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=int(examples * SCALE),
        deadline=None,  # timing is asserted by the tests themselves, per input
        derandomize=bool(os.environ.get("CI")),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


TRICKY = [
    "yes", "no", "on", "off", "y", "true", "True", "FALSE", "~", "null", "Null", "", " ", "0", "-0", "+5",
    "007", "08", "0o17", "0x1F", "0b101", "1_000", "1e3", "1.5", "1.50", ".5", "1.", "._5", ".inf", "-.inf",
    ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2002-12-14 21:59:43.10 -5", "12:30", "=", "<<",
    "a: b", "#x", "- x", "[a]", "{a: 1}", "&x", "*x", "!tag", "%YAML", "---", "...", "'q'", '"q"', "a\nb",
    "a\n\nb\n", "tab\there", "trailing ", "ünïcödé", "☃", "\\", "{{ appname }}", "$(x)",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False),
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
keys = st.one_of(
    st.sampled_from(["appname", "env", "deployments", "web", "a", "b", "replicaCount", "1", "true", "null",
                     "yes", "<<x", "key with space", "k:v", "ü"]),
    st.integers(min_value=-5, max_value=5),
    st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=25,
)


def ruamel_document(data: Any, draw: Any) -> str:
    """``data`` written by ruamel with drawn styles, and some parts shared (anchors and aliases)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        FoldedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    shared: list[Any] = []

    def convert(node: Any) -> Any:
        if shared and draw(st.integers(0, 9)) == 0:
            return draw(st.sampled_from(shared))  # the same object again: ruamel writes an alias
        if isinstance(node, dict):
            out = CommentedMap()
            for key, value in node.items():
                out[key] = convert(value)
            if draw(st.booleans()):
                out.fa.set_flow_style()
            if draw(st.integers(0, 3)) == 0:
                out.yaml_set_anchor(f"a{len(shared)}", always_dump=True)
            shared.append(out)
            return out
        if isinstance(node, list):
            seq = CommentedSeq(convert(v) for v in node)
            if draw(st.booleans()):
                seq.fa.set_flow_style()
            shared.append(seq)
            return seq
        if isinstance(node, str) and node.strip() == node:
            style = draw(st.integers(0, 5))
            if style == 1:
                return DoubleQuotedScalarString(node)
            if style == 2:
                return SingleQuotedScalarString(node)
            if style == 3 and node and "\n" not in node:
                return LiteralScalarString(node + "\n")
            if style == 4 and node and "\n" not in node:
                return FoldedScalarString(node + "\n")
        return node

    doc = convert(data)
    yaml = YAML(typ="rt")
    yaml.width = draw(st.sampled_from([4096, 20]))
    stream = io.StringIO()
    yaml.dump(doc, stream)
    text = stream.getvalue()
    if isinstance(data, dict) and data and draw(st.integers(0, 4)) == 0:
        # a merge key, which goes the reference way
        text = "base: &base {m1: 1, m2: [x]}\nmerged:\n  <<: *base\n  m2: y\n" + (
            text if not text.startswith(("base:", "merged:")) else "")
    return text


class Refused:
    """What a loader gave for text it refused (every refusal equals every other)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Refused)

    def __repr__(self) -> str:
        return "Refused()"


def parse_either(parse: Any, text: str) -> Any:
    try:
        return parse(text, "v.yaml")
    except ConfigError:
        return Refused()


@fuzz_settings(400)
@given(st.data(), trees)
def test_the_fast_loader_reads_what_ruamel_reads(data: Any, tree: Any) -> None:
    text = ruamel_document(tree, data.draw)  # drawn before the budget check: hypothesis wants the same draws
    if not BUDGETS["same data"].spend():
        return
    fast = parse_either(yamlload.parse, text)
    reference = parse_either(yamlload.parse_reference, text)
    assert fast == reference, text


YAML_BITS = st.sampled_from(
    [":", ": ", "- ", "-", "[", "]", "{", "}", ",", "&a", "*a", "&b ", "*b", "!", "!!str ", "!!binary ", "!!set ",
     "!!omap ", "!!python/object:x ", "<<: ", "? ", "|", ">", "'", '"', "#", "\n", "\n  ", "  ", "\t", "---\n",
     "...\n", "%YAML 1.1\n", "%TAG ! x\n", "\\", "\ufeff", "\x00", "0x", "1e", "~", "@", "`", "=", "é"]
)


def mangle(text: str, edits: list[tuple[int, int, str]]) -> str:
    for where, cut, insert in edits:
        at = where % (len(text) + 1)
        text = text[:at] + insert + text[at + cut:]
    return text


def load_values(text: str) -> Any:
    """The values loader as lain runs it on a file: parse, check the top level, merge, validate."""
    data, lines = values.parse_yaml(text, "v.yaml")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", file="v.yaml")
    layers = [values.Layer("lain defaults", schema.lain_defaults()), values.Layer("v.yaml", data, lines)]
    return merge_and_validate(layers)


def assert_clean(text: str) -> None:
    """``text`` loads or is a LainError, within SLOW seconds; the fast way agrees with ruamel."""
    started = time.process_time()
    try:
        load_values(text)
    except LainError as exc:
        assert exc.render().startswith("error: ")
    took = time.process_time() - started
    assert took < SLOW, f"{took:.1f}s for {text!r}"


@fuzz_settings(700)
@given(st.data(), trees, st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 3), YAML_BITS), max_size=6))
def test_any_text_is_data_or_a_config_error(data: Any, tree: Any, edits: list[tuple[int, int, str]]) -> None:
    text = mangle(ruamel_document(tree, data.draw), edits)
    if not BUDGETS["any text"].spend():
        return
    assert_clean(text)
    fast = parse_either(yamlload.parse, text)
    reference = parse_either(yamlload.parse_reference, text)
    if fast != reference:
        # libyaml and ruamel may disagree on what is valid YAML (then lain reads it,
        # or refuses it, the way a libyaml-based tool would); never on what valid YAML means
        assert Refused() in (fast, reference), text


@fuzz_settings(150)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_clear_error(raw: bytes) -> None:
    if not BUDGETS["any bytes"].spend():
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return  # read_text refuses these with its own ConfigError (tests/test_values.py)
    assert_clean(text)


def schema_keys() -> list[tuple[str, ...]]:
    out = []
    for doc in schema.iter_keys():
        out.append(tuple(part for part in doc.path.replace("[]", ".[]").split(".") if part))
    return out


KEY_PATHS = schema_keys()
NAMES = st.sampled_from(["web", "worker", "migrate", "Web", "a" * 70, "x_y", "1", ""])


def build(path: tuple[str, ...], leaf: Any, draw: Any) -> Any:
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if head == "[]":
        return [build(rest, leaf, draw) for _ in range(draw(st.integers(0, 2)))]
    if head.startswith("<") and head.endswith(">"):  # a placeholder such as <proc>
        head = draw(NAMES)
    return {head: build(rest, leaf, draw)}


def as_loaded(tree: Any) -> Any:
    """``tree`` as the loader gives data: every mapping key a string."""
    if isinstance(tree, dict):
        return {yamlload.key_text(k): as_loaded(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [as_loaded(v) for v in tree]
    return tree


@fuzz_settings(700)
@given(st.data(), st.lists(st.tuples(st.sampled_from(KEY_PATHS), trees), min_size=1, max_size=8))
def test_any_values_under_known_keys_validate_or_are_a_config_error(data: Any, parts: list[Any]) -> None:
    merged: dict[str, Any] = {"appname": data.draw(st.sampled_from(["dummy", "Bad_Name", "", "x" * 60]))}
    for path, leaf in parts:
        merged = values.merge(merged, build(path, as_loaded(leaf), data.draw))
    if not BUDGETS["known keys"].spend():
        return
    lines = {(key,): 1 for key in merged}
    layers = [values.Layer("lain defaults", schema.lain_defaults()), values.Layer("v.yaml", merged, lines)]
    started = time.process_time()
    try:
        merge_and_validate(layers)
    except LainError as exc:
        assert exc.render().startswith("error: ")
    assert time.process_time() - started < SLOW


@pytest.mark.parametrize("text", [
    "a: !!binary aGk=\n",
    "a: !!set {x, y}\n",
    "? [a, b]\n: c\n",
    "a: !!int x\n",
    "a: *nowhere\n",
    "%YAML 1.1\n---\na: yes\n",
    "a: 1\n---\nb: 2\n",
    "\ufeffa: 1\n",
    "a: \x00\n",
])
def test_odd_yaml_is_data_or_a_config_error(text: str) -> None:
    assert_clean(text)
    assert parse_either(yamlload.parse, text) == parse_either(yamlload.parse_reference, text)


def test_a_recursive_alias_is_refused() -> None:
    # ruamel reads the inner *a as null; lain says what it is
    for text in ("a: &a [1, *a]\n", "a: &a {b: *a}\n"):
        with pytest.raises(ConfigError, match="the alias \\*a is inside the node it refers to"):
            values.parse_yaml(text, "v.yaml")
