"""Values of a few MB are handled in seconds, and apps past the sizes lain is made for are refused.

issue 16: a legal 4.8 MB values file took 98 s to lint and 47 s to template:
ruamel's pure-Python scanner (2 to 8 s per MB) and, mostly, the chart's env
template, which appended to a list in a loop (quadratic in the variables).
Times are measured in CPU seconds, lain's and its children's (helm), so a
busy machine does not make the tests flaky; the bounds are a few times what
an idle two-core machine takes, and far below the quadratic cost.
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.bigvalues import MB, values_text, write_app
from lain_cli import lint, schema, values, yamlload
from lain_cli.cli import GlobalOptions
from lain_cli.context import load_app_context
from lain_cli.errors import ConfigError


def cpu_seconds(work: Callable[[], Any]) -> float:
    def used() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    before = used()
    work()
    return used() - before


def lint_without_helm_lint(root: Path, monkeypatch: pytest.MonkeyPatch) -> lint.LintReport:
    from lain_cli import chart

    monkeypatch.chdir(root)
    ctx = load_app_context(GlobalOptions(), image_tag="t1", need_cluster=False)
    with chart.staged_chart(ctx.release_name, ctx.image_tag, ctx.chart_values()) as chart_dir:
        return lint.lint_rendered(chart_dir, ctx.release_name, namespace="default", run_helm_lint=False)


@pytest.mark.timeout(900)
def test_4_8_mb_of_values_load_render_and_validate_in_linear_time(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAIN_CLUSTER", raising=False)
    reports = {}

    def run(size: int) -> float:
        root = write_app(tmp_path / str(size), size, "app")
        return cpu_seconds(lambda: reports.setdefault(size, lint_without_helm_lint(root, monkeypatch)))

    small = run(1 * MB)
    big = run(int(4.8 * MB))
    assert reports[int(4.8 * MB)].ok, reports[int(4.8 * MB)].problems[:3]
    assert reports[int(4.8 * MB)].objects == 400  # 200 Deployments and their Services
    assert big < 45, f"{big:.1f} CPU seconds to load, render and validate 4.8 MB"
    # 4.8 times the size: about 4.8 times the time, not the square
    assert big / small < 9, f"1 MB: {small:.1f} s, 4.8 MB: {big:.1f} s"


@pytest.mark.timeout(900)
def test_the_chart_renders_a_long_env_in_linear_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the chart's env template appended to a list in a loop: an env of 100,000 variables
    # took 82 s in helm template alone.  lain refuses such an env now (a container cannot
    # start with it), so the chart is given one directly.
    from lain_cli import chart, helm

    monkeypatch.delenv("LAIN_CLUSTER", raising=False)
    monkeypatch.chdir(write_app(tmp_path, 0))
    ctx = load_app_context(GlobalOptions(), image_tag="t1", need_cluster=False)

    def render(count: int) -> float:
        chart_values = ctx.chart_values()
        chart_values["env"] = {f"APP_{i:06d}": f"value {i}" for i in range(count // 2)}
        chart_values["deployments"]["p0"]["env"] = [{"name": f"OWN_{i:06d}", "value": "x"} for i in range(count // 2)]
        with chart.staged_chart(ctx.release_name, ctx.image_tag, chart_values) as chart_dir:
            rendered: list[str] = []
            took = cpu_seconds(lambda: rendered.append(helm.render(chart_dir, ctx.release_name, namespace="default")))
        assert rendered[0].count("- name: ") >= count
        return took

    small = render(10_000)
    big = render(40_000)
    assert big < 20, f"{big:.1f} CPU seconds for an env of 40,000 variables"
    assert big / small < 8, f"10,000: {small:.1f} s, 40,000: {big:.1f} s (the square would be 16 times)"


def test_an_env_beyond_what_a_container_can_start_with_is_refused() -> None:
    env = {f"K{i}": "v" for i in range(schema.MAX_ENV + 1)}
    [problem] = schema.validate_values({"appname": "big", "deployments": {"web": {"env": env}}})
    assert problem.path == ("deployments", "web", "env")
    assert problem.message.startswith("2001 environment variables in the web container")
    big = {f"K{i}": "v" * 1000 for i in range(1100)}
    [problem] = schema.validate_values({"appname": "big", "env": big, "deployments": {"web": {}}})
    assert problem.path == ("env",)
    assert "would be 1.1 MiB; lain is made for up to 1 MiB" in problem.message


def test_the_chart_env_keeps_the_last_of_each_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lain_cli import chart, helm

    monkeypatch.delenv("LAIN_CLUSTER", raising=False)
    root = write_app(tmp_path, 0)
    (root / "chart" / "values.yaml").write_text(
        "appname: big\nenv: {A: app, B: app}\n"
        "deployments:\n  web:\n    env:\n      - {name: B, value: own}\n      - {name: C, value: x}\n"
        "      - {name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}\n      - {name: C, value: 1000000}\n")
    monkeypatch.chdir(root)
    ctx = load_app_context(GlobalOptions(), image_tag="t1", need_cluster=False)
    with chart.staged_chart(ctx.release_name, ctx.image_tag, ctx.chart_values()) as chart_dir:
        manifests = helm.parse_manifests(helm.render(chart_dir, ctx.release_name, namespace="default"))
    [deployment] = [m.body for m in manifests if m.body["kind"] == "Deployment"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["LAIN_CLUSTER", "K8S_NAMESPACE", "IMAGE_TAG", "B", "A", "C"]
    assert env[3:] == [{"name": "B", "value": "own"},
                       {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                       {"name": "C", "value": "1000000"}]


@pytest.mark.parametrize("shape", ["app", "env"])
def test_loading_4_8_mb_of_yaml_takes_seconds(shape: str) -> None:
    text = values_text(int(4.8 * MB), shape)  # the YAML alone, whatever the schema then says
    took = cpu_seconds(lambda: yamlload.parse(text, "values.yaml"))
    assert took < 6, f"{took:.1f} CPU seconds (ruamel's round-trip loader: about 10 to 40)"


def test_files_beyond_the_size_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(values_text(values.MAX_FILE_SIZE + 1, "env"))
    with pytest.raises(ConfigError, match=r"file is too large \(5.0 MiB; the limit is 5 MiB\)"):
        values.load_file(path)


def test_apps_beyond_the_workload_limit_are_refused() -> None:
    procs = {f"p{i}": {} for i in range(schema.MAX_WORKLOADS + 1)}
    [problem] = schema.validate_values({"appname": "big", "deployments": procs})
    assert problem.path == ("deployments",)
    assert problem.message == ("the app has 501 workloads (deployments, statefulSets, jobs, cronjobs and tests); "
                               "lain is made for up to 500")
    many = [{"host": f"h{i}", "deployName": "web"} for i in range(schema.MAX_INGRESSES + 1)]
    [problem] = schema.validate_values({"appname": "big", "ingresses": many})
    assert problem.message == "501 entries; lain is made for up to 500"
