"""The green light's pure parts: verdict rules, error-line matching, endpoints, links, JSON."""

from __future__ import annotations

import http.server
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from lain_cli import panel
from lain_cli import status as st

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def labels(component: str, kind: str = "deployment") -> dict:
    return {"app.kubernetes.io/instance": "dummy", "app.kubernetes.io/component": component, "lain.dev/kind": kind}


def deployment(name: str, replicas: int = 1, ready: int | None = None) -> dict:
    ready = replicas if ready is None else ready
    return {
        "kind": "Deployment",
        "metadata": {"name": f"dummy-{name}", "labels": labels(name), "generation": 1, "uid": f"d-{name}",
                     "creationTimestamp": ts(100)},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": name}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                   "readyReplicas": ready, "availableReplicas": ready},
    }


def pod(name: str, component: str = "web", *, ready: bool = True, waiting: str | None = None,
        restarts: int = 0, message: str = "") -> dict:
    state = {"waiting": {"reason": waiting, "message": message}} if waiting else {"running": {"startedAt": ts(90)}}
    last = {"terminated": {"exitCode": 1, "reason": "Error"}} if restarts else {}
    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels(component), "uid": f"p-{name}", "creationTimestamp": ts(95),
                     "ownerReferences": [{"kind": "ReplicaSet", "name": f"dummy-{component}-rs", "controller": True}]},
        "spec": {"nodeName": "node-1", "containers": [{"name": component, "image": "img:1"}]},
        "status": {
            "phase": "Running" if not waiting or restarts else "Pending",
            "startTime": ts(95),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ts(90)},
                           {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": component, "ready": ready, "restartCount": restarts, "state": state,
                                   "lastState": last, "image": "img:1"}],
        },
    }


def replicaset(dep: dict) -> dict:
    """The ReplicaSet a Deployment's pods belong to (what ``pod`` names as their owner)."""
    name = dep["metadata"]["name"]
    return {"kind": "ReplicaSet", "metadata": {
        "name": f"{name}-rs", "uid": f"rs-{name}", "labels": dep["metadata"]["labels"],
        "ownerReferences": [{"kind": "Deployment", "name": name, "uid": dep["metadata"]["uid"], "controller": True}]}}


def evaluate(objects: dict) -> st.Evaluation:
    """As status lists a release: every Deployment with its ReplicaSet."""
    objects = {"replicasets": [replicaset(d) for d in objects.get("deployments", [])], **objects}
    return st.evaluate(objects, [], NOW, st.status_tolerances())


def test_a_healthy_release_is_green():
    ev = evaluate({"deployments": [deployment("web", 2)], "pods": [pod("web-a"), pod("web-b")]})
    assert [(p.name, p.state, p.ready, p.desired) for p in ev.procs] == [("web", "ready", 2, 2)]
    assert [(p.name, p.state, p.status) for p in ev.pods] == [("web-a", "ready", "Running"), ("web-b", "ready", "Running")]
    assert st.decide(ev, st.LogScan("x", "10m"), [], None) == (st.GREEN, [])


def test_an_image_that_does_not_exist_is_red_naming_the_pod_and_reason():
    bad = pod("web-a", ready=False, waiting="ImagePullBackOff",
              message='Back-off pulling image "img:1": rpc error: code = NotFound desc = img:1: not found')
    ev = evaluate({"deployments": [deployment("web", 1, ready=0)], "pods": [bad]})
    verdict, reasons = st.decide(ev, None, [], None)
    assert verdict == st.RED
    assert reasons[0].startswith("Pod web-a (container web): ImagePullBackOff")
    assert ev.pods[0].reason == "ImagePullBackOff"


def test_a_crash_loop_past_tolerance_is_red():
    crashing = pod("web-a", ready=False, waiting="CrashLoopBackOff", restarts=5, message="back-off 40s")
    ev = evaluate({"deployments": [deployment("web", 1, ready=0)], "pods": [crashing]})
    verdict, reasons = st.decide(ev, None, [], None)
    assert verdict == st.RED and "web-a" in reasons[0] and "CrashLoopBackOff" in reasons[0]


def test_a_starting_pod_is_progressing():
    starting = pod("web-a", ready=False, waiting="ContainerCreating")
    ev = evaluate({"deployments": [deployment("web", 1, ready=0)], "pods": [starting]})
    verdict, reasons = st.decide(ev, None, [], None)
    assert verdict == st.PROGRESSING
    assert reasons and "web" in reasons[0]


def endpoint(ok: bool) -> st.EndpointCheck:
    return st.EndpointCheck("http://dummy.example.com/", "dummy.example.com", "/", "web", ok,
                            200 if ok else 502, 3.0, "" if ok else "HTTP 502")


def test_a_failing_endpoint_is_red_once_rolled_out_and_listed_while_progressing():
    green = evaluate({"deployments": [deployment("web")], "pods": [pod("web-a")]})
    assert st.decide(green, None, [endpoint(True)], None) == (st.GREEN, [])
    assert st.decide(green, None, [endpoint(False)], None) == (st.RED, ["endpoint http://dummy.example.com/: HTTP 502"])
    rolling = evaluate({"deployments": [deployment("web", 1, ready=0)],
                        "pods": [pod("web-a", ready=False, waiting="ContainerCreating")]})
    verdict, reasons = st.decide(rolling, None, [endpoint(False)], None)
    assert verdict == st.PROGRESSING and reasons[-1] == "endpoint http://dummy.example.com/: HTTP 502"


def test_error_lines_and_failed_tests_are_red():
    green = evaluate({"deployments": [deployment("web")], "pods": [pod("web-a")]})
    scan = st.LogScan("p", "10m", (st.LogLine("web", "web-a", "web", "ERROR boom"),), 1)
    assert st.decide(green, scan, [], None) == (st.RED, ["1 error line(s) in the last 10m of logs: web (1)"])
    tests = st.TestResult(True, False, ("...",), ("dummy-test-smoke",))
    assert st.decide(green, None, [], tests) == (st.RED, ["tests failed: dummy-test-smoke"])
    assert st.decide(green, None, [], st.TestResult(True, True))[0] == st.GREEN


def test_jobs_and_the_last_run_of_cronjobs():
    def job(name, owner=None, failed=False, start=60):
        obj = {"kind": "Job", "metadata": {"name": name, "labels": labels("nightly" if owner else "init", "job"),
                                           "uid": f"j-{name}", "creationTimestamp": ts(start)},
               "spec": {"completions": 1, "backoffLimit": 0},
               "status": {"startTime": ts(start), "failed": 1 if failed else 0, "succeeded": 0 if failed else 1,
                          "conditions": [{"type": "Failed" if failed else "Complete", "status": "True",
                                          "reason": "BackoffLimitExceeded" if failed else None,
                                          "lastTransitionTime": ts(start - 5)}]}}
        if not failed:
            obj["status"]["completionTime"] = ts(start - 5)
        if owner:
            obj["metadata"]["ownerReferences"] = [{"kind": "CronJob", "name": owner, "controller": True}]
        return obj

    cron = {"kind": "CronJob", "metadata": {"name": "dummy-nightly", "labels": labels("nightly", "cronjob")},
            "spec": {"schedule": "0 3 * * *"}, "status": {"lastScheduleTime": ts(30)}}
    ev = evaluate({"jobs": [job("dummy-init"), job("dummy-nightly-1", "dummy-nightly", start=90),
                            job("dummy-nightly-2", "dummy-nightly", failed=True, start=30)],
                   "cronjobs": [cron]})
    assert [(j.name, j.state, j.succeeded) for j in ev.jobs] == [("dummy-init", "succeeded", 1)]
    assert [(c.name, c.schedule, c.last_run_state, c.last_schedule) for c in ev.cronjobs] == [
        ("dummy-nightly", "0 3 * * *", "failed", ts(30))]
    verdict, reasons = st.decide(ev, None, [], None)
    assert verdict == st.RED
    assert reasons == ["CronJob dummy-nightly: the last run failed (see `lain logs nightly`)"]


def test_error_lines_of_one_container_log():
    text = "GET / 200\nTraceback (most recent call last):\nno errors today\nERROR: lost connection\n"
    found = st.error_lines(text, st.compile_pattern(None), "web", "dummy-web-a", "web")
    assert found == [
        st.LogLine("web", "dummy-web-a", "web", "Traceback (most recent call last):"),
        st.LogLine("web", "dummy-web-a", "web", "ERROR: lost connection"),
    ]


def test_the_error_pattern_is_configurable_and_can_be_turned_off():
    custom = st.compile_pattern(r"^\[E\]")
    found = st.error_lines("[E] bad\nERROR ignored", custom, "web", "p", "c")
    assert [f.line for f in found] == ["[E] bad"]
    assert st.compile_pattern("") is None


def test_logs_are_read_from_started_containers_of_the_sampled_pods_only():
    def with_statuses(name: str, init: list[tuple[str, dict]], main: list[tuple[str, dict]]) -> dict:
        obj = pod(name)
        obj["status"] = {"initContainerStatuses": [{"name": n, "state": s} for n, s in init],
                         "containerStatuses": [{"name": n, "state": s, "restartCount": 0} for n, s in main]}
        return obj

    running, waiting, done = {"running": {}}, {"waiting": {"reason": "ContainerCreating"}}, {"terminated": {}}
    pods = [with_statuses("web-a", [("setup", done)], [("web", running), ("sidecar", waiting)]),
            with_statuses("web-b", [], [("web", waiting)]),
            with_statuses("web-c", [], [("web", running)])]
    assert st.log_reads(pods, ["web-a", "web-b", "gone"]) == [("web", "web-a", "setup"), ("web", "web-a", "web")]


def test_endpoints_of_ingresses():
    values = {
        "ingresses": [{"host": "dummy", "deployName": "web", "paths": ["/", "/api"]}],
        "externalIngresses": [{"host": "dummy.public.com", "deployName": "web", "tls": True}],
    }
    eps = st.endpoints_of(values, "example.com")
    assert [st.endpoint_url(e) for e in eps] == [
        "http://dummy.example.com/", "http://dummy.example.com/api", "https://dummy.public.com/"]
    assert {e.scheme for e in st.endpoints_of(values, "example.com", "https")} == {"https"}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        code = 503 if self.path == "/down" else 200
        body = self.headers.get("Host", "").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_endpoint_checks_through_an_address_with_the_host_header(http_server):
    up = st.Endpoint("dummy.example.com", "/", "web", "http")
    down = st.Endpoint("dummy.example.com", "/down", "web", "http")
    ok, failing = st.check_endpoints([up, down], address=http_server)
    assert (ok.ok, ok.status_code, ok.url) == (True, 200, "http://dummy.example.com/")
    assert ok.latency_ms is not None and ok.latency_ms >= 0
    assert (failing.ok, failing.status_code, failing.error) == (False, 503, "HTTP 503")


def test_an_endpoint_that_does_not_answer_is_a_failure():
    result = st.check_endpoint(st.Endpoint("dummy.example.com", "/", "web", "http"), address="127.0.0.1:9",
                               timeout=2)
    assert not result.ok and result.status_code is None and "Connection refused" in result.error


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("https://kibana/app/discover#/?query=app:{appname}", ["https://kibana/app/discover#/?query=app:dummy"]),
        ("https://logs/{cluster}/{namespace}/{appname}/{proc}", ["https://logs/prod/ns/dummy/web",
                                                                 "https://logs/prod/ns/dummy/worker"]),
        ("https://logs/{appname}?q={unknown}", ["https://logs/dummy?q={unknown}"]),
    ],
)
def test_log_links(template, expected):
    links = st.log_links(template, app="dummy", namespace="ns", cluster="prod", procs=["web", "worker"])
    assert [link.url for link in links] == expected
    assert st.log_links("", app="dummy", namespace="ns", cluster="prod", procs=["web"]) == []


def report(**overrides) -> st.StatusReport:
    ev = evaluate({"deployments": [deployment("web")], "pods": [pod("web-a")]})
    fields = dict(app="dummy", release="dummy", cluster="prod", namespace="ns", verdict=st.GREEN, reasons=[],
                  procs=ev.procs, pods=ev.pods, logs=st.LogScan("p", "10m"), endpoints=[endpoint(True)],
                  log_links=[st.LogLink(None, "https://kibana/x")], generated_at="2024-05-01T12:00:00Z")
    fields.update(overrides)
    return st.StatusReport(**fields)


def test_the_json_document_has_a_stable_schema():
    doc = report().as_dict()
    assert list(doc) == ["schemaVersion", "app", "release", "cluster", "namespace", "generatedAt", "verdict",
                         "reasons", "procs", "pods", "jobs", "cronjobs", "errorLogs", "endpoints", "tests",
                         "logLinks", "releaseState", "leftovers"]
    assert doc["schemaVersion"] == 1
    assert doc["procs"] == [{"name": "web", "kind": "deployment", "desired": 1, "ready": 1, "updated": 1,
                             "available": 1, "state": "ready", "reason": "", "old": 0}]
    assert list(doc["pods"][0]) == ["name", "proc", "phase", "status", "ready", "restarts", "ageSeconds", "node",
                                    "state", "reason", "message", "lastEvent"]
    assert doc["errorLogs"] == {"pattern": "p", "window": "10m", "lines": [], "total": 0, "error": ""}
    assert doc["endpoints"][0] == {"url": "http://dummy.example.com/", "host": "dummy.example.com", "path": "/",
                                   "proc": "web", "ok": True, "statusCode": 200, "latencyMs": 3.0, "error": "",
                                   "result": "ok", "hint": ""}
    assert doc["tests"] is None
    assert doc["logLinks"] == [{"proc": None, "url": "https://kibana/x"}]


def test_exit_codes_follow_the_verdict():
    assert [report(verdict=v).exit_code for v in (st.GREEN, st.RED, st.PROGRESSING, st.NOT_DEPLOYED)] == [1 - 1, 1, 3, 1]


UNCHECKED = st.EndpointCheck("http://dummy-dev.example.com/", "dummy-dev.example.com", "/", "web", False, None, None,
                             "dummy-dev.example.com does not resolve from here", st.UNCHECKED, st.UNCHECKED_HINT)


def test_an_endpoint_that_does_not_resolve_here_is_unchecked_and_never_red():
    green = evaluate({"deployments": [deployment("web")], "pods": [pod("web-a")]})
    assert st.decide(green, None, [UNCHECKED, endpoint(True)], None) == (st.GREEN, [])
    shown = report(endpoints=[UNCHECKED, endpoint(True)])
    assert shown.verdict_line == "GREEN (1 endpoint unchecked)"
    lines = panel.summary_lines(shown)
    assert "  unchecked ---        -  http://dummy-dev.example.com/  dummy-dev.example.com does not resolve from here" \
        in lines
    assert f"  ({st.UNCHECKED_HINT})" in lines and lines[-1] == "verdict: GREEN (1 endpoint unchecked)"
    two = report(endpoints=[UNCHECKED, UNCHECKED])
    assert two.verdict_line == "GREEN (2 endpoints unchecked)"


def test_a_name_that_does_not_resolve_is_unchecked_but_a_refused_connection_fails():
    missing = st.check_endpoint(st.Endpoint("lain-status-test.invalid", "/", "web", "http"), timeout=5)
    assert (missing.result, missing.ok, missing.hint) == (st.UNCHECKED, False, st.UNCHECKED_HINT)
    assert missing.error == "lain-status-test.invalid does not resolve from here"
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = st.check_endpoint(st.Endpoint("127.0.0.1", "/", "web", "http"), address=f"127.0.0.1:{port}", timeout=5)
    assert refused.result == st.FAIL


def test_no_release_is_not_deployed_and_names_where_it_looked():
    where = "dummy in namespace ns of cluster prod"
    nothing = evaluate({})
    verdict, reasons = st.decide(nothing, None, [], None, st.ReleaseState(False), where)
    assert verdict == st.NOT_DEPLOYED and reasons[0].startswith(f"no release {where}; `lain deploy` installs it")
    # objects of the app made without helm are judged as they are
    green = evaluate({"deployments": [deployment("web")], "pods": [pod("web-a")]})
    assert st.decide(green, None, [], None, st.ReleaseState(False), where)[0] == st.GREEN
    verdict, reasons = st.decide(nothing, None, [], None, st.ReleaseState(True, 3, "failed"), where)
    assert verdict == st.NOT_DEPLOYED and reasons[0].startswith(f"release {where} has nothing running there (revision 3")
    assert st.decide(nothing, None, [], None)[0] == st.GREEN  # helm could not tell: judged by what is there


def test_a_pending_release_is_progressing_never_green():
    green = evaluate({"deployments": [deployment("web")], "pods": [pod("web-a")]})
    verdict, reasons = st.decide(green, None, [], None, st.ReleaseState(True, 5, "pending-upgrade", True), "x")
    assert verdict == st.PROGRESSING
    assert reasons[0].startswith("release is pending-upgrade (revision 5): a deploy is in progress")


def test_the_summary_ends_with_the_verdict_and_has_the_log_links():
    lines = panel.summary_lines(report(verdict=st.RED, reasons=["endpoint x: HTTP 502"]))
    assert lines[0] == "dummy on cluster prod (namespace ns), release dummy"
    assert "log links:" in lines and "  https://kibana/x" in lines
    assert lines[-2:] == ["verdict: RED", "  - endpoint x: HTTP 502"]
    assert any(re.match(r"  web-a +Running +restarts 0 +age 95s +node node-1", ln) for ln in lines)


def test_the_panel_renders_every_section():
    from rich.console import Console

    console = Console(width=160, record=True, color_system=None)
    console.print(panel.render(report(verdict=st.RED, reasons=["boom"]), footer="q: quit"))
    text = console.export_text()
    for expected in (" RED ", "boom", "procs", "web-a", "endpoints", "http://dummy.example.com/", "q: quit"):
        assert expected in text


@pytest.mark.parametrize("major", [3, 4])
def test_helm_test_argv(major):
    from lain_cli import helm

    assert helm.test_argv("helm", major, "dummy", cluster_args=["--namespace", "ns"], timeout=90) == [
        "helm", "test", "dummy", "--namespace", "ns", "--logs", "--timeout", "90s"]


def test_failed_tests_are_read_from_helm_output():
    from lain_cli import helm

    output = "Error: 2 errors occurred:\n\t* pod dummy-test-a failed\n\t* pod dummy-test-b failed\npod dummy-test-a failed"
    assert helm.failed_tests(output) == ["dummy-test-a", "dummy-test-b"]


def test_big_releases_are_sampled_abnormal_pods_first_then_every_proc():
    pods = {f"web-{i:02}": "web" for i in range(20)} | {"worker-a": "worker", "worker-b": "worker"}
    sample = st.sample_pods(pods, 5, first=["web-07", "gone"])
    assert sample == ["web-07", "web-00", "worker-a", "web-01", "worker-b"]
    assert st.sample_pods({"a": "web"}, 5) == ["a"]


def test_ingress_check_comes_from_the_cluster_file_and_the_environment_wins(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    cluster = SimpleNamespace(ingress_check_address="10.0.0.5:443", ingress_check_scheme="https")
    monkeypatch.delenv("LAIN_INGRESS_ADDRESS", raising=False)
    monkeypatch.delenv("LAIN_INGRESS_SCHEME", raising=False)
    assert st.ingress_check_override(cluster) == ("https", "10.0.0.5:443")
    assert st.ingress_check_override(None) == (None, None)
    monkeypatch.setenv("LAIN_INGRESS_ADDRESS", "127.0.0.1:8080")
    monkeypatch.setenv("LAIN_INGRESS_SCHEME", "http")
    assert st.ingress_check_override(cluster) == ("http", "127.0.0.1:8080")


def test_the_pods_of_a_deleted_job_are_history_not_state():
    """A failed migration's Job was replaced by a new one that succeeded; the old Job's
    pod lingers until garbage collection.  It must not turn the green light red, nor
    its logs be scanned, nor a pod being deleted count."""
    def job_pod(name: str, job_uid: str, phase: str, code: int) -> dict:
        return {"kind": "Pod", "metadata": {"name": name, "uid": f"p-{name}", "labels": labels("migrate", "job"),
                                            "creationTimestamp": ts(80),
                                            "ownerReferences": [{"kind": "Job", "name": "dummy-migrate",
                                                                 "uid": job_uid, "controller": True}]},
                "spec": {"nodeName": "node-1", "containers": [{"name": "migrate", "image": "img:1"}]},
                "status": {"phase": phase, "containerStatuses": [{"name": "migrate", "ready": False, "restartCount": 0,
                                                                  "state": {"terminated": {"exitCode": code}}}]}}

    new_job = {"kind": "Job", "metadata": {"name": "dummy-migrate", "uid": "j-new", "labels": labels("migrate", "job"),
                                           "creationTimestamp": ts(20)},
               "spec": {"completions": 1, "backoffLimit": 0},
               "status": {"startTime": ts(20), "completionTime": ts(15), "succeeded": 1,
                          "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": ts(15)}]}}
    old_pod = job_pod("dummy-migrate-old", "j-old", "Failed", 1)
    new_pod = job_pod("dummy-migrate-new", "j-new", "Succeeded", 0)
    leaving = {**pod("web-old"), "metadata": {**pod("web-old")["metadata"], "deletionTimestamp": ts(1)}}
    objects = {"deployments": [deployment("web")], "jobs": [new_job], "pods": [pod("web-a"), leaving, old_pod, new_pod]}
    ev = evaluate(objects)
    assert st.decide(ev, None, [], None) == (st.GREEN, [])
    assert sorted(p.name for p in ev.pods) == ["dummy-migrate-new", "web-a"]
    objects["replicasets"] = [replicaset(deployment("web"))]
    assert st.proc_of_pods(objects) == {"web-a": "web", "dummy-migrate-new": "migrate"}


def hook_job(name: str, *, revision: str | None, failed: bool, created: float = 50) -> dict:
    annotations = {"helm.sh/hook": "pre-upgrade"}
    if revision is not None:
        annotations["lain.dev/revision"] = revision
    condition = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}
    return {
        "kind": "Job",
        "metadata": {"name": f"dummy-{name}", "labels": labels(name, "job"), "uid": f"j-{name}",
                     "annotations": annotations, "creationTimestamp": ts(created)},
        "spec": {"backoffLimit": 0, "template": {"spec": {"containers": [{"name": name}]}}},
        "status": {"failed": 1, "conditions": [condition]} if failed else {"succeeded": 1},
    }


RUNNING_14 = st.ReleaseState(True, 14, "deployed", False, 14, ts(30).replace("Z", "+00:00"))


def test_a_failed_hook_of_another_revision_is_a_leftover_not_counted():
    objects = {"deployments": [deployment("web")], "pods": [pod("web-a")],
               "jobs": [hook_job("migrate", revision="13", failed=True)]}
    objs, jobs, pods = st.split_leftovers(objects, RUNNING_14)
    assert [j["metadata"]["name"] for j in jobs] == ["dummy-migrate"] and objs["jobs"] == []
    assert st.decide(evaluate(objs), None, [], None, RUNNING_14, "x") == (st.GREEN, [])
    [line] = st.describe_leftovers(jobs, pods, NOW, st.status_tolerances(), [])
    assert line == ("job dummy-migrate from revision 13 failed: BackoffLimitExceeded; not counted: it is replaced "
                    "at the next deploy, or `kubectl delete job dummy-migrate` removes it")
    # the running revision's own failed hook still counts
    same = {**objects, "jobs": [hook_job("migrate", revision="14", failed=True)]}
    kept, none, _ = st.split_leftovers(same, RUNNING_14)
    assert none == [] and st.decide(evaluate(kept), None, [], None, RUNNING_14, "x")[0] == st.RED


def test_a_hook_job_without_the_revision_annotation_is_judged_by_its_age():
    old = hook_job("migrate", revision=None, failed=True, created=3600)
    young = hook_job("seed", revision=None, failed=False, created=20)
    _, jobs, _ = st.split_leftovers({"jobs": [old, young]}, RUNNING_14)
    assert [j["metadata"]["name"] for j in jobs] == ["dummy-migrate"]
    assert st.split_leftovers({"jobs": [old]}, None)[1] == []  # helm could not tell: nothing set apart
