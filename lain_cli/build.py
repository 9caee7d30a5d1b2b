"""`lain deploy --build`: docker build and push of the app's image.

The app's own ``Dockerfile`` is used when it has one; otherwise one is
generated from the ``build`` values (``base``, ``prepare.script``,
``prepare.keep``, ``script``, ``env``) into a private temp directory, with the
app's repo as the build context.  The argv builders are pure; ``build_and_push``
is the thin edge that runs them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lain_cli.errors import ConfigError

WORKDIR = "/lain/app"


def _script_lines(script: Any) -> list[str]:
    if script is None:
        return []
    if isinstance(script, str):
        return [ln for ln in script.splitlines() if ln.strip()]
    return [str(s) for s in script if str(s).strip()]


def _run_instruction(lines: Sequence[str]) -> str:
    # exec form through sh -c keeps each line intact (quotes, $VARS) without re-escaping
    body = "set -e\n" + "\n".join(lines)
    return "RUN " + json.dumps(["sh", "-c", body])


def dockerfile_text(build: Mapping[str, Any]) -> str:
    """A Dockerfile for ``build`` values.

    Two stages: ``prepare`` runs ``prepare.script`` on the whole repo and then
    keeps only ``prepare.keep`` (dependencies, caches); the final stage starts
    from it, copies the repo again and runs ``script``.
    """
    base = build.get("base")
    if not base:
        raise ConfigError(
            "no Dockerfile in the app's repo and no build.base in values",
            key_path="build.base",
            hint="add a Dockerfile, or set build.base (and build.script) in chart/values.yaml",
        )
    env = build.get("env") or {}
    prepare = build.get("prepare") or {}
    workdir = build.get("workingDir") or WORKDIR
    lines = [f"FROM {base} AS prepare", f"WORKDIR {workdir}"]
    env_lines = [f"ENV {k}={json.dumps(str(v))}" for k, v in env.items()]
    lines += env_lines
    lines.append(f"COPY . {workdir}")
    prepare_script = _script_lines(prepare.get("script"))
    if prepare_script:
        lines.append(_run_instruction(prepare_script))
    keep = [str(k).strip("/") for k in prepare.get("keep") or [] if str(k).strip("/")]
    prune = ["find . -mindepth 1 -maxdepth 1"] + [f"! -name {json.dumps(k)}" for k in keep]
    lines.append(_run_instruction([" ".join([*prune, "-exec rm -rf {} +"])]))
    lines += ["", "FROM prepare", f"WORKDIR {workdir}", *env_lines, f"COPY . {workdir}"]
    script = _script_lines(build.get("script"))
    if script:
        lines.append(_run_instruction(script))
    return "\n".join(lines) + "\n"


def build_argv(docker: str, image: str, context_dir: str, dockerfile: str | None = None) -> list[str]:
    argv = [docker, "build", "--tag", image]
    if dockerfile:
        argv += ["--file", dockerfile]
    return [*argv, context_dir]


def push_argv(docker: str, image: str) -> list[str]:
    return [docker, "push", image]


def find_dockerfile(repo_dir: Path) -> Path | None:
    candidate = repo_dir / "Dockerfile"
    return candidate if candidate.is_file() else None


def build_and_push(repo_dir: Path, image: str, build_values: Mapping[str, Any]) -> None:
    """Build ``image`` from ``repo_dir`` and push it, streaming docker's output."""
    from lain_cli import console, proc, tools
    from lain_cli.errors import CommandFailed

    docker = tools.find_executable("docker")
    own = find_dockerfile(repo_dir)
    with tempfile.TemporaryDirectory(prefix="lain-build-") as tmp:
        dockerfile = None
        if own is None:
            path = Path(tmp) / "Dockerfile"
            path.write_text(dockerfile_text(build_values))
            os.chmod(path, 0o600)
            dockerfile = str(path)
            console.info("no Dockerfile in the repo: using one generated from values `build`")
        for argv in (build_argv(docker, image, str(repo_dir), dockerfile), push_argv(docker, image)):
            console.step(" ".join(argv[1:3]) + f" {image}")
            tail: list[str] = []
            with proc.stream(argv) as running:
                for line in running.lines():
                    tail = (tail + [line])[-20:]
                    console.info(line)
                code = running.wait()
            if code != 0:
                raise CommandFailed(argv, code, "", "\n".join(tail), hint="see docker's output above")
