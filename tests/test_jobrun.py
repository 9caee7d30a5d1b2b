"""`lain job` and `lain create-job` (lain_cli.jobrun): names, the Job rendered from the
proc's pod spec by the real chart, the Job from a CronJob, exit codes, clean-up and
interrupts on a fake runner.  No cluster."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lain_cli import chart, jobrun
from lain_cli import events as ev
from lain_cli.errors import OperationFailed, UsageError
from lain_cli.interrupts import Interrupted
from lain_cli.reporters import Journal
from tests.test_deploy import REPO, World, make_ctx


class FakeRunner:
    def __init__(self, result: jobrun.JobResult | BaseException, lines: tuple[str, ...] = ()) -> None:
        self.result = result
        self.lines = lines
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def create(self, job: dict[str, Any]) -> dict[str, Any]:
        self.created.append(job)
        return job

    def follow(self, name: str, container: str, timeout: float, emit: ev.Emit,
               out: Callable[[str], None]) -> jobrun.JobResult:
        for line in self.lines:
            out(line)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result

    def delete(self, name: str) -> None:
        self.deleted.append(name)


def ctx_with(tmp_path: Path) -> Any:
    ctx = make_ctx(tmp_path)
    values = {**ctx.values, "deployments": {
        "web": {"replicaCount": 2, "containerPort": 5000, "env": {"MODE": "web"},
                "resources": {"limits": {"memory": "256Mi"}}, "readinessProbe": {"httpGet": {"path": "/", "port": 5000}},
                "volumeMounts": [{"mountPath": "/app/config.yaml", "subPath": "config.yaml"}],
                "podAnnotations": {"kubesim.lain.dev/run": "command"}},
        "worker": {"replicaCount": 1}},
        "cronjobs": {"report": {"schedule": "0 3 * * *", "command": ["report"]}}}
    import dataclasses

    images = {**ctx.images, "cronjobs": {"report": f"{REPO}:bbb"}}
    return dataclasses.replace(ctx, values=values, procs={**ctx.procs, "report": "cronjob"}, images=images)


def options(**changes: Any) -> jobrun.JobOptions:
    return jobrun.JobOptions(**{"timeout": 60.0, "journal": Journal(), **changes})


def test_names_fit_a_label_value() -> None:
    assert jobrun.job_name("dummy", "job", "a1b2c3") == "dummy-job-a1b2c3"
    long = jobrun.job_name("x" * 60 + "-y", "manual", "abcde0")
    assert len(long) <= 63 and long.endswith("-manual-abcde0")


def test_the_job_is_the_procs_pod_with_the_command(tmp_path: Path) -> None:
    ctx = ctx_with(tmp_path)
    values = jobrun.adhoc_values(ctx.chart_values(), section="deployments", proc="web", image=f"{REPO}:old",
                                 name="dummy-job-000001", command=["sh", "-c", "exit 7"], keep=False, deadline=120)
    job = jobrun.pick_job(chart.render_app(ctx, values=values), "dummy-job-000001")
    spec = job["spec"]
    assert spec["backoffLimit"] == 0 and spec["ttlSecondsAfterFinished"] == jobrun.TTL_CLEANED
    assert spec["activeDeadlineSeconds"] == 120
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["name"] == "web" and container["image"] == f"{REPO}:old"
    assert container["command"] == ["sh", "-c", "exit 7"]
    assert {"name": "MODE", "value": "web"} in container["env"]
    assert {"name": "IMAGE_TAG", "value": "old"} in container["env"]
    assert container["envFrom"][0] == {"secretRef": {"name": "dummy-env", "optional": True}}
    assert container["resources"] == {"limits": {"memory": "256Mi"}}
    assert {"name": "secret", "mountPath": "/app/config.yaml", "subPath": "config.yaml"} in container["volumeMounts"]
    assert "readinessProbe" not in container and "ports" not in container
    assert any(v["name"] == "secret" for v in pod["volumes"])
    labels = job["metadata"]["labels"]
    assert labels["lain.dev/job"] == "dummy-job-000001" and labels["app.kubernetes.io/managed-by"] == "lain"
    assert "app.kubernetes.io/instance" not in labels and "app.kubernetes.io/component" not in labels
    assert spec["template"]["metadata"]["labels"] == labels
    assert spec["template"]["metadata"]["annotations"] == {"kubesim.lain.dev/run": "command"}


def test_deploy_and_template_render_no_adhoc_job(tmp_path: Path) -> None:
    rendered = chart.render_app(ctx_with(tmp_path))
    assert "lain.dev/job" not in rendered


def test_a_job_from_a_cronjob_is_what_kubectl_create_job_from_makes() -> None:
    cronjob = {"metadata": {"name": "dummy-report", "uid": "u-1"}, "spec": {"jobTemplate": {
        "metadata": {"labels": {"app.kubernetes.io/component": "report"}},
        "spec": {"backoffLimit": 1, "template": {"metadata": {"labels": {"a": "b"}},
                                                 "spec": {"containers": [{"name": "report"}]}}}}}}
    job = jobrun.job_from_cronjob(cronjob, "dummy-report-manual-x")
    meta = job["metadata"]
    assert meta["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "dummy-report",
                                        "uid": "u-1", "controller": True}]
    assert meta["labels"] == {"app.kubernetes.io/component": "report", "lain.dev/job": "dummy-report-manual-x"}
    assert job["spec"]["backoffLimit"] == 1
    assert job["spec"]["template"]["metadata"]["labels"] == {"a": "b", "lain.dev/job": "dummy-report-manual-x"}
    assert jobrun.main_container(job) == "report"
    assert "lain.dev/job" not in cronjob["spec"]["jobTemplate"]["metadata"]["labels"]  # not mutated


def test_the_exit_code_is_read_from_the_terminated_state() -> None:
    pod = {"status": {"containerStatuses": [
        {"name": "sidecar", "state": {"running": {}}},
        {"name": "web", "state": {"terminated": {"exitCode": 7, "reason": "Error"}}}]}}
    ended = jobrun.terminated_state(pod, "web")
    assert ended is not None and jobrun.exit_reason(ended) == "exit 7 (Error)"
    assert jobrun.terminated_state(pod, "sidecar") is None


def deployed_world() -> World:
    world = World()
    world.deployed("aaa")
    return world


def run(tmp_path: Path, runner: FakeRunner, opts: jobrun.JobOptions, world: World | None = None,
        **kwargs: Any) -> int:
    world = world or deployed_world()
    return jobrun.run_job(ctx_with(tmp_path), ["sh", "-c", "exit 7"], opts, tools=world.tools(), runner=runner,
                          render=lambda c, v: chart.render_app(c, values=v), **kwargs)


def test_the_commands_exit_code_is_lains_and_the_job_is_deleted(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    runner = FakeRunner(jobrun.JobResult(7, "exit 7 (Error)", pod="p"), lines=("seven",))
    opts = options()
    assert run(tmp_path, runner, opts) == 7
    (job,) = runner.created
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == f"{REPO}:aaa"  # the deployed one
    assert runner.deleted == [job["metadata"]["name"]]
    assert opts.journal is not None and opts.journal.facts["job"]["exitCode"] == 7
    assert [e["kind"] for e in opts.journal.events] == ["job"]
    assert "seven" in capsys.readouterr().out


def test_keep_keeps_it_and_image_tag_picks_the_image(tmp_path: Path) -> None:
    runner = FakeRunner(jobrun.JobResult(0, "exit 0 (Completed)"))
    assert run(tmp_path, runner, options(keep=True), image_tag="fix1") == 0
    assert runner.deleted == []
    job = runner.created[0]
    assert job["spec"]["ttlSecondsAfterFinished"] == jobrun.TTL_KEPT
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == f"{REPO}:fix1"


def test_a_pod_that_cannot_run_is_exit_1(tmp_path: Path) -> None:
    runner = FakeRunner(jobrun.JobResult(None, "ImagePullBackOff", ["image not found"]))
    assert run(tmp_path, runner, options()) == 1
    assert len(runner.deleted) == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("keep", [False, True])
def test_an_interrupt_deletes_the_job_unless_keep(tmp_path: Path, sig: int, keep: bool) -> None:
    runner = FakeRunner(Interrupted(sig))
    assert run(tmp_path, runner, options(keep=keep)) == 128 + sig
    assert len(runner.deleted) == (0 if keep else 1)


def test_usage_errors_before_the_cluster(tmp_path: Path) -> None:
    runner = FakeRunner(jobrun.JobResult(0))
    with pytest.raises(UsageError, match="unknown proc 'report'"):
        run(tmp_path, runner, options(), proc="report")
    with pytest.raises(UsageError, match="no command"):
        jobrun.run_job(ctx_with(tmp_path), [], options(), tools=deployed_world().tools(), runner=runner)
    with pytest.raises(OperationFailed, match="not deployed") as caught:
        run(tmp_path, runner, options(), world=World())
    assert caught.value.hint is not None and "--image-tag" in caught.value.hint
    assert runner.created == []


def test_create_job_of_an_unknown_cronjob_lists_them(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        jobrun.create_job(ctx_with(tmp_path), "nightly", options(), tools=World().tools(), runner=FakeRunner(
            jobrun.JobResult(0)))
    assert caught.value.hint == "cronjobs of dummy: report"


def test_create_job_keeps_the_finished_job_and_returns_its_code(tmp_path: Path) -> None:
    world = World()
    world.kubectl.create({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "dummy-report", "uid": "u"},
                          "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                              "containers": [{"name": "report", "image": f"{REPO}:aaa"}]}}}}}})
    runner = FakeRunner(jobrun.JobResult(3, "exit 3 (Error)"))
    assert jobrun.create_job(ctx_with(tmp_path), "report", options(), tools=world.tools(), runner=runner) == 3
    assert runner.created[0]["metadata"]["name"].startswith("dummy-report-manual-")
    assert runner.deleted == []
    with pytest.raises(OperationFailed, match="not on cluster"):
        jobrun.create_job(ctx_with(tmp_path), "report", options(), tools=World().tools(), runner=runner)


def test_the_notice_names_the_program_not_its_arguments(tmp_path: Path) -> None:
    """An argument may be a secret typed on the command line: the webhook never gets it."""
    runner = FakeRunner(jobrun.JobResult(0, "exit 0 (Completed)"))
    opts = options()
    code = jobrun.run_job(ctx_with(tmp_path), ["psql", "postgres://app:s3cr3t@db/app", "-c", "select 1"], opts,
                          tools=deployed_world().tools(), runner=runner,
                          render=lambda c, v: chart.render_app(c, values=v))
    assert code == 0
    assert opts.journal is not None
    (notice,) = opts.journal.events
    assert "`psql` with 3 arguments" in notice["text"]
    assert "s3cr3t" not in repr(opts.journal.events)
