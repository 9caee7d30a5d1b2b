"""Helpers for the values, schema, clusters, context and init tests."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path

import click
import pytest

from lain_cli import cli

PROBE = "probe"

MINIMAL = """\
appname: dummy
deployments:
  web:
    replicaCount: 1
    containerPort: 5000
ingresses:
  - host: dummy
    deployName: web
    paths:
      - /
"""


APPS = Path(__file__).resolve().parent / "apps"


def run_lain(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``lain ARGV`` in this process through the real entry point: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def seed_two_apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the seed's two-apps example as the working directory, with the test clusters."""
    import shutil

    root = tmp_path / "app"
    shutil.copytree(APPS / "seed-two-apps", root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("LAIN_CLUSTERS_DIR", str(APPS / "clusters"))
    return root


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def make_app(root: Path, values: str = MINIMAL, **files: str) -> Path:
    """An app repo at ``root``: chart/values.yaml plus ``files`` (relative path -> text)."""
    write(root / "chart" / "values.yaml", values)
    for rel, text in files.items():
        write(root / rel, text)
    return root


def add_cluster(directory: Path, name: str, text: str = "namespace: default\n") -> Path:
    return write(directory / f"{name}.yaml", text)


@click.command()
@click.option("--set", "sets", multiple=True)
@click.option("--tag", default="t1")
@click.option("--need-cluster", is_flag=True)
@click.pass_obj
def probe_context(opts: cli.GlobalOptions, sets: tuple[str, ...], tag: str, need_cluster: bool) -> int:
    """Load the app context and print its values; stands in for deploy in tests."""
    import json

    from lain_cli.context import load_app_context

    ctx = load_app_context(opts, sets=sets, image_tag=tag or None, need_cluster=need_cluster)
    click.echo(json.dumps(ctx.chart_values(), sort_keys=True))
    return 0


@pytest.fixture
def probe_command(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register ``lain probe`` (loads the AppContext) so errors go through the real cli.main."""
    module = types.ModuleType("lain_cli.commands._probe")
    module.probe_context = probe_context  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lain_cli.commands._probe", module)
    monkeypatch.setitem(cli.COMMANDS, PROBE, ("_probe", "probe_context", "test probe"))
    return PROBE


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``lain argv`` through cli.main: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc_info:
        cli.main(argv)
    captured = capsys.readouterr()
    code = exc_info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err
