"""`make demo`'s script end to end: the real lain, helm and kubectl against a cluster it starts
(the simulator, or with ``--cluster kwok`` the real control plane)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.backends import require_real_control_plane
from tests.e2e.deployapp import tool

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


DEMO_BACKENDS = [pytest.param("kubesim", id="kubesim"), pytest.param("kwok", id="kwok", marks=pytest.mark.kwok)]
INTRO = {"kubesim": "a SIMULATED cluster", "kwok": "the real Kubernetes control plane"}
ENDING = {"kubesim": "on a simulated cluster.", "kwok": "on the real control plane (kwok nodes)."}


@pytest.mark.parametrize("backend", DEMO_BACKENDS)
def test_demo_deploys_checks_green_updates_and_rolls_back(tmp_path: Path, backend: str) -> None:
    if backend == "kwok":
        require_real_control_plane()
    env = {**os.environ, "TMPDIR": str(tmp_path), "LAIN_HELM": tool("helm"), "LAIN_KUBECTL": tool("kubectl")}
    result = subprocess.run([sys.executable, str(REPO / "tools" / "demo.py"), "--cluster", backend], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=180)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert INTRO[backend] in out
    banners = re.findall(r"^==> \[\d+\] (.*)$", out, re.M)
    assert [re.split(r":| \(", b)[0] for b in banners] == [
        "Select the demo cluster", "Check the versions", "First deploy", "The green light, once",
        "Second deploy", "History", "Roll back to the previous revision", "History after the rollback",
        "The green light after the rollback",
    ]
    first, second = re.search(r"Second deploy: image (\w+) -> (\w+)", out).groups()  # type: ignore[union-attr]
    assert out.count("verdict: GREEN") >= 2 and "tests: passed" in out
    assert "hook job dummy-migration: pod dummy-migration-" in out
    assert f"dummy-web: registry.demo.local/team/dummy:{second}" in out
    assert out.rstrip().endswith(ENDING[backend])
    after_rollback = out[out.index("Roll back to the previous revision"):]
    assert f"dummy-web: registry.demo.local/team/dummy:{first}" in after_rollback
    # the temporary directory is gone and the simulator with it
    assert not list(tmp_path.glob("lain-demo-*"))


@pytest.mark.parametrize("backend", DEMO_BACKENDS)
def test_demo_stops_the_cluster_when_interrupted(tmp_path: Path, backend: str) -> None:
    if backend == "kwok":
        require_real_control_plane()
    env = {**os.environ, "TMPDIR": str(tmp_path), "LAIN_HELM": tool("helm"), "LAIN_KUBECTL": tool("kubectl")}
    demo = subprocess.Popen([sys.executable, str(REPO / "tools" / "demo.py"), "--cluster", backend], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    assert demo.stdout is not None
    sim_url = ""
    for line in demo.stdout:
        if line.startswith("cluster at "):
            sim_url = line.split()[2].rstrip(";")
        if "==> [3]" in line:
            break
    os.killpg(demo.pid, 2)
    rest = demo.stdout.read()
    assert demo.wait(timeout=30) == 130
    assert "demo interrupted (SIGINT); the cluster is stopped" in rest
    assert sim_url
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{sim_url}/version", timeout=2)
    assert not [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
                if str(tmp_path) in line], "the demo left processes running"
    assert not list(tmp_path.glob("lain-demo-*"))
