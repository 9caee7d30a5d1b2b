"""The YAML loader's bounds: alias expansion, nesting depth, and the two ways of reading agreeing."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from lain_cli import values, yamlload
from lain_cli.errors import ConfigError
from tests.fixtures_values import make_app, run_main


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bomb(levels: int, fan: int, mapping: bool = False) -> str:
    if mapping:
        lines = ["a0: &a0 {" + ", ".join(f"k{j}: x" for j in range(fan)) + "}"]
        lines += [f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(fan)) + "}"
                  for i in range(1, levels)]
    else:
        lines = ["a0: &a0 [" + ",".join(['"x"'] * fan) + "]"]
        lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return "\n".join([*lines, f"bomb: *a{levels - 1}"]) + "\n"


@pytest.mark.parametrize("text", [
    bomb(6, 10),  # issue 16: 345 bytes, 105 s and 2.7 GB before "unknown key"
    bomb(7, 10),  # 395 bytes: past 120 s and 3.2 GB
    bomb(9, 10, mapping=True),
    bomb(6, 10) + "m:\n  <<: {a: 1}\n",  # a merge key: read the ruamel way, bounded the same
    bomb(30, 2),
])
def test_alias_bombs_are_refused_at_once(text: str) -> None:
    started = cpu()
    with pytest.raises(ConfigError) as err:
        yamlload.parse(text, "bomb.yaml")
    assert cpu() - started < 1.0
    assert err.value.message.startswith("bomb.yaml:")
    assert err.value.message.endswith(": aliases expand to more than 100,000 values")
    assert "anchors that multiply" in (err.value.hint or "")


def test_a_bomb_in_a_values_file_is_exit_2_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "app")
    (tmp_path / "bomb.yaml").write_text(bomb(6, 10))
    monkeypatch.chdir(app)
    code, _, err = run_main(["-f", str(tmp_path / "bomb.yaml"), "lint"], capsys)
    assert code == 2
    assert "bomb.yaml:5: aliases expand to more than 100,000 values" in err


def test_anchors_that_do_not_multiply_are_fine() -> None:
    text = ("defaults: &d {replicaCount: 2, resources: {limits: {cpu: 1}}}\n"
            "deployments:\n  web: *d\n  worker:\n    <<: *d\n    replicaCount: 3\n")
    data, lines = yamlload.parse(text, "v.yaml")
    assert data["deployments"] == {"web": {"replicaCount": 2, "resources": {"limits": {"cpu": 1}}},
                                   "worker": {"replicaCount": 3, "resources": {"limits": {"cpu": 1}}}}
    assert lines[("deployments", "web", "resources", "limits")] == 1
    assert (data, lines) == yamlload.parse_reference(text, "v.yaml")
    # many uses of a small anchor stay well under the bound
    many = "e: &e {A: '1', B: '2'}\nl:\n" + "".join("  - *e\n" for _ in range(5000))
    assert len(yamlload.parse(many, "v.yaml")[0]["l"]) == 5000


@pytest.mark.parametrize(("text", "line"), [
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", 1),  # libyaml's own bound (1000 flow levels) says it first
    ("a: " + "[" * 100 + "]" * 100 + "\n", 1),
    ("a:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 100)), 65),
])
def test_deep_nesting_is_refused(text: str, line: int) -> None:
    started = cpu()
    with pytest.raises(ConfigError) as err:
        values.parse_yaml(text, "deep.yaml")
    assert cpu() - started < 1.0
    assert err.value.message == f"deep.yaml:{line}: nested more than 64 levels deep"


def test_nesting_within_the_bound_is_fine() -> None:
    text = "a: " + "[" * 60 + "1" + "]" * 60 + "\n"
    data, _ = yamlload.parse(text, "v.yaml")
    assert (data, _) == yamlload.parse_reference(text, "v.yaml")


def test_the_ruamel_way_is_bounded_too() -> None:
    # the reference way (merge keys, errors, directives) has the same bounds
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        yamlload.parse_reference("a: " + "[" * 70 + "]" * 70 + "\n", "v.yaml")
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        yamlload.parse_reference("a: " + "[" * 3000 + "]" * 3000 + "\n", "v.yaml")


def test_big_texts_report_libyamls_error_without_a_second_slow_read() -> None:
    text = "".join(f"k{i}: 1\n" for i in range(yamlload.REFERENCE_ERROR_MAX // 8)) + "b: [\n"
    started = cpu()
    with pytest.raises(ConfigError) as err:
        yamlload.parse(text, "v.yaml")
    assert cpu() - started < 1.5  # ruamel would take seconds more to say it its way
    assert err.value.message.startswith(f"v.yaml:{text.count(chr(10)) + 1}:1: invalid YAML: ")


@pytest.mark.parametrize("text", ["a: !!binary aGk=\n", "a: !!set {x, y}\n", "a: !!set null\n"])
def test_tags_lain_has_no_use_for_are_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        values.parse_yaml(text, "v.yaml")


def test_the_implicit_resolvers_are_ruamels_for_yaml_1_2() -> None:
    """The fast loader resolves plain scalars with a copy of ruamel's YAML 1.2 table (so that
    loading needs no ruamel import): the same patterns, flags and order for every first character."""
    from ruamel.yaml.resolver import VersionedResolver

    theirs = VersionedResolver(version=(1, 2)).versioned_resolver
    ours = yamlload.implicit_resolvers()
    assert set(ours) == set(theirs)
    for first, pairs in theirs.items():
        assert [(t, p.pattern, p.flags) for t, p in ours[first]] == [(str(t), p.pattern, p.flags) for t, p in pairs]


def test_loading_common_values_imports_no_ruamel() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom lain_cli import yamlload\n"
            "yamlload.parse('a: 1\\nb: true\\nc: ~\\nd: 100m\\ne: [x, \"5\"]\\n', 'v.yaml')\n"
            "print('ruamel.yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
