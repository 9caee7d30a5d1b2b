"""Dockerfile generation and docker argv for `lain deploy --build`."""

from __future__ import annotations

import json

import pytest

from lain_cli import build
from lain_cli.errors import ConfigError


def test_dockerfile_from_build_values() -> None:
    text = build.dockerfile_text(
        {
            "base": "python:3.11",
            "env": {"PIP_INDEX_URL": "https://pypi.example/simple", "N": 1},
            "prepare": {"script": ["pip install -r requirements.txt"], "keep": ["node_modules", "/.venv/"]},
            "script": "pip install -e .\necho \"done $N\"",
        }
    )
    lines = text.splitlines()
    assert lines[0] == "FROM python:3.11 AS prepare"
    assert 'ENV PIP_INDEX_URL="https://pypi.example/simple"' in lines
    assert 'ENV N="1"' in lines
    run_lines = [ln for ln in lines if ln.startswith("RUN ")]
    scripts = [json.loads(ln[4:])[2] for ln in run_lines]
    assert scripts[0] == "set -e\npip install -r requirements.txt"
    assert scripts[1] == 'set -e\nfind . -mindepth 1 -maxdepth 1 ! -name "node_modules" ! -name ".venv" -exec rm -rf {} +'
    assert scripts[2] == 'set -e\npip install -e .\necho "done $N"'
    assert "FROM prepare" in lines
    assert lines.index("FROM prepare") < lines.index(run_lines[2])


def test_dockerfile_needs_base() -> None:
    with pytest.raises(ConfigError) as info:
        build.dockerfile_text({"script": ["make"]})
    assert "build.base" in info.value.message


def test_docker_argv() -> None:
    assert build.build_argv("docker", "reg/a:1", "/src") == ["docker", "build", "--tag", "reg/a:1", "/src"]
    assert build.build_argv("docker", "reg/a:1", "/src", "/tmp/D") == [
        "docker", "build", "--tag", "reg/a:1", "--file", "/tmp/D", "/src"]
    assert build.push_argv("docker", "reg/a:1") == ["docker", "push", "reg/a:1"]
