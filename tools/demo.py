"""``make demo``: lain deploys examples/dummy to a simulated Kubernetes cluster.

No real cluster is involved.  The demo starts ``tests/kubesim`` (the Kubernetes
API simulator lain's end-to-end tests use) in the background; the real helm and
kubectl talk to it as they would to a cluster, but its pods run no images.
``--cluster kwok`` (``make demo CLUSTER=kwok``) runs the same steps on the real
control plane instead (upstream kube-apiserver, controller-manager, scheduler and
etcd from ``make k8s``, with kwok playing the node: ``tests/kwokcluster``).  A
small local HTTP server stands in for the cluster's ingress controller, so the
green light's HTTP checks have something to ask.

Everything the demo writes (kubeconfig, cluster file, HOME, helm caches, a git
copy of the app) lives in one temporary directory, removed at the end.  The
simulator is stopped on every exit path, Ctrl-C included.  Exit status 0 only
if every step succeeded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "dummy"
BIN = Path(sys.executable).parent
LAIN = str(BIN / "lain")
STEP_TIMEOUT = 180.0

CLUSTER_FILE = """\
# The demo cluster: the simulator started by tools/demo.py.
kubeconfig: {kubeconfig}
namespace: default
registry: registry.demo.local/team
domain: demo.local
logLink: https://logs.demo.local/search?query=app:{{appname}}
"""

# values-demo.yaml is picked automatically on the cluster named "demo".  The
# simulator runs no images: these annotations tell it what the containers print.
DEMO_VALUES = """\
# Only for the simulated cluster of `make demo`: what the simulated containers print.
deployments:
  web:
    podAnnotations:
      kubesim.lain.dev/logs: "booting dummy web\\nlistening on :5000"
  web-dev:
    podAnnotations:
      kubesim.lain.dev/logs: "booting dummy web-dev\\nlistening on :5000"
jobs:
  migration:
    podAnnotations:
      kubesim.lain.dev/logs-backup: "mysqldump: dummy -> /backup/dummy/dummy-backup.sql.gz"
      kubesim.lain.dev/logs: "alembic: running upgrade 0001 -> 0002, add users.nickname\\nalembic: done"
"""


class DemoFailed(Exception):
    """A step failed; the message says which and how."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


@dataclass
class Printer:
    color: bool

    def banner(self, number: int, title: str, argv: Sequence[str]) -> None:
        line = f"==> [{number}] {title}"
        command = "$ " + " ".join(argv)
        if self.color:
            print(f"\n\033[1;36m{line}\033[0m\n\033[1m{command}\033[0m", flush=True)
        else:
            print(f"\n{line}\n{command}", flush=True)

    def note(self, text: str) -> None:
        print(f"\033[2m{text}\033[0m" if self.color else text, flush=True)

    def result(self, ok: bool, text: str) -> None:
        if self.color:
            print(f"\033[1;{32 if ok else 31}m{text}\033[0m", flush=True)
        else:
            print(text, flush=True)


class IngressStandIn(BaseHTTPRequestHandler):
    """Answers every request as the app's web proc would behind an ingress controller."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = f"dummy says hello from {self.headers.get('Host', '?')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server API
        return


@contextmanager
def ingress_stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), IngressStandIn)
    thread = threading.Thread(target=server.serve_forever, name="ingress-stand-in", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Backend:
    module: str  # python -m <module> --kubeconfig PATH ...
    extra_args: tuple[str, ...]
    listening: str  # the line it prints once it serves
    intro: str


BACKENDS = {
    "kubesim": Backend("tests.kubesim", ("--port", "0"), r"kubesim listening on (\S+)",
                       "Starting the Kubernetes API simulator (tests/kubesim): a SIMULATED cluster, "
                       "no real Kubernetes involved; its pods run no images."),
    "kwok": Backend("tests.kwokcluster", (), r"kwok cluster listening on (\S+)",
                    "Starting the real Kubernetes control plane (tests/kwokcluster: kube-apiserver, "
                    "controller-manager, scheduler and etcd from `make k8s`); kwok plays the node, "
                    "so its pods run no images."),
}


@contextmanager
def cluster_process(backend: Backend, kubeconfig: Path, env: dict[str, str], time_scale: float) -> Iterator[str]:
    """Start ``python -m <backend>`` in its own process group; stop it on the way out."""
    argv = [sys.executable, "-m", backend.module, *backend.extra_args, "--kubeconfig", str(kubeconfig),
            "--time-scale", str(time_scale)]
    sim = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        match = re.search(backend.listening, line)
        if not match:
            err = sim.stderr.read() if sim.poll() is not None and sim.stderr else ""
            raise DemoFailed(f"the cluster did not start: {line.strip() or err.strip() or 'no output'}")
        yield match.group(1)
    finally:
        _stop(sim)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def private_env(tmp: Path, kubeconfig: Path, clusters_dir: Path, ingress: str) -> dict[str, str]:
    """The environment of every command: a private HOME, kube and helm dirs, the demo cluster."""
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAIN_", "HELM_", "KUBE"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        KUBECONFIG=str(kubeconfig),
        KUBECACHEDIR=str(home / ".kube" / "cache"),
        HELM_CACHE_HOME=str(home / "helm" / "cache"),
        HELM_CONFIG_HOME=str(home / "helm" / "config"),
        HELM_DATA_HOME=str(home / "helm" / "data"),
        LAIN_CLUSTERS_DIR=str(clusters_dir),
        LAIN_INGRESS_ADDRESS=ingress,
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
        GIT_AUTHOR_NAME="demo",
        GIT_AUTHOR_EMAIL="demo@example.com",
        GIT_COMMITTER_NAME="demo",
        GIT_COMMITTER_EMAIL="demo@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    for name in ("helm", "kubectl"):
        override = os.environ.get(f"LAIN_{name.upper()}")
        if override:
            env[f"LAIN_{name.upper()}"] = override
    return env


class Demo:
    def __init__(self, app: Path, env: dict[str, str], printer: Printer) -> None:
        self.app = app
        self.env = env
        self.printer = printer
        self.steps = 0

    def git(self, *args: str) -> str:
        result = subprocess.run(["git", *args], cwd=self.app, env=self.env, capture_output=True, text=True,
                                timeout=30)
        if result.returncode != 0:
            raise DemoFailed(f"git {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def step(self, title: str, *args: str, expect: Sequence[str] = ()) -> str:
        """Run ``lain ARGS`` with its output shown as it comes; fail unless exit 0 and ``expect`` seen."""
        self.steps += 1
        self.printer.banner(self.steps, title, ["lain", *args])
        started = time.monotonic()
        # stdout is a pipe, not a TTY: lain prints plain progress lines and a summary
        process = subprocess.Popen([LAIN, *args], cwd=self.app, env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        seen: list[str] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:
                seen.append(line)
                print("    " + line.rstrip("\n"), flush=True)
            code = process.wait(timeout=STEP_TIMEOUT)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        output = "".join(seen)
        took = time.monotonic() - started
        if code != 0:
            self.printer.result(False, f"    FAILED: `lain {' '.join(args)}` exited {code} after {took:.1f}s")
            raise DemoFailed(f"step {self.steps} ({title}) failed")
        missing = [text for text in expect if text not in output]
        if missing:
            self.printer.result(False, f"    FAILED: the output does not show {', '.join(map(repr, missing))}")
            raise DemoFailed(f"step {self.steps} ({title}): expected output missing")
        self.printer.result(True, f"    ok ({took:.1f}s)")
        return output

    def expect_images(self, tag: str) -> None:
        """Show what runs in the cluster, read with kubectl; fail unless every proc runs ``tag``."""
        kubectl = self.env.get("LAIN_KUBECTL") or shutil.which("kubectl", path=self.env["PATH"]) or "kubectl"
        template = '{range .items[*]}{.metadata.name}={.spec.template.spec.containers[0].image}{"\\n"}{end}'
        result = subprocess.run(
            [kubectl, "get", "deployments", "-l", "app.kubernetes.io/instance=dummy", "-o", f"jsonpath={template}"],
            cwd=self.app, env=self.env, capture_output=True, text=True, timeout=30,
        )
        if result.returncode != 0:
            raise DemoFailed(f"kubectl get deployments failed: {result.stderr.strip()}")
        images = dict(line.split("=", 1) for line in result.stdout.split())
        self.printer.note("    in the cluster (kubectl get deployments):")
        for name, image in sorted(images.items()):
            self.printer.note(f"      {name}: {image}")
        wrong = {name: image for name, image in images.items() if not image.endswith(f":{tag}")}
        if not images or wrong:
            raise DemoFailed(f"expected every proc to run image tag {tag}, found {images or 'no Deployments'}")


def prepare_app(tmp: Path, env: dict[str, str]) -> Path:
    """A git copy of examples/dummy, plus values-demo.yaml; the image tag is the commit."""
    app = tmp / "dummy"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns(".git", "__pycache__"))
    (app / "chart" / "values-demo.yaml").write_text(DEMO_VALUES)
    (app / "app.py").write_text('GREETING = "hello"\n')
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "demo"],
                 ["config", "user.email", "demo@example.com"], ["add", "-A"],
                 ["commit", "-q", "-m", "dummy: first version"]):
        result = subprocess.run(["git", *args], cwd=app, env=env, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise DemoFailed(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return app


def run_demo(tmp: Path, printer: Printer, time_scale: float, backend: Backend) -> None:
    kubeconfig = tmp / "kubeconfig"
    clusters_dir = tmp / "clusters"
    clusters_dir.mkdir()
    (clusters_dir / "demo.yaml").write_text(CLUSTER_FILE.format(kubeconfig=kubeconfig))
    with ingress_stand_in() as ingress:
        env = private_env(tmp, kubeconfig, clusters_dir, ingress)
        printer.note(backend.intro)
        with cluster_process(backend, kubeconfig, env, time_scale) as url:
            printer.note(f"cluster at {url}; ingress controller stand-in at http://{ingress}")
            app = prepare_app(tmp, env)
            printer.note(f"examples/dummy copied to {app} as a git repository (image tag = commit)")
            demo = Demo(app, env, printer)
            first = demo.git("rev-parse", "--short", "HEAD")

            demo.step("Select the demo cluster", "use", "demo")
            demo.step("Check the versions: lain, helm, kubectl, the cluster", "version")
            demo.step(f"First deploy: image {first}", "deploy", "--timeout", "90s")
            demo.expect_images(first)
            demo.step("The green light, once (-s): pods, logs, endpoints, and the app's tests",
                      "status", "-s", "--test", "--exit-code", expect=("GREEN",))

            (app / "app.py").write_text('GREETING = "hello again"\n')
            demo.git("commit", "-q", "-am", "dummy: a friendlier greeting")
            second = demo.git("rev-parse", "--short", "HEAD")
            printer.note(f"\nA new commit, {second}: the next deploy rolls image {second} "
                         "and runs the migration job first (a pre-upgrade hook).")
            demo.step(f"Second deploy: image {first} -> {second}", "deploy", "--timeout", "90s",
                      expect=("hook job dummy-migration",))
            demo.expect_images(second)
            demo.step("History: two revisions", "history", expect=(first, second))
            demo.step(f"Roll back to the previous revision (image {first})", "rollback", "--timeout", "90s")
            demo.expect_images(first)
            demo.step("History after the rollback", "history")
            demo.step("The green light after the rollback", "status", "-s", "--exit-code", expect=("GREEN",))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=0.05,
                        help="simulated durations (backoffs, deadlines) times this; default 0.05")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (its path is printed)")
    parser.add_argument("--cluster", choices=sorted(BACKENDS), default="kubesim",
                        help="kubesim (the simulator, default) or kwok (the real control plane of `make k8s`)")
    args = parser.parse_args(argv)
    printer = Printer(color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    if not os.access(LAIN, os.X_OK):
        print(f"demo: {LAIN} not found; run `make setup` first", file=sys.stderr)
        return 2

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    tmp = Path(tempfile.mkdtemp(prefix="lain-demo-"))
    try:
        run_demo(tmp, printer, args.time_scale, BACKENDS[args.cluster])
    except DemoFailed as exc:
        printer.result(False, f"\ndemo failed: {exc}")
        return 1
    except Interrupted as exc:
        printer.result(False, f"\ndemo interrupted ({exc}); the cluster is stopped")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if args.keep:
            printer.note(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    where = "a simulated cluster" if args.cluster == "kubesim" else "the real control plane (kwok nodes)"
    printer.result(True, f"\ndemo done: deployed, checked green, updated, rolled back, on {where}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
