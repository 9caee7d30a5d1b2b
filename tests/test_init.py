"""`lain init`: the starter values load and validate; no overwrite without --force."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lain_cli import schema, values
from lain_cli.scaffold import render_starter, sanitise_appname
from tests.fixtures_values import PROBE, probe_command, run_main  # noqa: F401

pytestmark = pytest.mark.usefixtures("probe_command")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "My_Shop.API"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def test_init_writes_a_starter_that_loads_and_validates(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["init"], capsys)
    assert code == 0, err
    assert "wrote chart/values.yaml" in err
    layer = values.load_file(repo / "chart" / "values.yaml")
    assert layer.data["appname"] == "my-shop-api"
    assert layer.data["deployments"]["web"]["containerPort"] == 5000
    assert layer.data["ingresses"] == [{"host": "my-shop-api", "deployName": "web", "paths": ["/"]}]
    assert schema.validate_values(values.finalize(layer.data)) == []
    code, out, err = run_main([PROBE], capsys)  # the whole pipeline accepts it too
    assert code == 0, err


def test_the_commented_examples_are_valid_once_uncommented() -> None:
    text = render_starter("dummy")
    uncommented = "\n".join(
        line.replace("# ", "", 1) if line.lstrip().startswith("# ") and _is_yaml_example(line) else line
        for line in text.splitlines()
    )
    data, _ = values.parse_yaml(uncommented, "starter")
    for key in ("jobs", "cronjobs", "tests", "externalIngresses", "env", "volumeMounts"):
        assert key in data, key
    assert data["jobs"]["migration"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    assert data["deployments"]["web"]["readinessProbe"]["httpGet"]["port"] == 5000
    problems = schema.validate_values(values.expand_appname(values.finalize(data), "dummy"))
    assert problems == []


# An example line is `key:`, a list item or block text; prose comments are sentences.
_EXAMPLE = re.compile(r"^\s*# (\s*[\w\"./-]+:( |$)|\s*- |\s+\S|set -e|alembic)")


def _is_yaml_example(line: str) -> bool:
    return bool(_EXAMPLE.match(line))


def test_init_with_appname_and_gitignore(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".gitignore").write_text("*.pyc")
    code, _, err = run_main(["init", "--appname", "dummy"], capsys)
    assert code == 0, err
    assert values.load_file(repo / "chart" / "values.yaml").data["appname"] == "dummy"
    assert (repo / ".gitignore").read_text() == "*.pyc\n# lain's local scratch: rendered manifests, local copies of secret files\n.lain/\n"
    run_main(["init", "--force", "--appname", "dummy"], capsys)
    assert (repo / ".gitignore").read_text().count(".lain/") == 1


def test_init_refuses_to_overwrite_without_force(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "chart").mkdir()
    (repo / "chart" / "values.yaml").write_text("appname: mine\n")
    code, out, err = run_main(["init"], capsys)
    assert code == 2
    assert err == ("error: chart/values.yaml already exists\n"
                   "hint: keep editing it, or pass --force to replace it with the starter\n")
    assert (repo / "chart" / "values.yaml").read_text() == "appname: mine\n"
    code, _, _ = run_main(["init", "--force"], capsys)
    assert code == 0
    assert "appname: my-shop-api" in (repo / "chart" / "values.yaml").read_text()


def test_init_rejects_an_invalid_appname(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["init", "--appname", "My_App"], capsys)
    assert code == 2
    assert err == ("error: invalid appname 'My_App'\n"
                   "hint: use lowercase letters, digits and '-', starting with a letter (at most 53 characters), "
                   "e.g. my-app\n")
    assert not (repo / "chart").exists()


@pytest.mark.parametrize(
    ("directory", "appname"),
    [("dummy", "dummy"), ("My_Shop.API", "my-shop-api"), ("42go", "app-42go"), ("---", "app"),
     ("a" * 60, "a" * 40), ("web--api_", "web-api")],
)
def test_sanitise_appname(directory: str, appname: str) -> None:
    assert sanitise_appname(directory) == appname
    assert schema.RFC1035_LABEL.match(appname)
