"""Global options before and after the command, -n/--kube-context, and one --json for all."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from lain_cli.cli import cli, hoist_global_options
from tests.fixtures_values import run_lain, seed_two_apps

APPS = Path(__file__).resolve().parent / "apps"


def hoisted(*args: str) -> list[str]:
    return hoist_global_options(cli, click.Context(cli), list(args))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # the commands: global options after the command move in front of it
        (["deploy", "--cluster", "sim"], ["--cluster", "sim", "deploy"]),
        (["lint", "-f", "x.yaml"], ["-f", "x.yaml", "lint"]),
        (["deploy", "--json"], ["--json", "deploy"]),
        (["deploy", "--cluster", "prod", "-f", "chart/values-dev.yaml", "--json"],
         ["--cluster", "prod", "-f", "chart/values-dev.yaml", "--json", "deploy"]),
        # the command's own options, and their values, stay where they are
        (["deploy", "--timeout", "5m", "-v", "--set", "a=--json"], ["-v", "deploy", "--timeout", "5m", "--set", "a=--json"]),
        (["status", "-s", "--json", "-n", "web"], ["--json", "-n", "web", "status", "-s"]),
        # attached values
        (["lint", "--values=x.yaml", "-fy.yaml", "-nstaging"], ["--values=x.yaml", "-fy.yaml", "-nstaging", "lint"]),
        # the command's own -f (kubectl logs -f) keeps its meaning
        (["logs", "web", "-f", "--cluster", "dev"], ["--cluster", "dev", "logs", "web", "-f"]),
        # subcommands of a group, and options before the command, keep their order
        (["--cluster", "a", "env", "show", "--keys", "--json"], ["--cluster", "a", "--json", "env", "show", "--keys"]),
        # nothing after -- is touched
        (["x", "web", "--kube-context", "k", "--", "ls", "--json", "-n", "1"],
         ["--kube-context", "k", "x", "web", "--", "ls", "--json", "-n", "1"]),
        # no command, an unknown command: left alone for click's own errors
        (["--help"], ["--help"]),
        (["nope", "--json"], ["nope", "--json"]),
    ],
)
def test_hoist_global_options(given: list[str], expected: list[str]) -> None:
    assert hoisted(*given) == expected


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return seed_two_apps(tmp_path, monkeypatch)


def test_lint_takes_a_values_file_after_the_command(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (app / "x.yaml").write_text("deployments:\n  web:\n    replicas: 3\n")
    code, _, err = run_lain(["lint", "-f", "x.yaml", "--set", "imageTag=abc"], capsys)
    assert code == 2
    assert "x.yaml:3: deployments.web.replicas: unknown key; did you mean replicaCount?" in err
    assert "No such option" not in err


def test_template_json_is_the_rendered_objects(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lain(["template", "--set", "imageTag=abc", "--json", "--cluster", "test"], capsys)
    assert code == 0
    objects = json.loads(out)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("Deployment", "dummy-web"), ("Deployment", "dummy-web-dev"), ("Ingress", "dummy-web-dev-dummy-dev"),
        ("Service", "dummy-web"), ("Service", "dummy-web-dev"),
    ]
    ingress = next(o for o in objects if o["kind"] == "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "dummy-dev.example.com"


def test_template_json_with_output_lists_the_files(app: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lain(["template", "--output", str(tmp_path / "m"), "--json", "--set", "imageTag=abc"], capsys)
    assert code == 0
    assert sorted(Path(p).name for p in json.loads(out)) == sorted(p.name for p in (tmp_path / "m").iterdir())


def test_lint_json_clean_is_an_empty_list(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lain(["lint", "--json", "--set", "imageTag=abc"], capsys)
    assert code == 0
    assert json.loads(out) == []


def test_lint_json_lists_values_problems_with_file_line_and_key(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = app / "chart" / "values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 20", "replicas: 20"))
    code, out, err = run_lain(["--json", "lint", "--set", "imageTag=abc"], capsys)
    assert code == 2
    [problem] = json.loads(out)
    assert problem == {"severity": "error", "message": "unknown key; did you mean replicaCount?",
                       "file": "chart/values.yaml", "line": 5, "key": "deployments.web.replicas",
                       "object": None, "field": None}
    assert "Traceback" not in err


def test_lint_json_lists_object_problems(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = app / "chart" / "values.yaml"
    values.write_text(values.read_text().replace(
        "    replicaCount: 20\n",
        "    replicaCount: 20\n    lifecycle:\n      preStop:\n        exec:\n          commnd: [sleep, '5']\n"))
    code, out, _ = run_lain(["lint", "--json", "--set", "imageTag=abc"], capsys)
    assert code == 2
    [problem] = json.loads(out)
    assert problem["object"] == "Deployment dummy-web"
    assert problem["field"] == "spec.template.spec.containers[0].lifecycle.preStop.exec"
    assert problem["key"] == "deployments.web.lifecycle.preStop.exec"
    assert (problem["file"], problem["line"]) == ("chart/values.yaml", 8)


def test_init_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_lain(["init", "--appname", "dummy", "--json"], capsys)
    assert code == 0
    assert json.loads(out) == {"written": ["chart/values.yaml", ".gitignore"]}


@pytest.mark.parametrize("command", [["logs", "web"], ["x", "web"], ["completion", "bash"]])
def test_commands_without_structured_output_refuse_json(
    app: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_lain([*command, "--json"], capsys)
    assert code == 2
    assert f"error: lain {command[0]} has no --json output" in err
    assert out == ""


def test_status_has_no_json_option_of_its_own() -> None:
    from lain_cli.commands.status import status

    assert not [p for p in status.params if "--json" in getattr(p, "opts", ())]


def test_namespace_overrides_the_cluster_file(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_lain(["template", "--cluster", "test", "-n", "staging", "--set", "imageTag=abc", "--json"],
                            capsys)
    assert code == 0
    envs = {e["name"]: e.get("value") for o in json.loads(out) if o["kind"] == "Deployment"
            for e in o["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert envs["K8S_NAMESPACE"] == "staging"


def test_invalid_namespace_is_a_usage_error(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_lain(["template", "--cluster", "test", "--namespace", "Not_OK"], capsys)
    assert code == 2
    assert "error: invalid namespace 'Not_OK' (-n/--namespace)" in err


def test_overrides_reach_kubectl_and_helm_arguments(app: Path) -> None:
    from lain_cli import clusters

    cluster = clusters.resolve("test", app, namespace="staging", kube_context="kind-other")
    assert cluster.kubectl_args() == ["--context", "kind-other", "--namespace", "staging"]
    assert cluster.helm_args() == ["--kube-context", "kind-other", "--namespace", "staging"]
    assert cluster.target_line() == ("cluster test · context kind-other (--kube-context) · "
                                     "namespace staging (-n)")


def test_every_command_help_says_which_global_options_work_after_it() -> None:
    import subprocess
    import sys

    logs = subprocess.run([sys.executable, "-m", "lain_cli", "logs", "--help"], capture_output=True, text=True)
    text = " ".join(logs.stdout.split())
    assert "Global options work here too, before or after the command: --values, --cluster, -n/--namespace" in text
    deploy = subprocess.run([sys.executable, "-m", "lain_cli", "deploy", "--help"], capture_output=True, text=True)
    assert "-f/--values, --cluster" in " ".join(deploy.stdout.split())
