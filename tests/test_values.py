"""Loading, merging, --set parsing and {{ appname }} expansion (lain_cli/values.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lain_cli import values
from lain_cli.errors import ConfigError, UsageError
from tests.fixtures_values import write


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# -- merge ------------------------------------------------------------------


def test_mappings_merge_deeply_and_scalars_replace() -> None:
    base = {"deployments": {"web": {"replicaCount": 1, "containerPort": 5000}}, "appname": "a"}
    override = {"deployments": {"web": {"replicaCount": 3}, "worker": {"command": ["w"]}}}
    assert values.merge(base, override) == {
        "appname": "a",
        "deployments": {"web": {"replicaCount": 3, "containerPort": 5000}, "worker": {"command": ["w"]}},
    }


def test_lists_replace_instead_of_appending() -> None:
    base = {"ingresses": [{"host": "a"}, {"host": "b"}], "deployments": {"web": {"command": ["x", "y"]}}}
    override = {"ingresses": [{"host": "c"}], "deployments": {"web": {"command": ["z"]}}}
    assert values.merge(base, override) == {
        "ingresses": [{"host": "c"}],
        "deployments": {"web": {"command": ["z"]}},
    }


def test_null_removes_what_an_earlier_layer_set() -> None:
    base = {"deployments": {"web": {}, "worker": {}}, "env": {"A": "1", "B": "2"}}
    override = {"deployments": {"worker": None}, "env": {"B": None}}
    assert values.merge(base, override) == {"deployments": {"web": {}}, "env": {"A": "1"}}


def test_merge_does_not_modify_its_inputs() -> None:
    base = {"a": {"b": [1]}}
    override = {"a": {"c": {"d": 1}}}
    merged = values.merge(base, override)
    merged["a"]["c"]["d"] = 2
    assert base == {"a": {"b": [1]}}
    assert override == {"a": {"c": {"d": 1}}}


def test_a_mapping_replaces_a_scalar_and_back() -> None:
    assert values.merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert values.merge({"a": {"b": 2}}, {"a": "x"}) == {"a": "x"}


def test_finalize_turns_empty_procs_into_mappings_and_drops_nulls() -> None:
    merged = {"appname": "a", "jobs": None, "deployments": {"web": None, "w": {"env": {"A": None}}},
              "ingresses": [{"host": "a", "annotations": None}], "command": [None]}
    assert values.finalize(merged) == {
        "appname": "a",
        "deployments": {"web": {}, "w": {"env": {}}},
        "ingresses": [{"host": "a"}],
        "command": [None],
    }


# -- --set ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-2", -2),
        ("0123", "0123"),  # leading zero: a tag or an id, not a number
        ("1.5", "1.5"),  # like helm: no floats
        ("1e3", "1e3"),
        ("3549e18", "3549e18"),  # a git short sha, not a number
        ("true", True),
        ("false", False),
        ("null", None),
        ("~", None),
        ("abc", "abc"),
        ("'3'", "3"),
        ('"true"', "true"),
        ("[a,b]", ["a", "b"]),
        ("[1, 'x,y', true]", [1, "x,y", True]),
        ("[]", []),
        ("", ""),
        ("a=b", "a=b"),
        ("yes", "yes"),
    ],
)
def test_set_values_are_typed(text: str, expected: object) -> None:
    assert values.typed_value(text) == expected
    assert type(values.typed_value(text)) is type(expected)


def test_set_paths_with_dots_indexes_and_escaped_dots() -> None:
    assert values.parse_set_path("deployments.web.replicaCount") == ("deployments", "web", "replicaCount")
    assert values.parse_set_path("ingresses[1].paths[0]") == ("ingresses", 1, "paths", 0)
    assert values.parse_set_path(r"deployments.web.podAnnotations.prometheus\.io/scrape") == (
        "deployments", "web", "podAnnotations", "prometheus.io/scrape")


def test_set_layer_builds_nested_values_in_order() -> None:
    layer = values.set_layer(["deployments.web.replicaCount=3", "imageTag=abc", "deployments.web.replicaCount=4"])
    assert layer.data == {"deployments": {"web": {"replicaCount": 4}}, "imageTag": "abc"}
    assert layer.name == "--set"


def test_set_with_index_changes_one_item_of_an_existing_list() -> None:
    merged = {"ingresses": [{"host": "a", "deployName": "web"}, {"host": "b", "deployName": "web"}]}
    layer = values.set_layer(["ingresses[1].host=c"])
    assert values.apply_list_sets(merged, layer) == {
        "ingresses": [{"host": "a", "deployName": "web"}, {"host": "c", "deployName": "web"}]
    }


def test_set_with_a_list_value_replaces_the_list() -> None:
    merged = {"deployments": {"web": {"command": ["a", "b", "c"]}}}
    layer = values.set_layer(["deployments.web.command=[x]"])
    assert values.apply_list_sets(merged, layer) == {"deployments": {"web": {"command": ["x"]}}}


@pytest.mark.parametrize("pair", ["imageTag=", 'imageTag=""', "deployments.web.imageTag= "])
def test_an_empty_image_tag_is_refused(pair: str) -> None:
    # issue 16: `--set imageTag=` silently deployed the git sha
    with pytest.raises(UsageError) as err:
        values.set_layer([pair])
    assert err.value.exit_code == 2
    assert "gives no tag" in err.value.message


def test_set_null_removes_a_key() -> None:
    merged = {"deployments": {"web": {"hpa": {"maxReplicas": 3}, "replicaCount": 1}}}
    layer = values.set_layer(["deployments.web.hpa=null"])
    assert values.apply_list_sets(merged, layer) == {"deployments": {"web": {"replicaCount": 1}}}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("replicaCount", "invalid --set 'replicaCount': expected KEY=VALUE"),
        ("=3", "invalid --set '=3': expected KEY=VALUE"),
        ("a..b=1", "invalid --set key 'a..b'"),
        ("a[x]=1", "invalid --set key 'a[x]'"),
        ("a[5000]=1", "--set list index 5000 is too large"),
    ],
)
def test_bad_set_pairs_are_usage_errors(pair: str, message: str) -> None:
    with pytest.raises(UsageError) as exc_info:
        values.set_layer([pair])
    assert exc_info.value.message == message
    assert exc_info.value.exit_code == 2


# -- {{ appname }} ----------------------------------------------------------


def test_appname_placeholder_is_expanded_in_strings_only() -> None:
    data = {
        "a": "/jfs/backup/{{ appname }}/",
        "b": ["{{appname}}-web", "{{   appname  }}"],
        "c": {"d": 1, "e": "{{ other }}", "f": "{{ appname }}{{ appname }}"},
    }
    assert values.expand_appname(data, "dummy") == {
        "a": "/jfs/backup/dummy/",
        "b": ["dummy-web", "dummy"],
        "c": {"d": 1, "e": "{{ other }}", "f": "dummydummy"},
    }


# -- loading ----------------------------------------------------------------


def test_load_keeps_the_line_of_every_key_and_item(tmp_path: Path) -> None:
    write(tmp_path / "chart" / "values.yaml", """\
        appname: dummy
        # a comment
        deployments:
          web:
            replicaCount: 1
        ingresses:
          - host: dummy
            deployName: web
        """)
    layer = values.load_file(tmp_path / "chart" / "values.yaml")
    assert layer.name == "chart/values.yaml"
    assert layer.lines[("appname",)] == 1
    assert layer.lines[("deployments", "web", "replicaCount")] == 5
    assert layer.lines[("ingresses", 0)] == 7
    assert layer.lines[("ingresses", 0, "deployName")] == 8


def test_load_returns_plain_python_types(tmp_path: Path) -> None:
    path = write(tmp_path / "v.yaml", """\
        a: 1
        b: 1.5
        c: true
        d: 2024-01-01
        e: |
          text
        f: [x, 2]
        g: null
        1: int key
        base: &base {x: 1}
        merged:
          <<: *base
          y: 2
        """)
    data = values.load_file(path).data
    assert data == {"a": 1, "b": 1.5, "c": True, "d": "2024-01-01", "e": "text\n", "f": ["x", 2], "g": None,
                    "1": "int key", "base": {"x": 1}, "merged": {"y": 2, "x": 1}}
    assert [type(v) for v in (data["a"], data["b"], data["e"], data["f"])] == [int, float, str, list]
    assert type(data["merged"]) is dict


def test_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "v.yaml", "# only a comment\n")
    assert values.load_file(path).data == {}


@pytest.mark.parametrize(
    ("content", "rendered"),
    [
        (b"appname: dummy\ndeployments:\n  web: x: 1\n",
         "error: v.yaml:3:9: invalid YAML: mapping values are not allowed here"),
        (b"appname: dummy\nappname: other\n", "error: v.yaml:2:1: duplicate key 'appname'"),
        # an unclosed [ or quote is shown where it opens, not at the end of the file
        (b"a: [1\n", "error: v.yaml:1:4: invalid YAML: the [ list that starts here is not closed"),
        (b'appname: "dummy\n' + b"deployments:\n  web:\n    replicaCount: 1\n" * 9,
         "error: v.yaml:1:10: invalid YAML: the quoted string that starts here is not closed"),
        (b"- a\n- b\n", "error: v.yaml:1: the top level must be a mapping of keys (like appname: ...), not a list"),
        (b"just text\n", "error: v.yaml:1: the top level must be a mapping of keys (like appname: ...), "
                         "not a single value"),
        (b"appname: caf\xe9\n", "error: v.yaml:1: not valid UTF-8 (byte 0xe9 at offset 12)"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, rendered: str) -> None:
    (tmp_path / "v.yaml").write_bytes(content)
    with pytest.raises(ConfigError) as exc_info:
        values.load_file(tmp_path / "v.yaml")
    assert exc_info.value.render().splitlines()[0] == rendered
    assert exc_info.value.file == "v.yaml"


def test_missing_file_names_it_and_hints(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc_info:
        values.load_file(tmp_path / "nope.yaml", missing_hint="check the path")
    assert exc_info.value.render() == "error: nope.yaml: file not found\nhint: check the path"


def test_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"a: " + b"x" * (values.MAX_FILE_SIZE + 1) + b"\n")
    with pytest.raises(ConfigError) as exc_info:
        values.load_file(path)
    assert exc_info.value.message == "huge.yaml: file is too large (5.0 MiB; the limit is 5 MiB)"


def test_origins_point_at_the_last_layer_that_set_a_key() -> None:
    first = values.Layer("chart/values.yaml", {}, {("a",): 1, ("a", "b"): 2, ("a", "c"): 3})
    second = values.Layer("chart/values-dev.yaml", {}, {("a",): 4, ("a", "b"): 5})
    origins = values.Origins([first, second])
    assert origins.locate(("a", "b")) == ("chart/values-dev.yaml", 5)
    assert origins.locate(("a", "c")) == ("chart/values.yaml", 3)
    assert origins.locate(("a", "c", "d")) == ("chart/values.yaml", 3)
    assert origins.locate(("z",)) == ("chart/values.yaml", None)
