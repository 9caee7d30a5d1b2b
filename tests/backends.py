"""The e2e ``cluster`` fixture, on each test backend.

Every test that takes ``cluster`` runs once per backend:

* ``kubesim``: the project's API simulator (``tests/kubesim``), a fresh one per test;
* ``kwok``: the real control plane (upstream kube-apiserver, controller-manager,
  scheduler and etcd, with kwok faking nodes and pods) that ``make k8s`` builds.  One
  cluster per test session (per xdist worker), a namespace per test.  Without the
  binaries these tests are skipped, and the session says so at the end; with
  ``LAIN_E2E_REQUIRE_KWOK=1`` (CI) a missing control plane is an error instead;
* ``external``: with ``LAIN_E2E_KUBECONFIG=PATH``, the cluster that kubeconfig points
  at (kind, k3d, a real one) takes the place of ``kwok``, again a namespace per test.

A test module that exercises the simulator itself (``tests/e2e/test_kubesim_*``) marks
itself ``@pytest.mark.backends("kubesim")``.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kubesim.fixture import FIXTURE_TIME_SCALE, Cluster, SimThread
from tests.kubesim.kubeconfig import write_kubeconfig

BACKENDS = ("kubesim", "kwok")
REPO_ROOT = Path(__file__).resolve().parent.parent
_namespaces = itertools.count(1)


def real_backend_name() -> str:
    return "external" if os.environ.get("LAIN_E2E_KUBECONFIG") else "kwok"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): run this test only on these cluster backends (kubesim, kwok)"
    )
    config.addinivalue_line("markers", "kwok: runs on the real control plane (kwok) or LAIN_E2E_KUBECONFIG")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cluster" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    wanted = tuple(marker.args) if marker else BACKENDS
    params = []
    for name in wanted:
        marks = [pytest.mark.kwok] if name == "kwok" else []
        ident = real_backend_name() if name == "kwok" else name
        params.append(pytest.param(name, id=ident, marks=marks))
    metafunc.parametrize("backend", params, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class RealControlPlane:
    """The session's real cluster: a kwok cluster we start, or the one named by
    ``LAIN_E2E_KUBECONFIG``.  ``admin_kubeconfig`` is the file the tests copy."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.external = os.environ.get("LAIN_E2E_KUBECONFIG", "")
        self._kwok: Any = None
        self.admin_kubeconfig = Path(self.external) if self.external else Path()
        self.url = ""

    def start(self) -> None:
        if self.external:
            config = yaml.safe_load(Path(self.external).read_text())
            self.url = str(config["clusters"][0]["cluster"]["server"])
            return
        from tests.kwokcluster import KwokCluster, default_bin_dir

        bin_dir = default_bin_dir()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self._kwok = KwokCluster(self.workdir, name=f"lain-e2e-{worker}-{os.getpid()}", bin_dir=bin_dir)
        self._kwok.start()
        self.admin_kubeconfig = Path(self._kwok.kubeconfig)
        self.url = str(self._kwok.url)

    def stop(self) -> None:
        if self._kwok is not None:
            self._kwok.stop()

    def client(self, kubeconfig: Path, namespace: str) -> Any:
        from tests.kwokcluster import KwokClient

        return KwokClient(kubeconfig, namespace=namespace)


def real_control_plane_missing() -> str | None:
    """Why the real-control-plane backend cannot run here, or None."""
    if os.environ.get("LAIN_E2E_KUBECONFIG"):
        path = Path(os.environ["LAIN_E2E_KUBECONFIG"])
        return None if path.is_file() else f"LAIN_E2E_KUBECONFIG={path} does not exist"
    from tests.kwokcluster import default_bin_dir

    bin_dir = default_bin_dir()
    if not (bin_dir / "manifest.json").is_file():
        return f"the real control plane is not built ({bin_dir} missing): run `make k8s`"
    return None


def require_real_control_plane() -> None:
    """Skip the test when the real control plane is not built; fail instead under
    ``LAIN_E2E_REQUIRE_KWOK=1`` (CI), where skipping it would hide that it did not run."""
    missing = real_control_plane_missing()
    if missing:
        if os.environ.get("LAIN_E2E_REQUIRE_KWOK") == "1":
            pytest.fail(f"LAIN_E2E_REQUIRE_KWOK=1 but {missing}", pytrace=False)
        pytest.skip(missing)


@pytest.fixture(scope="session")
def real_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealControlPlane]:
    require_real_control_plane()
    plane = RealControlPlane(tmp_path_factory.mktemp("kwok"))
    try:
        plane.start()
    except BaseException:
        plane.stop()
        raise
    try:
        yield plane
    finally:
        plane.stop()


def namespaced_kubeconfig(admin: Path, target: Path, namespace: str) -> Path:
    config = yaml.safe_load(admin.read_text())
    current = config.get("current-context")
    for entry in config.get("contexts") or []:
        if entry.get("name") == current or current is None:
            entry.setdefault("context", {})["namespace"] = namespace
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    target.chmod(0o600)
    return target


def _kubectl_for_fixture() -> str:
    from tests.kubesim.fixture import find_binary

    return find_binary("kubectl")


@pytest.fixture
def cluster(request: pytest.FixtureRequest, backend: str, isolated_home: Path, helm_major: int) -> Iterator[Cluster]:
    """A cluster for one test, with a kubeconfig at the test's ``KUBECONFIG`` whose
    current context's namespace is the test's own (``cluster.namespace``).

    kubesim: a fresh simulator, simulated durations at ``time_scale`` 0.01 (a 10 s crash
    backoff takes 0.1 s); ``@pytest.mark.kubesim(time_scale=...)`` changes it.
    kwok/external: the session's real control plane, a namespace created for the test
    and deleted after it.
    """
    kubeconfig_path = Path(os.environ["KUBECONFIG"])
    if backend == "kubesim":
        marker = request.node.get_closest_marker("kubesim")
        options = dict(marker.kwargs) if marker else {}
        options.setdefault("time_scale", FIXTURE_TIME_SCALE)
        runner = SimThread(**options)
        client = runner.start()
        kubeconfig = write_kubeconfig(kubeconfig_path, runner.url, "default")
        try:
            yield Cluster(url=runner.url, kubeconfig=kubeconfig, sim=client, helm_major=helm_major,
                          namespace="default", backend="kubesim")
        finally:
            runner.stop()
        return
    plane: RealControlPlane = request.getfixturevalue("real_control_plane")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    namespace = f"t{os.getpid() % 100000}-{worker}-{next(_namespaces)}"
    kubeconfig = namespaced_kubeconfig(plane.admin_kubeconfig, kubeconfig_path, namespace)
    client = plane.client(kubeconfig, namespace)
    client.create_namespace(namespace)
    try:
        yield Cluster(url=plane.url, kubeconfig=kubeconfig, sim=client, helm_major=helm_major,
                      namespace=namespace, backend=real_backend_name())
    finally:
        # Left to the namespace controller: the next test does not wait for it.
        subprocess.run([_kubectl_for_fixture(), "--kubeconfig", str(kubeconfig), "delete", "namespace",
                        namespace, "--wait=false"], capture_output=True, timeout=60, check=False)


_REAL_ID = re.compile(r"[\[-](kwok|external)[\]-]")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say plainly, at the end, when the real-control-plane tests did not run."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if _REAL_ID.search(getattr(r, "nodeid", ""))]
    if not skipped:
        return
    longrepr = getattr(skipped[0], "longrepr", None)
    why = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else "see -rs"
    terminalreporter.write_sep(
        "=", f"real control plane: {len(skipped)} e2e tests SKIPPED ({str(why).removeprefix('Skipped: ')})",
        yellow=True, bold=True,
    )
