"""A green light you can trust: NOT DEPLOYED for nothing, UNCHECKED for a name that
does not resolve here, leftovers of earlier revisions set apart, one set of counts,
a pending release never GREEN.  The real lain, helm and kubectl, on both backends."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.deployapp import REPO, App, make_app
from tests.e2e.deployapp import with_changes as _with

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(tmp_path: Path, cluster: object) -> App:
    made = make_app(tmp_path, cluster)
    made.env.pop("LAIN_INGRESS_ADDRESS", None)
    return made



def _cluster_file(app: App) -> Path:
    return Path(app.env["LAIN_CLUSTERS_DIR"]) / "sim.yaml"


def test_nothing_deployed_is_not_deployed_and_says_where_lain_looked(app: App) -> None:
    namespace = app.cluster.namespace
    status = app.lain("status", "-s", "--exit-code", check=1)
    assert "verdict: NOT DEPLOYED" in status.stdout
    assert f"no release dummy in namespace {namespace} of cluster sim" in status.stdout
    doc = json.loads(app.lain("--json", "status", "--exit-code", check=1).stdout)
    assert doc["verdict"] == "NOT DEPLOYED" and doc["releaseState"]["installed"] is False
    waited = app.lain("wait", "--timeout", "10s", check=1)
    assert f"NOT DEPLOYED: no release dummy in namespace {namespace} of cluster sim" in waited.stderr
    assert "is ready" not in waited.stderr

    # deployed, then looked for in a namespace that does not exist (a typo in the cluster file)
    app.lain("deploy", "--timeout", "60s", check=0)
    doc = yaml.safe_load(_cluster_file(app).read_text())
    doc["namespace"] = "no-such-namespace"
    _cluster_file(app).write_text(yaml.safe_dump(doc))
    typo = app.lain("status", "-s", "--exit-code", check=1)
    assert "verdict: NOT DEPLOYED" in typo.stdout
    assert "no release dummy in namespace no-such-namespace of cluster sim" in typo.stdout
    app.lain("wait", "--timeout", "10s", check=1)


def test_the_seed_app_is_green_with_its_unresolvable_endpoints_unchecked(app: App) -> None:
    values = yaml.safe_load((REPO / "examples" / "dummy" / "chart" / "values.yaml").read_text())
    app.write(values)
    deployed = app.lain("deploy", "--timeout", "120s", check=0)
    out = deployed.stdout
    assert "verdict: GREEN (2 endpoints unchecked)" in out, out
    assert re.search(r"^  unchecked --- +- +http://dummy\.example\.com/  dummy\.example\.com does not resolve from here$",
                     out, re.M), out
    assert "http://dummy-dev.example.com/" in out
    assert "ingressCheck: {address: IP[:PORT]}" in out and "LAIN_INGRESS_ADDRESS" in out
    assert "green light is red" not in deployed.stderr
    status = app.lain("status", "-s", "--exit-code", check=0)
    assert status.stdout.splitlines()[-1] == "verdict: GREEN (2 endpoints unchecked)"
    doc = json.loads(app.lain("--json", "status", "--exit-code", check=0).stdout)
    assert [e["result"] for e in doc["endpoints"]] == ["unchecked", "unchecked"]


def test_a_failed_migration_of_an_earlier_revision_is_a_leftover_after_rollback(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    good = copy.deepcopy(app.values)
    app.write(_with(app, jobs__migrate__imageTag="notfound"))
    failed = app.lain("deploy", "--timeout", "60s", check=1)
    assert "hook job dummy-migrate failed" in failed.stderr
    fine = app.lain("status", "-s", "--exit-code", check=0)  # the running revision is fine
    assert re.search(r"job dummy-migrate from revision 2 (failed|not done): (ErrImagePull|ImagePullBackOff)",
                     fine.stdout), fine.stdout
    app.write(good)
    app.lain("rollback", "--timeout", "60s", check=0)
    status = app.lain("status", "-s", "--exit-code", check=0)
    assert status.stdout.splitlines()[-1] == "verdict: GREEN", status.stdout
    assert "leftovers of other revisions (not counted):" in status.stdout
    line = next(ln for ln in status.stdout.splitlines() if "job dummy-migrate from revision 2" in ln)
    assert re.search(r"(failed|not done): (ErrImagePull|ImagePullBackOff)", line), line
    assert "`kubectl delete job dummy-migrate` removes it" in line
    assert not re.search(r"^  dummy-migrate-\S+ +(ErrImagePull|ImagePullBackOff)", status.stdout, re.M)


def test_counts_after_a_failed_deploy_are_the_new_versions_everywhere(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    app.write(_with(app, deployments__web__imageTag="notfound"))
    app.lain("deploy", "--timeout", "60s", check=1)
    doc = json.loads(app.lain("--json", "status", check=0).stdout)
    [web] = [p for p in doc["procs"] if p["name"] == "web"]
    new_pods = [p for p in doc["pods"] if p["proc"] == "web" and p["status"] in ("ErrImagePull", "ImagePullBackOff")]
    assert web["state"] == "failed" and web["ready"] == 0 and web["old"] >= 1, web
    assert new_pods, doc["pods"]
    summary = app.lain("status", "-s", check=0).stdout
    assert re.search(rf"^  web +deployment +0/2 ready +{web['updated']}/2 updated +{web['old']} old +failed$",
                     summary, re.M), summary
    waited = app.lain("wait", "--timeout", "10s", check=1)
    assert "procs" in waited.stderr or "failed" in waited.stderr


def _helm_pending(app: App, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.history()[-1]["status"].startswith("pending"):
            return
        time.sleep(0.2)
    raise AssertionError("the release never became pending")


def test_a_pending_release_is_progressing_and_wait_waits_for_it(app: App) -> None:
    app.lain("deploy", "--timeout", "60s", check=0)
    # a migration long enough for status and wait to see the release pending
    app.write(_with(app, jobs__migrate__podAnnotations={"kubesim.lain.dev/duration": "15"}))
    running = app.popen("deploy", "--timeout", "120s")
    try:
        _helm_pending(app)
        status = app.lain("status", "-s", "--exit-code", check=3)
        assert "verdict: PROGRESSING" in status.stdout
        assert "release is pending-upgrade (revision 2): a deploy is in progress" in status.stdout
        waited = app.lain("wait", "--timeout", "60s", check=0)
        assert "release dummy is pending-upgrade (revision 2): waiting for that deploy to finish" in waited.stderr
        assert "dummy is ready" in waited.stderr
    finally:
        out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err
