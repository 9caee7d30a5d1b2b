"""docker build and push of the app's image (`lain build`, `lain push`, `lain deploy --build`).

The app's own ``Dockerfile`` is used when it has one; otherwise one is
generated from the ``build`` values (``base``, ``prepare.script``,
``prepare.keep``, ``script``, ``env``, ``args``) into a private temp
directory, with the app's repo as the build context.  The generated image
runs as an unprivileged user (:data:`RUN_AS`).

Build arguments come from ``build.args`` (values written in the repo) and from
``--build-arg NAME`` on the command line, whose value docker reads from lain's
environment: a token never appears in an argv, a log line or ``--json``.
Every line lain prints about a build names the arguments, never their values
(``-v`` shows each ``--build-arg NAME=VALUE`` word masked).

The argv builders are pure; :func:`build_image` and :func:`push_image` are the
thin edge that runs docker.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lain_cli.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from lain_cli.context import AppContext

WORKDIR = "/lain/app"
# The generated image's user: numeric, so it needs no /etc/passwd entry in the base image
# and satisfies `runAsNonRoot` (Kubernetes can only check a numeric user).
RUN_AS = "1001:1001"
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class BuildArgs:
    """The build arguments of one build: literal ones from values, and names whose
    value docker reads from the environment (``--build-arg NAME``)."""

    literal: Mapping[str, str]
    from_env: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return sorted({*self.literal, *self.from_env})


def build_args(values_args: Mapping[str, Any] | None, cli_args: Sequence[str],
               environ: Mapping[str, str]) -> BuildArgs:
    """``build.args`` plus the command line's ``--build-arg NAME[=VALUE]``.

    A bare NAME takes its value from the environment and must be set there
    (fail now, not with an image built without it).  The command line wins
    over values."""
    literal = {str(k): _arg_text(v) for k, v in (values_args or {}).items()}
    from_env: list[str] = []
    for given in cli_args:
        name, eq, value = given.partition("=")
        if not _ARG_NAME.match(name):
            raise UsageError(f"--build-arg {name!r}: not a build argument name",
                             hint="--build-arg NAME (value from the environment) or --build-arg NAME=VALUE")
        if eq:
            literal[name] = value
            if name in from_env:
                from_env.remove(name)
            continue
        if name not in environ:
            raise UsageError(f"--build-arg {name} takes its value from the environment, but {name} is not set",
                             hint=f"export {name} before `lain build`, or pass --build-arg {name}=VALUE")
        literal.pop(name, None)
        if name not in from_env:
            from_env.append(name)
    return BuildArgs(literal, tuple(from_env))


def _arg_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


def dockerfile_text(build: Mapping[str, Any], arg_names: Sequence[str] = ()) -> str:
    """A Dockerfile for ``build`` values.

    Two stages: ``prepare`` runs ``prepare.script`` on the whole repo and then
    keeps only ``prepare.keep`` (dependencies, caches); the final stage starts
    from it, copies the repo again (owned by :data:`RUN_AS`), runs ``script``
    and switches to that user.  ``arg_names`` get an ``ARG`` line in each
    stage (an ARG is only seen in the stage that declares it).
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
    arg_lines = [f"ARG {name}" for name in sorted(set(arg_names) | set(build.get("args") or {}))]
    env_lines = [f"ENV {k}={json.dumps(str(v))}" for k, v in env.items()]
    lines = [f"FROM {base} AS prepare", *arg_lines, f"WORKDIR {workdir}", *env_lines, f"COPY . {workdir}"]
    prepare_script = _script_lines(prepare.get("script"))
    if prepare_script:
        lines.append(_run_instruction(prepare_script))
    keep = [str(k).strip("/") for k in prepare.get("keep") or [] if str(k).strip("/")]
    prune = ["find . -mindepth 1 -maxdepth 1"] + [f"! -name {json.dumps(k)}" for k in keep]
    lines.append(_run_instruction([" ".join([*prune, "-exec rm -rf {} +"])]))
    lines += ["", "FROM prepare", *arg_lines, f"WORKDIR {workdir}", *env_lines,
              f"COPY --chown={RUN_AS} . {workdir}"]
    script = _script_lines(build.get("script"))
    if script:
        lines.append(_run_instruction(script))
    lines.append(f"USER {RUN_AS}")
    return "\n".join(lines) + "\n"


def build_argv(docker: str, image: str, context_dir: str, dockerfile: str | None = None,
               args: BuildArgs | None = None) -> list[str]:
    argv = [docker, "build", "--tag", image]
    if dockerfile:
        argv += ["--file", dockerfile]
    if args is not None:
        for name in args.names:
            argv += ["--build-arg", f"{name}={args.literal[name]}" if name in args.literal else name]
    return [*argv, context_dir]


def push_argv(docker: str, image: str) -> list[str]:
    return [docker, "push", image]


def find_dockerfile(repo_dir: Path) -> Path | None:
    candidate = repo_dir / "Dockerfile"
    return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class Built:
    """What ``lain build`` did, for its summary and ``--json`` (names, never values)."""

    image: str
    dockerfile: str  # "Dockerfile" (the repo's) or "generated"
    build_args: tuple[str, ...]
    pushed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.image, "dockerfile": self.dockerfile, "buildArgs": list(self.build_args),
                "pushed": self.pushed}


def _run_docker(argv: list[str], what: str, hint: str, redact: Sequence[str] = ()) -> None:
    from lain_cli import console, proc
    from lain_cli.errors import CommandFailed

    console.step(what)
    tail: list[str] = []
    with proc.stream(argv, redact=redact) as running:
        for line in running.lines():
            tail = (tail + [line])[-20:]
            console.info(line)
        code = running.wait()
    if code != 0:
        raise CommandFailed(argv[:2], code, "", "\n".join(tail), hint=hint)


def build_image(repo_dir: Path, image: str, build_values: Mapping[str, Any], args: BuildArgs | None = None) -> Built:
    """docker build ``image`` from ``repo_dir``, streaming docker's output."""
    from lain_cli import console, tools

    docker = tools.find_executable("docker")
    args = args if args is not None else build_args(build_values.get("args"), (), os.environ)
    own = find_dockerfile(repo_dir)
    with tempfile.TemporaryDirectory(prefix="lain-build-") as tmp:
        dockerfile = None
        if own is None:
            path = Path(tmp) / "Dockerfile"
            path.write_text(dockerfile_text(build_values, args.names))
            os.chmod(path, 0o600)
            dockerfile = str(path)
            console.info("no Dockerfile in the repo: using one generated from values `build`")
        names = f" (build args: {', '.join(args.names)})" if args.names else ""
        _run_docker(build_argv(docker, image, str(repo_dir), dockerfile, args), f"docker build {image}{names}",
                    "see docker's output above", redact=[f"{k}={v}" for k, v in args.literal.items()])
    return Built(image, "generated" if own is None else "Dockerfile", tuple(args.names))


def push_image(image: str) -> None:
    """docker push ``image``, streaming docker's output."""
    from lain_cli import tools

    docker = tools.find_executable("docker")
    _run_docker(push_argv(docker, image), f"docker push {image}",
                "see docker's output above; `docker login` to the registry if it refused you")


def app_image(ctx: AppContext) -> str:
    """The image ``lain build`` makes and ``lain deploy`` rolls out: <registry>/<appname>:<tag>."""
    return f"{ctx.image_repository}:{ctx.image_tag}"


def registry_of(ctx: AppContext) -> str:
    """The cluster's registry, or a UsageError: there is nowhere to push without one."""
    cluster = ctx.require_cluster()
    if not cluster.registry:
        raise UsageError(f"cluster {cluster.name} has no registry to push to",
                         hint=f"set `registry:` in the cluster file {cluster.source or cluster.name}")
    return cluster.registry


def build_app(ctx: AppContext, args: BuildArgs | None = None, *, push: bool = False) -> Built:
    """``lain build [--push]``: the app's image, pushed when asked; a summary line at the end."""
    from lain_cli import console

    if push:
        registry_of(ctx)  # before a build that could not be pushed
    image = app_image(ctx)
    built = build_image(ctx.chart_dir.parent, image, ctx.values.get("build") or {}, args)
    if push:
        push_image(image)
        built = Built(built.image, built.dockerfile, built.build_args, pushed=True)
    console.success(f"built {image}" + (" and pushed it" if push else "; `lain push` pushes it"))
    return built


def push_app(ctx: AppContext) -> str:
    """``lain push``: push the app's image (built by ``lain build``) to the cluster's registry."""
    from lain_cli import console

    registry_of(ctx)
    image = app_image(ctx)
    push_image(image)
    console.success(f"pushed {image}")
    return image


def build_and_push(ctx: AppContext) -> None:
    """``lain deploy --build``: build the app's image and push it."""
    registry_of(ctx)
    image = app_image(ctx)
    build_image(ctx.chart_dir.parent, image, ctx.values.get("build") or {})
    push_image(image)
