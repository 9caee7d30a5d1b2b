"""Every example of `lain ... --help`, run for real on an app made by `lain init`.

The app is the starter, committed; the examples' clusters (dev, prod) point at the
simulator; a webhook receiver takes send-msg's message; `docker` is a recording fake.
Examples that need a person at a terminal (an editor, an interactive shell) are only
parsed (tests/test_help_examples.py), the rest run in the order a team would.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deployapp import FAKE_DOCKER, LAIN, tool
from tests.help_examples import Example, all_examples, parse_argv
from tests.ingress_standin import ingress_standin
from tests.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.backends("kubesim")]

# commands run in this order (a command's own examples keep theirs)
PHASES = ["use", "version", "completion", "init", "lint", "template", "diff", "build", "push", "deploy", "status",
          "wait", "history", "logs", "x", "restart", "job", "create-job", "env", "secret", "send-msg", "update-image",
          "rollback", "uninstall"]
NEEDS_A_PERSON = {("env", "edit"), ("secret", "edit"), ("x",)}
FOLLOWS = {("logs",)}  # -f keeps running: still running after a few seconds is success


def _interactive(example: Example) -> bool:
    path, _, params = parse_argv(example.argv)
    if tuple(path) == ("x",) and not params["words"] and "--" not in example.argv:
        return True
    return tuple(path) in NEEDS_A_PERSON - {("x",)}


def _order(example: Example) -> tuple[int, int]:
    """(phase, verb): within env and secret, add before show before delete."""
    words = [w for w in example.argv if not w.startswith("-")]
    verb = {"add": 0, "delete": 2}.get(words[1] if len(words) > 1 else "", 1)
    return PHASES.index(words[0]), verb


def _run(root: Path, env: dict[str, str], example: Example) -> subprocess.CompletedProcess[str] | None:
    run_env = {**env, **dict(example.env)}
    follow = example.argv[:1] == ("logs",) and "-f" in example.argv
    try:
        return subprocess.run([LAIN, *example.argv], cwd=root, env=run_env, capture_output=True, text=True,
                              timeout=8 if follow else 120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        assert follow, f"{example.line} did not finish"
        return None


def test_every_help_example_works_on_the_starter(tmp_path: Path, cluster: Any) -> None:
    examples = sorted((e for e in all_examples() if not _interactive(e)), key=_order)
    root = tmp_path / "app"
    root.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LAIN_HELM": tool("helm"),
           "LAIN_KUBECTL": tool("kubectl"), "FAKE_DOCKER_LOG": str(tmp_path / "docker.log"), "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "alice", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "alice",
           "GIT_COMMITTER_EMAIL": "a@example.com"}
    subprocess.run([LAIN, "init", "--appname", "dummy"], cwd=root, env=env, check=True, capture_output=True)
    (root / "topsecret.txt").write_text("the starter's secret file\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "lain init"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    with WebhookReceiver() as receiver, ingress_standin() as ingress:
        clusters_dir = root / "chart" / "clusters"
        clusters_dir.mkdir()
        for name in ("dev", "prod"):
            (clusters_dir / f"{name}.yaml").write_text(yaml.safe_dump({
                "kubeconfig": str(cluster.kubeconfig), "namespace": cluster.namespace,
                "registry": "registry.example.com/team", "domain": "example.com",
                "webhook": {"url": receiver.url("/hook"), "provider": "generic"},
                "ingressCheck": {"address": ingress},
                # the simulator's knob: web's container crashes once, so `logs --previous` has a
                # previous container to show ("why did it crash?")
                "values": {"deployments": {"web": {"podAnnotations": {"kubesim.lain.dev/crash": "1"}}},
                           # a cronjob for `lain create-job`'s example (the starter has it commented out)
                           "cronjobs": {"nightly-report": {"schedule": "0 3 * * *", "command": ["true"]}}},
            }))
        failures = []
        for example in examples:
            where = tmp_path / "fresh" if example.argv[:1] == ("init",) else root
            where.mkdir(exist_ok=True)
            result = _run(where, env, example)
            if result is None:
                continue
            # diff and deploy --dry-run exit 2 when a deploy would change something
            allowed = (0, 2) if example.argv[-1:] == ("diff",) or "--dry-run" in example.argv else (0,)
            if result.returncode not in allowed:
                failures.append(f"{example.line}: exit {result.returncode}\n{result.stdout[-1500:]}\n"
                                f"{result.stderr[-1500:]}")
        assert not failures, "\n\n".join(failures)
        assert any(b"migration needs a manual deploy" in r.body for r in receiver.delivered)
