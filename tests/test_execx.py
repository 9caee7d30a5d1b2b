"""`lain x`: which proc and pod, and the shell fallback."""

from __future__ import annotations

import pytest

from lain_cli import execx
from lain_cli.errors import OperationFailed, UsageError


def pod(name: str, phase: str = "Running", ready: bool = True, deleting: bool = False) -> dict:
    meta = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "web"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_the_first_ready_pod_is_chosen_without_a_terminal():
    pods = [pod("c", ready=False), pod("b"), pod("a", phase="Pending"), pod("d")]
    assert execx.choose_pod(pods, "web")["metadata"]["name"] == "b"


def test_terminating_and_not_running_pods_are_skipped():
    pods = [pod("a", deleting=True), pod("b", phase="Succeeded"), pod("c", ready=False)]
    assert execx.choose_pod(pods, "web")["metadata"]["name"] == "c"


def test_the_person_is_asked_when_there_are_several():
    asked = []

    def ask(labels):
        asked.append(labels)
        return 1

    chosen = execx.choose_pod([pod("b"), pod("a"), pod("c", ready=False)], "web", ask=ask)
    assert asked == [["a", "b", "c  (not ready)"]]
    assert chosen["metadata"]["name"] == "b"


def test_one_pod_is_not_asked_about():
    assert execx.choose_pod([pod("a")], "web", ask=lambda labels: 1 / 0)["metadata"]["name"] == "a"


def test_no_running_pod_is_an_operation_failure_naming_the_states():
    with pytest.raises(OperationFailed) as err:
        execx.choose_pod([pod("a", phase="Pending")], "web")
    assert err.value.details == ["a: Pending"]


@pytest.mark.parametrize(
    ("procs", "name", "expected"),
    [
        ({"web": "deployment", "init": "job"}, None, "web"),
        ({"api": "deployment", "init": "job"}, None, "api"),
        ({"api": "deployment", "web": "deployment"}, None, "web"),
        ({"api": "deployment", "worker": "deployment"}, "worker", "worker"),
    ],
)
def test_resolve_proc(procs, name, expected):
    assert execx.resolve_proc(name, procs) == expected


def test_ambiguous_or_unknown_proc_lists_the_procs():
    with pytest.raises(UsageError) as err:
        execx.resolve_proc(None, {"api": "deployment", "worker": "deployment"})
    assert err.value.details == ["procs: api, worker"]
    with pytest.raises(UsageError):
        execx.resolve_proc("nope", {"web": "deployment"})


def test_unknown_proc_lists_no_jobs_or_tests():
    # issue 16: `lain x nosuch` listed the job init among the procs
    procs = {"web": "deployment", "db": "statefulset", "init": "job", "nightly": "cronjob", "smoke": "test"}
    with pytest.raises(UsageError) as err:
        execx.resolve_proc("nosuch", procs)
    assert err.value.details == ["procs: db, web"]


def test_container_must_exist():
    assert execx.check_container(pod("a"), "web") == "web"
    assert execx.check_container(pod("a"), None) is None
    with pytest.raises(UsageError):
        execx.check_container(pod("a"), "sidecar")


def test_a_command_runs_as_given():
    calls = []
    assert execx.run_with_shell_fallback(lambda argv: calls.append(argv) or 7, ["sh", "-c", "exit 7"]) == 7
    assert calls == [["sh", "-c", "exit 7"]]


def test_the_shell_launcher_prefers_bash_then_sh():
    calls = []
    assert execx.run_with_shell_fallback(lambda argv: calls.append(argv) or 0, []) == 0
    assert calls == [list(execx.SHELL_LAUNCHER)]


def test_an_image_without_sh_gets_bash_directly():
    calls = []
    codes = iter([126, 0])
    assert execx.run_with_shell_fallback(lambda argv: calls.append(argv) or next(codes), []) == 0
    assert calls == [list(execx.SHELL_LAUNCHER), ["bash"]]
