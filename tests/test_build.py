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


def test_generated_dockerfile_runs_as_a_user_and_declares_args_in_each_stage() -> None:
    text = build.dockerfile_text({"base": "python:3.11", "args": {"PIP_INDEX_URL": "https://pypi.example"},
                                  "script": ["make"]}, ["NPM_TOKEN"])
    lines = text.splitlines()
    assert lines[-1] == "USER 1001:1001"
    assert lines.count("ARG NPM_TOKEN") == 2 and lines.count("ARG PIP_INDEX_URL") == 2
    # each stage declares its ARGs right after FROM; no value is written into the Dockerfile
    assert lines[1:3] == ["ARG NPM_TOKEN", "ARG PIP_INDEX_URL"]
    final = lines.index("FROM prepare")
    assert lines[final + 1 : final + 3] == ["ARG NPM_TOKEN", "ARG PIP_INDEX_URL"]
    assert "COPY --chown=1001:1001 . /lain/app" in lines
    assert "https://pypi.example" not in text


def test_build_args_from_values_and_the_command_line() -> None:
    args = build.build_args({"PIP_INDEX_URL": "https://pypi.example", "DEBUG": True, "N": 2},
                            ["NPM_TOKEN", "N=3"], {"NPM_TOKEN": "s3cret"})
    assert args.literal == {"PIP_INDEX_URL": "https://pypi.example", "DEBUG": "true", "N": "3"}
    assert args.from_env == ("NPM_TOKEN",)
    argv = build.build_argv("docker", "reg/a:1", "/src", None, args)
    assert argv == ["docker", "build", "--tag", "reg/a:1", "--build-arg", "DEBUG=true", "--build-arg", "N=3",
                    "--build-arg", "NPM_TOKEN", "--build-arg", "PIP_INDEX_URL=https://pypi.example", "/src"]
    # the token's value is for docker to read from the environment: never in the argv
    assert "s3cret" not in " ".join(argv)


@pytest.mark.parametrize(
    ("given", "message"),
    [(["NPM_TOKEN"], "--build-arg NPM_TOKEN takes its value from the environment, but NPM_TOKEN is not set"),
     (["1BAD=x"], "--build-arg '1BAD': not a build argument name")],
)
def test_bad_build_args_are_usage_errors(given: list[str], message: str) -> None:
    from lain_cli.errors import UsageError

    with pytest.raises(UsageError) as info:
        build.build_args({}, given, {})
    assert info.value.message == message
    assert info.value.exit_code == 2


def test_verbose_argv_masks_build_arg_values(capsys: pytest.CaptureFixture[str]) -> None:
    from lain_cli import proc

    proc.set_verbose(True)
    try:
        with proc.stream(["true", "--build-arg", "TOKEN=abc123"], redact=["TOKEN=abc123"]) as running:
            running.wait()
    finally:
        proc.set_verbose(False)
    err = capsys.readouterr().err
    assert "abc123" not in err and "--build-arg '******'" in err
