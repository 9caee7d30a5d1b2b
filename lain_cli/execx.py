"""`lain x`: run a command (by default a shell) in a running pod of a proc.

The pod is the first ready one, or the person's choice on a terminal when
there are several.  The command's argv goes to ``kubectl exec`` untouched and
its exit code becomes lain's, with stdout passed straight through, so
``lain x -- bash -c '...' | grep`` works in CI.  ``-t`` is only asked for when
both stdin and stdout are terminals: a pseudo-terminal would turn ``\\n`` into
``\\r\\n`` in piped output.

The default shell is bash, and sh where the image has no bash.  The choice is
made inside the container by ``sh -c 'command -v bash ... && exec bash || exec
sh'`` rather than by retrying after a failed ``bash``: how a missing
executable is reported depends on the runtime (exit 126 with docker, exit 1
and an "executable file not found" error with containerd), and an interactive
bash can itself end with those codes.  Only if that launcher cannot start
(an image without sh) is ``bash`` tried directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lain_cli.errors import OperationFailed, UsageError
from lain_cli.logs import container_names, pod_name

if TYPE_CHECKING:
    from lain_cli.context import AppContext

Pod = Mapping[str, Any]

SHELL_LAUNCHER = ("sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh")
# How runtimes report an executable missing from the image (containerd: 1, docker: 126/127).
MISSING_EXECUTABLE = (1, 126, 127)
# A launcher that fails faster than this never started a shell.
FALLBACK_WINDOW = 2.0
LONG_RUNNING = ("deployment", "statefulset")


def is_running(pod: Pod) -> bool:
    meta = pod.get("metadata") or {}
    return (pod.get("status") or {}).get("phase") == "Running" and not meta.get("deletionTimestamp")


def is_ready(pod: Pod) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def running_pods(pods: Sequence[Pod]) -> list[Pod]:
    """Running pods, ready ones first, then by name (a stable order to pick from)."""
    running = [p for p in pods if is_running(p)]
    return sorted(running, key=lambda p: (not is_ready(p), pod_name(p)))


def default_proc(procs: Mapping[str, str]) -> str | None:
    """The proc ``lain x`` uses when none is named: the only long-running one, else ``web``."""
    candidates = [name for name, kind in procs.items() if kind in LONG_RUNNING]
    if len(candidates) == 1:
        return candidates[0]
    if "web" in candidates:
        return "web"
    return None


def resolve_proc(name: str | None, procs: Mapping[str, str]) -> str:
    """The proc to exec into; UsageError listing the procs when it is unknown or ambiguous.

    The listing names the long-running procs only: a job's or a test's pod is
    gone once it has run (naming one still works while its pod runs).
    """
    listing = ", ".join(sorted(n for n, kind in procs.items() if kind in LONG_RUNNING)) or "none"
    if name is None:
        chosen = default_proc(procs)
        if chosen is None:
            raise UsageError(
                "which proc? the app has several",
                details=[f"procs: {listing}"],
                hint="run `lain x PROC`",
            )
        return chosen
    if name not in procs:
        raise UsageError(f"no proc named {name!r}", details=[f"procs: {listing}"], hint="run `lain x PROC`")
    return name


def choose_pod(
    pods: Sequence[Pod],
    proc: str,
    *,
    ask: Callable[[list[str]], int] | None = None,
) -> Pod:
    """A running pod of ``proc``: asked for when ``ask`` is given and there are several,
    the first ready one otherwise.  OperationFailed when none runs."""
    candidates = running_pods(pods)
    if not candidates:
        states = [f"{pod_name(p)}: {(p.get('status') or {}).get('phase', 'Unknown')}" for p in pods]
        raise OperationFailed(
            f"no running pod of {proc}",
            details=states or ["the proc has no pods"],
            hint="see why with `lain status`",
        )
    if ask is not None and len(candidates) > 1:
        labels = [f"{pod_name(p)}{'' if is_ready(p) else '  (not ready)'}" for p in candidates]
        return candidates[ask(labels)]
    return candidates[0]


def check_container(pod: Pod, container: str | None) -> str | None:
    """``container`` if the pod has it (UsageError listing them otherwise)."""
    if container is None:
        return None
    inits, mains = container_names(pod)
    if container not in mains:
        raise UsageError(
            f"pod {pod_name(pod)} has no container {container!r}",
            details=[f"containers: {', '.join(mains)}"],
            hint="pick one with -c",
        )
    return container


def ask_on_terminal(labels: list[str]) -> int:
    """Let the person pick a pod by number (Enter: the first)."""
    import click

    for i, label in enumerate(labels, 1):
        click.echo(f"  {i}) {label}", err=True)
    choice = click.prompt(
        "pod", type=click.IntRange(1, len(labels)), default=1, show_default=True, err=True
    )
    return int(choice) - 1


def run_with_shell_fallback(run: Callable[[list[str]], int], command: Sequence[str]) -> int:
    """Run ``command``, or an interactive shell (bash, else sh) when it is empty."""
    if command:
        return run(list(command))
    started = time.monotonic()
    code = run(list(SHELL_LAUNCHER))
    if code in MISSING_EXECUTABLE and time.monotonic() - started < FALLBACK_WINDOW:
        return run(["bash"])
    return code


def exec_in_pod(
    ctx: AppContext,
    proc_name: str | None,
    command: Sequence[str],
    *,
    container: str | None = None,
) -> int:
    """Run ``command`` (a shell when empty) in a running pod of the proc; its exit code."""
    import sys

    from lain_cli import console, kube, proc, tools
    from lain_cli.labels import app_selector

    name = resolve_proc(proc_name, ctx.procs)
    selector = app_selector(ctx, name)
    listing = kube.get_json(ctx.require_cluster(), "pods", selector=selector) or {}
    pods = [p for p in listing.get("items") or [] if isinstance(p, Mapping)]
    ask = ask_on_terminal if console.interactive() else None
    pod = choose_pod(pods, name, ask=ask)
    container = check_container(pod, container)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    kubectl = tools.kubectl().path
    if tty:
        console.info(f"exec in {pod_name(pod)}" + (f" ({container})" if container else ""))

    def run(argv: list[str]) -> int:
        return proc.run_attached(
            kube.exec_argv(kubectl, ctx.require_cluster().kubectl_args(), pod_name(pod), argv,
                           container=container, tty=tty)
        )

    return run_with_shell_fallback(run, command)
