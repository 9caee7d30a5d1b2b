"""Planning `lain logs`: which pods and containers, one selector call or several."""

from __future__ import annotations

import pytest

from lain_cli import kube
from lain_cli.errors import UsageError
from lain_cli.logs import LogRequest, check_since, plan_logs, readable_containers, select_pods

SEL = "app.kubernetes.io/instance=dummy,app.kubernetes.io/component=web"


def pod(name: str, component: str = "web", *, mains=None, inits=None) -> dict:
    mains = mains if mains is not None else {component: {"running": {}}}
    inits = inits or {}
    return {
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
        "spec": {"initContainers": [{"name": n} for n in inits], "containers": [{"name": n} for n in mains]},
        "status": {
            "initContainerStatuses": [{"name": n, "state": s} for n, s in inits.items()],
            "containerStatuses": [
                {"name": n, "state": s.get("state", s), "lastState": s.get("lastState", {})} for n, s in mains.items()
            ],
        },
    }


CRASHED = {"state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 1}}}


def test_pods_that_all_have_logs_are_read_with_one_selector_call():
    plan = plan_logs([pod("a"), pod("b")], SEL)
    assert plan.requests == [LogRequest(selector=SEL, max_requests=5)]
    assert plan.notes == []


def test_many_pods_raise_the_concurrent_follow_limit():
    plan = plan_logs([pod(f"p{i}") for i in range(8)], SEL)
    assert plan.requests[0].max_requests == 8


def test_multi_container_pods_ask_for_all_containers():
    pods = [pod("a", inits={"setup": {"terminated": {"exitCode": 0}}})]
    assert plan_logs(pods, SEL).requests == [LogRequest(selector=SEL, all_containers=True, max_requests=5)]


def test_a_pod_stuck_in_init_is_read_container_by_container():
    stuck = pod("b", inits={"setup": {"running": {}}}, mains={"web": {"waiting": {"reason": "PodInitializing"}}})
    plan = plan_logs([pod("a"), stuck], SEL)
    assert plan.requests == [LogRequest(pod="a", container="web"), LogRequest(pod="b", container="setup")]
    assert plan.notes == ["b web: PodInitializing"]


def test_previous_only_reads_pods_that_restarted():
    plan = plan_logs([pod("a"), pod("b", mains={"web": CRASHED})], SEL, previous=True)
    assert plan.requests == [LogRequest(pod="b", container="web")]
    assert plan.notes == ["a web: no previous container (it has not restarted)"]


def test_a_crash_looping_pod_has_logs_of_its_last_run():
    assert readable_containers(pod("b", mains={"web": CRASHED})).containers == ("web",)


def test_image_pull_failure_has_no_logs():
    failing = pod("a", mains={"web": {"waiting": {"reason": "ImagePullBackOff"}}})
    plan = plan_logs([failing], SEL)
    assert plan.requests == []
    assert plan.notes == ["a web: ImagePullBackOff"]


PODS = [pod("dummy-web-1"), pod("dummy-web-2"), pod("dummy-init-x", "init")]
PROCS = {"web": "deployment", "init": "job", "nightly": "cronjob"}


@pytest.mark.parametrize(
    ("target", "names", "selector"),
    [
        ("web", ["dummy-web-1", "dummy-web-2"], SEL),
        ("dummy-web", ["dummy-web-1", "dummy-web-2"], SEL),
        ("init", ["dummy-init-x"], "app.kubernetes.io/instance=dummy,app.kubernetes.io/component=init"),
        ("nightly", [], "app.kubernetes.io/instance=dummy,app.kubernetes.io/component=nightly"),
        ("dummy-web-2", ["dummy-web-2"], None),
        (None, ["dummy-web-1", "dummy-web-2", "dummy-init-x"], "app.kubernetes.io/instance=dummy"),
    ],
)
def test_select_pods(target, names, selector):
    chosen, sel, _ = select_pods(target, release="dummy", procs=PROCS, pods=PODS)
    assert [p["metadata"]["name"] for p in chosen] == names
    assert sel == selector


def test_unknown_target_lists_procs_and_pods():
    with pytest.raises(UsageError) as err:
        select_pods("wbe", release="dummy", procs=PROCS, pods=PODS)
    assert err.value.details == ["procs and jobs: init, nightly, web",
                                 "pods: dummy-init-x, dummy-web-1, dummy-web-2"]


@pytest.mark.parametrize(("since", "passed"), [("30s", "30s"), ("10m", "10m"), ("1h30m", "1h30m"),
                                              ("1.5h", "1h30m"), ("10", "10s")])
def test_since_takes_lain_durations_and_hands_kubectl_the_same(since, passed):
    assert check_since(since) == passed


@pytest.mark.parametrize("since", ["yesterday", "-5m", "", "5d"])
def test_since_rejects_other_text(since):
    with pytest.raises(UsageError):
        check_since(since)


def test_logs_argv_for_a_selector():
    argv = kube.logs_argv("kubectl", ["--namespace", "ns"], selector=SEL, all_containers=True, follow=True,
                          tail=-1, since="10m", max_requests=7)
    assert argv == ["kubectl", "--namespace", "ns", "logs", "--selector", SEL, "--all-containers=true",
                    "--prefix=true", "--follow=true", "--tail=-1", "--since=10m", "--max-log-requests=7"]


def test_logs_argv_for_one_container():
    argv = kube.logs_argv("kubectl", [], pod="p", container="setup", previous=True, tail=5, ignore_errors=True)
    assert argv == ["kubectl", "logs", "p", "--container", "setup", "--prefix=true", "--previous=true",
                    "--tail=5", "--ignore-errors=true"]


def test_logs_argv_needs_one_target():
    with pytest.raises(ValueError):
        kube.logs_argv("kubectl", [], selector=SEL, pod="p")


def test_exec_argv_passes_the_command_through():
    argv = kube.exec_argv("kubectl", ["--namespace", "ns"], "p", ["sh", "-c", "echo $HOME; exit 3"],
                          container="web", tty=True)
    assert argv == ["kubectl", "--namespace", "ns", "exec", "--stdin=true", "--tty=true", "p",
                    "--container", "web", "--", "sh", "-c", "echo $HOME; exit 3"]
