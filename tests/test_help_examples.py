"""Every example in `lain ... --help` parses, and names only what `lain init`'s starter has;
durations are written one way; hints name docs pages by title and URL, never a path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
import yaml

from lain_cli import docs, durations, scaffold
from lain_cli.cli import COMMANDS, cli
from lain_cli.errors import UsageError
from tests.help_examples import Example, all_examples, parse_argv

REPO = Path(__file__).resolve().parent.parent
STARTER_TEXT = scaffold.render_starter("dummy")
STARTER = yaml.safe_load(STARTER_TEXT)
STARTER_NAMES = {name for section in ("deployments", "statefulSets", "jobs", "cronjobs")
                 for name in (STARTER.get(section) or {})}
EXAMPLES = all_examples()


def test_every_command_has_examples() -> None:
    assert {e.command.split()[0] for e in EXAMPLES} == set(COMMANDS)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.line for e in EXAMPLES])
def test_example_parses_and_names_only_what_the_starter_has(example: Example) -> None:
    path, global_params, params = parse_argv(example.argv)
    named: list[str] = []
    if path == ["logs"] and params["target"]:
        named = [str(params["target"])]
    elif path == ["x"] and params["proc_name"]:
        named = [str(params["proc_name"])]
    elif path == ["update-image"]:
        named = list(params["procs"])  # type: ignore[call-overload]
    assert set(named) <= STARTER_NAMES, f"{example.line}: {named} not in the starter's procs/jobs {STARTER_NAMES}"
    if path[0] == "secret" and path[1] in ("add", "show", "edit", "delete"):
        files = params.get("files") or params.get("names") or [params.get("name")]
        for name in [f for f in files if f]:  # type: ignore[union-attr]
            assert Path(name).name in STARTER_TEXT, f"{example.line}: the starter never mentions {name}"
    for option in ("timeout", "grace", "since"):
        if params.get(option):
            durations.parse_duration(str(params[option]), f"--{option}")
    assert not global_params["values_files"], f"{example.line}: the starter has no extra values file"


def test_the_logs_example_of_the_issue_is_gone() -> None:
    assert not [e for e in EXAMPLES if e.argv[:2] == ("logs", "init")]


def _all_options() -> list[tuple[str, click.Option]]:
    found = []
    for name in sorted(COMMANDS):
        command = cli.get_command(click.Context(cli), name)
        commands = [(name, command)]
        if isinstance(command, click.Group):
            commands += [(f"{name} {s}", command.get_command(click.Context(command), s))
                         for s in command.list_commands(click.Context(command))]
        for label, cmd in commands:
            assert cmd is not None
            found += [(label, p) for p in cmd.params if isinstance(p, click.Option)]
    return found


def test_durations_are_written_one_way() -> None:
    timing = [(label, o) for label, o in _all_options()
              if o.name in ("timeout", "grace", "since") or (o.metavar or "") in ("SECONDS", "D", "DURATION")]
    assert {o.name for _, o in timing} == {"timeout", "grace", "since"}
    for label, option in timing:
        assert option.metavar == "DURATION", f"lain {label} {option.opts[0]}: metavar {option.metavar}"
        assert option.type is click.STRING, f"lain {label} {option.opts[0]} must parse with lain_cli.durations"
        if isinstance(option.default, str):
            durations.parse_duration(option.default)


@pytest.mark.parametrize(("text", "seconds"), [
    ("300", 300), ("90s", 90), ("5m", 300), ("1m30s", 90), ("2h", 7200), ("1.5h", 5400), ("500ms", 0.5),
])
def test_parse_duration(text: str, seconds: float) -> None:
    assert durations.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["yesterday", "5 m", "-5m", "1d", "", "m5"])
def test_parse_duration_refuses_with_the_option_named(text: str) -> None:
    with pytest.raises(UsageError) as err:
        durations.parse_duration(text, "--grace")
    assert err.value.message.startswith("--grace ")
    assert "90s, 5m, 1m30s or 2h" in (err.value.hint or "")


@pytest.mark.parametrize(("seconds", "text"), [
    (300, "5m"), (90, "1m30s"), (2.5, "2.5s"), (3600, "1h"), (0.2, "200ms"), (0, "0s"), (3725, "1h2m5s"),
])
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert durations.format_duration(seconds) == text
    assert durations.parse_duration(text, allow_zero=True) == seconds


def test_grace_and_since_take_the_same_durations_as_timeout() -> None:
    from lain_cli.deploy import parse_duration as timeout
    from lain_cli.logs import check_since

    assert timeout("1m30s") == durations.parse_duration("1m30s") == 90
    assert check_since("1m30s") == "1m30s" and check_since("90") == "1m30s"
    with pytest.raises(UsageError, match="--since"):
        check_since("yesterday")


def _user_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that can reach a person: all but docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_hint_or_help_names_a_repository_path() -> None:
    pattern = re.compile(r"\bdocs/[\w./-]*|\bDEVELOPERS\.md\b|\bREADME\.rst\b")
    offenders = [f"{path.relative_to(REPO)}:{line}: {text!r}"
                 for path in sorted((REPO / "lain_cli").rglob("*.py"))
                 for line, text in _user_strings(path) if pattern.search(text)]
    helps = [(label, o.help) for label, o in _all_options() if o.help and pattern.search(o.help)]
    helps += [(name, text) for name in sorted(COMMANDS)
              if pattern.search(text := cli.get_command(click.Context(cli), name).get_help(  # type: ignore[union-attr]
                  click.Context(cli)))]
    assert not offenders and not helps, "\n".join(offenders + [str(h) for h in helps])


@pytest.mark.parametrize("page", sorted(docs.PAGES))
def test_docs_pages_are_named_by_their_title(page: str) -> None:
    source = REPO / "docs" / f"{page}.rst"
    assert source.is_file(), f"docs/{page}.rst is missing"
    assert source.read_text(encoding="utf-8").splitlines()[0] == docs.PAGES[page]
    assert docs.see(page) == f"see “{docs.PAGES[page]}” in the lain docs: {docs.PUBLISHED}/{page}.html"
    assert docs.url(page, "https://docs.example.com/lain/") == f"https://docs.example.com/lain/{page}.html"


def test_an_invalid_cluster_file_hint_links_the_clusters_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import clusters
    from lain_cli.errors import ConfigError

    (tmp_path / "prod.yaml").write_text("namespace: web\nregistery: x\ndocsUrl: https://wiki.example.com/lain\n")
    (tmp_path / "dev.yaml").write_text("namespace: web\nregistery: x\n")
    monkeypatch.setenv("LAIN_CLUSTERS_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        clusters.resolve("prod")
    assert err.value.hint == "the keys of a cluster file: see “Clusters” in the lain docs: " \
                             "https://wiki.example.com/lain/clusters.html"
    with pytest.raises(ConfigError) as err:
        clusters.resolve("dev")
    assert err.value.hint and f"{docs.PUBLISHED}/clusters.html" in err.value.hint
