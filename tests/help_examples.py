"""The examples of every ``lain ... --help``, as argv lists (shared by the unit and e2e tests)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import click

from lain_cli.cli import COMMANDS, cli

SHELL_OPERATORS = ("|", ">", ">>", "&&", "||", ";", "<")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Example:
    command: str  # "logs", "env show"
    line: str  # as printed
    argv: tuple[str, ...]  # lain's own argv (without "lain"), up to the first shell operator
    env: tuple[tuple[str, str], ...]  # NAME=value prefixes
    piped: bool  # followed by a shell operator


def _help_text(command: click.Command, path: list[str]) -> str:
    ctx = click.Context(command, info_name=" ".join(["lain", *path]))
    return command.get_help(ctx)


def examples_in(text: str) -> list[str]:
    lines, taking = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("Example:", "Examples:"):
            taking = True
            continue
        if taking and not stripped:
            taking = False
        elif taking:
            lines.append(stripped)
    return lines


def parse_example(command: str, line: str) -> Example:
    words = shlex.split(line, comments=True)
    env = []
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env.append((name, value))
    assert words and words[0] == "lain", f"`lain {command} --help` example does not start with lain: {line}"
    cut = next((i for i, w in enumerate(words) if w in SHELL_OPERATORS), len(words))
    return Example(command, line, tuple(words[1:cut]), tuple(env), cut < len(words))


def all_examples() -> list[Example]:
    found = []
    for name in sorted(COMMANDS):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        found += [parse_example(name, line) for line in examples_in(_help_text(command, [name]))]
        if isinstance(command, click.Group):
            for sub_name in command.list_commands(click.Context(command)):
                sub = command.get_command(click.Context(command), sub_name)
                assert sub is not None
                found += [parse_example(f"{name} {sub_name}", line)
                          for line in examples_in(_help_text(sub, [name, sub_name]))]
    return found


def parse_argv(argv: tuple[str, ...]) -> tuple[list[str], dict[str, object], dict[str, object]]:
    """Parse ``argv`` through lain's whole command tree without running anything: (the
    command path, the global options, the innermost command's parameters).  Click's
    UsageError on bad input."""
    ctx = cli.make_context("lain", list(argv))
    global_params = dict(ctx.params)
    path: list[str] = []
    group: click.Command = cli
    while isinstance(group, click.Group):
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]  # what Group.invoke reads
        name, command, rest = group.resolve_command(ctx, args)
        assert command is not None and name is not None
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
        group = command
    return path, global_params, dict(ctx.params)
