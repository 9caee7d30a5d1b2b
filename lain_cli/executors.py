"""The executors: one ``Helm`` and one ``Kubectl`` per command, built once from
the tool and the cluster.

They own tool lookup, running and failure classification, so callers read
"helm.history(release)" and get revisions or a readable :class:`ClusterError`
instead of repeating argv, timeouts and stderr parsing.  Every call takes its
time from the command's :class:`~lain_cli.deadline.Deadline` and, when it is
slow, says what it is waiting for.  The release flow takes them as arguments,
so its unit tests pass recorded fakes (tests/fakes.py) instead of a cluster.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from lain_cli import helm as helm_argv
from lain_cli import kube, proc
from lain_cli.clusters import Cluster
from lain_cli.deadline import Deadline
from lain_cli.errors import ClusterError, CommandFailed, OperationFailed
from lain_cli.interrupts import Interrupted
from lain_cli.release import Revision, parse_history
from lain_cli.sharedproxy import NotProxied, SharedProxy

if TYPE_CHECKING:
    from lain_cli.objectapi import ProxiedObjects

# How long a read (history, values, get) may take at most: a healthy API answers
# in well under a second; beyond this the cluster is not answering.
READ_CAP = 15.0
# What the helm process gets on top of its own --timeout (start-up, storage writes).
HELM_MARGIN = 30.0


@dataclass(frozen=True)
class HelmRun:
    """How ``helm upgrade``/``rollback`` ended (see :func:`lain_cli.proc.run_stoppable`)."""

    ok: bool
    returncode: int
    output: str
    interrupted: Interrupted | None  # Ctrl-C, SIGTERM or SIGHUP reached lain meanwhile
    cancelled: bool
    timed_out: bool


class HelmExecutor(Protocol):
    """What the release flow asks of helm (the real :class:`Helm`, or a fake in tests)."""

    major: int

    def history(self, release: str) -> list[Revision]: ...

    def values(self, release: str, revision: int | None = None) -> dict[str, Any]: ...

    def upgrade(self, argv: Sequence[str], *, cancel: threading.Event, timeout: float) -> HelmRun: ...

    def manifest(self, release: str, *, hooks: bool = False) -> str: ...

    def uninstall(self, release: str, *, timeout: float) -> None: ...

    def upgrade_argv(self, release: str, chart_dir: str | os.PathLike[str], *, description: str,
                     timeout: float) -> list[str]: ...

    def rollback_argv(self, release: str, revision: int, *, timeout: float) -> list[str]: ...

    def dry_run_argv(self, release: str, chart_dir: str | os.PathLike[str], *, description: str,
                     timeout: float) -> list[str]: ...

    def dry_run(self, argv: Sequence[str]) -> helm_argv.DryRunRelease: ...


class KubectlExecutor(Protocol):
    """What the release flow asks of kubectl directly (helm's records, the lock)."""

    cluster: Cluster

    def get_json(self, kind: str, name: str | None = None, selector: str | None = None) -> dict[str, Any] | None: ...

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    def delete(self, kind: str, name: str) -> None: ...

    def dry_run(self, objects: Sequence[Mapping[str, Any]], *, create: bool) -> list[tuple[str, str]]: ...

    def patch(self, kind: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]: ...


class Helm:
    """helm for one cluster (``--kubeconfig``/``--kube-context``/``--namespace`` applied)."""

    def __init__(self, path: str, major: int, cluster: Cluster, deadline: Deadline | None = None) -> None:
        self.path = path
        self.major = major
        self.cluster = cluster
        self.deadline = deadline or Deadline(3600.0)

    @classmethod
    def for_cluster(cls, cluster: Cluster, deadline: Deadline | None = None) -> Helm:
        from lain_cli import tools

        tool = tools.helm()
        return cls(tool.path, tool.major, cluster, deadline)

    # -- reads -------------------------------------------------------------

    def _read(self, argv: list[str], what: str) -> proc.Result:
        timeout = self.deadline.budget(READ_CAP)
        try:
            return proc.run(argv, timeout=timeout, check=False,
                            waiting_for=f"cluster {self.cluster.name} to answer helm {what}")
        except CommandFailed as exc:
            raise ClusterError(
                f"cluster {self.cluster.name} did not answer helm {what} within {timeout:.0f}s",
                hint="check the network / VPN to the cluster (`lain version` tells whether it answers)",
            ) from exc

    def _failure(self, stderr: str, what: str) -> ClusterError:
        return kube.classify_failure(
            stderr, self.cluster.name, what=f"reading the {what}", tool="helm",
            default_hint="check the cluster with `lain version`",
        )

    def history(self, release: str) -> list[Revision]:
        """The release's revisions, oldest first; [] when it was never installed."""
        argv = helm_argv.history_argv(self.path, self.major, release, cluster_args=self.cluster.helm_args())
        result = self._read(argv, "history")
        if not result.ok:
            if helm_argv.release_not_found(result.stderr):
                return []
            raise self._failure(result.stderr, f"history of release {release}")
        return parse_history(result.stdout)

    def values(self, release: str, revision: int | None = None) -> dict[str, Any]:
        """Every value of a revision (lain stages them all in the chart, so ``--all``)."""
        argv = helm_argv.get_values_argv(self.path, self.major, release, cluster_args=self.cluster.helm_args(),
                                         revision=revision)
        result = self._read(argv, "get values")
        if not result.ok:
            raise self._failure(result.stderr, f"values of release {release}")
        data = helm_argv.parse_json(result.stdout, "get values")
        return data if isinstance(data, dict) else {}

    def manifest(self, release: str, *, hooks: bool = False) -> str:
        argv = helm_argv.get_manifest_argv(self.path, self.major, release, cluster_args=self.cluster.helm_args(),
                                           hooks=hooks)
        result = self._read(argv, "get hooks" if hooks else "get manifest")
        if not result.ok:
            raise self._failure(result.stderr, f"deployed manifest of release {release}")
        return result.stdout

    # -- changes -----------------------------------------------------------

    def upgrade_argv(self, release: str, chart_dir: str | os.PathLike[str], *, description: str,
                     timeout: float) -> list[str]:
        return helm_argv.upgrade_argv(self.path, self.major, release, chart_dir,
                                      cluster_args=self.cluster.helm_args(), description=description,
                                      timeout=timeout)

    def rollback_argv(self, release: str, revision: int, *, timeout: float) -> list[str]:
        return helm_argv.rollback_argv(self.path, self.major, release, revision,
                                       cluster_args=self.cluster.helm_args(), timeout=timeout)

    def dry_run_argv(self, release: str, chart_dir: str | os.PathLike[str], *, description: str,
                     timeout: float) -> list[str]:
        return helm_argv.upgrade_argv(self.path, self.major, release, chart_dir,
                                      cluster_args=self.cluster.helm_args(), description=description,
                                      timeout=timeout, dry_run=True)

    def dry_run(self, argv: Sequence[str]) -> helm_argv.DryRunRelease:
        """Run a ``--dry-run=server`` upgrade argv: the release helm would make, or
        OperationFailed with helm's own reason (nothing was changed either way)."""
        timeout = self.deadline.budget(helm_argv.RENDER_TIMEOUT)
        try:
            result = proc.run(argv, timeout=timeout, check=False,
                              waiting_for=f"helm's dry run of the upgrade on cluster {self.cluster.name}")
        except CommandFailed as exc:
            raise ClusterError(
                f"helm's dry run did not finish within {timeout:.0f}s on cluster {self.cluster.name}",
                hint="check the network / VPN to the cluster (`lain version` tells whether it answers)",
            ) from exc
        if not result.ok:
            lines = helm_argv.error_lines(result.stderr)
            reason = lines[-1].removeprefix("Error: ") if lines else f"exit {result.returncode}"
            raise OperationFailed(f"helm upgrade --dry-run=server refused the upgrade: {reason}",
                                  details=lines[:-1],
                                  hint="nothing was changed; fix what helm names, then run the dry run again")
        return helm_argv.parse_dry_run(result.stdout)

    def uninstall(self, release: str, *, timeout: float) -> None:
        """``helm uninstall``: the release's objects and its history are deleted (hooks run)."""
        argv = helm_argv.uninstall_argv(self.path, self.major, release, cluster_args=self.cluster.helm_args(),
                                        timeout=timeout)
        try:
            result = proc.run(argv, timeout=timeout + HELM_MARGIN, check=False,
                              waiting_for=f"helm to uninstall release {release}")
        except CommandFailed as exc:
            raise ClusterError(f"helm uninstall {release} did not finish within {timeout + HELM_MARGIN:.0f}s",
                               hint="check the cluster with `lain version`, then run `lain uninstall` again") from exc
        if not result.ok:
            raise kube.classify_failure(
                result.stderr, self.cluster.name, what=f"uninstalling release {release}", tool="helm",
                default_hint="`lain history` shows where the release stands; run `lain uninstall` again",
            )

    def upgrade(self, argv: Sequence[str], *, cancel: threading.Event, timeout: float,
                on_line: Callable[[str], None] | None = None) -> HelmRun:
        """Run a helm upgrade/rollback argv until it ends, is cancelled or interrupted.

        helm gets its own ``--timeout``; lain stops it cleanly if it overruns
        that by HELM_MARGIN (a helm stuck on an unresponsive API)."""
        stopped = proc.run_stoppable(argv, cancel=cancel, timeout=timeout + HELM_MARGIN, on_line=on_line)
        result = stopped.result
        return HelmRun(result.ok, result.returncode, result.stdout, stopped.interrupted, stopped.cancelled,
                       stopped.timed_out)


class Kubectl:
    """kubectl for one cluster, every request bounded by the command's deadline.

    With a ``proxy`` that serves, reads and writes of the kinds lain writes itself
    (its Lease, helm's release Secrets) are requests through it
    (:mod:`lain_cli.objectapi`) instead of a kubectl process each."""

    def __init__(self, cluster: Cluster, deadline: Deadline | None = None,
                 proxy: SharedProxy | None = None) -> None:
        self.cluster = cluster
        self.deadline = deadline or Deadline(3600.0)
        self.proxy = proxy

    def _timeout(self) -> float:
        return self.deadline.budget(kube.REQUEST_TIMEOUT)

    def _proxied(self) -> ProxiedObjects | None:
        """The object verbs through the command's proxy, once it serves."""
        api = self.proxy.serving() if self.proxy is not None else None
        if api is None:
            return None
        from lain_cli.objectapi import ProxiedObjects

        return ProxiedObjects(api, self.cluster.name, self.cluster.namespace, self._timeout())

    def get_json(self, kind: str, name: str | None = None, selector: str | None = None) -> dict[str, Any] | None:
        if name and not selector and (api := self._proxied()) is not None:
            with contextlib.suppress(NotProxied):
                return api.get(kind, name)
        return kube.get_json(self.cluster, kind, name, selector, request_timeout=self._timeout())

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        if (api := self._proxied()) is not None:
            with contextlib.suppress(NotProxied):
                return api.create(obj)
        return kube.create(self.cluster, obj, request_timeout=self._timeout())

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        if not obj.get("metadata", {}).get("resourceVersion"):
            raise ValueError("replace needs metadata.resourceVersion to detect concurrent changes")
        if (api := self._proxied()) is not None:
            with contextlib.suppress(NotProxied):
                return api.replace(obj)
        return kube.replace(self.cluster, obj, request_timeout=self._timeout())

    def delete(self, kind: str, name: str) -> None:
        if (api := self._proxied()) is not None:
            with contextlib.suppress(NotProxied):
                api.delete(kind, name)
                return
        kube.delete(self.cluster, kind, name, request_timeout=self._timeout())

    def dry_run(self, objects: Sequence[Mapping[str, Any]], *, create: bool) -> list[tuple[str, str]]:
        return kube.dry_run(self.cluster, objects, create=create, request_timeout=self._timeout())

    def patch(self, kind: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of one object (no secrets in ``body``: it goes in argv)."""
        return kube.patch(self.cluster, kind, name, body, request_timeout=self._timeout())
