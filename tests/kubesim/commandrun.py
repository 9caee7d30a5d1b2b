"""The ``run: command`` knob: a Job-like pod's container runs its real command.

No container exists, so, as ``kubectl exec`` does on both backends, the command
(``command`` + ``args``) runs on the host, without a shell, in the pod's scratch
directory with the container's environment.  What it prints becomes the
container's log and its exit status the container's exit code: ``false`` exits
1, ``sh -c 'echo x; exit 7'`` logs ``x`` and exits 7.  Shared by tests/kubesim's
kubelet and tests/kwokcluster's log agent, so both backends agree.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

KNOB = "run"
VALUE = "command"
RUN_TIMEOUT = 60.0  # real seconds; then the "container" is killed (137)


def wants_command(knobs: Mapping[str, str], pod: Mapping[str, Any]) -> bool:
    """Whether the pod's main container runs its command: the knob on a pod that runs to exit."""
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    return knobs.get(KNOB) == VALUE and policy != "Always"


def container_argv(container: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]


def run_command(argv: Sequence[str], env: Mapping[str, str], cwd: Path,
                timeout: float = RUN_TIMEOUT) -> tuple[int, list[str]]:
    """(exit code, output lines) of ``argv`` run as the container's process."""
    if not argv:
        return 0, ["kubesim: the container has no command to run"]
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), **env}
    try:
        done = subprocess.run(list(argv), env=full_env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except FileNotFoundError:
        # what containerd reports for a missing binary; the kubelet gives exit code 128
        return 128, [f'exec: "{argv[0]}": executable file not found in $PATH']
    except PermissionError:
        return 126, [f'exec: "{argv[0]}": permission denied']
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else ""
        return 137, [*out.splitlines(), f"kubesim: killed after {timeout:g}s"]
    code = done.returncode if done.returncode >= 0 else 128 - done.returncode
    return code, done.stdout.decode(errors="replace").splitlines()
