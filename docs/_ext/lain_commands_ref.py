"""Sphinx directives that document lain's commands from the click tree itself.

``.. lain-commands-reference::``
    one section per command registered in ``lain_cli.cli.COMMANDS`` (sorted),
    each with its usage line, its help text and its options; groups (``env``,
    ``secret``) get a subsection per subcommand.  ``:command: NAME`` documents
    one command only.

``.. lain-global-options::``
    the options given before the command (``lain -f FILE deploy``).

Nothing is written by hand here: what ``lain COMMAND --help`` says is what the
page says, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import click
from docutils import nodes
from docutils.parsers.rst import Directive, directives

_CODE = re.compile(r"`([^`]+)`")


def load_command(name: str) -> click.Command:
    from lain_cli.cli import COMMANDS

    module, attribute, _ = COMMANDS[name]
    return getattr(importlib.import_module(f"lain_cli.commands.{module}"), attribute)


def _context(command: click.Command, name: str, parent: click.Context | None = None) -> click.Context:
    if parent is None:
        from lain_cli.cli import cli

        parent = click.Context(cli, info_name="lain")
    return click.Context(command, info_name=name, parent=parent)


def _inline(text: str) -> list[nodes.Node]:
    """Plain text with `backticked` spans as literals; nothing else is markup."""
    out: list[nodes.Node] = []
    pos = 0
    for match in _CODE.finditer(text):
        if match.start() > pos:
            out.append(nodes.Text(text[pos:match.start()]))
        out.append(nodes.literal(match.group(1), match.group(1)))
        pos = match.end()
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def help_nodes(text: str) -> list[nodes.Node]:
    """click help text as paragraphs; a ``\\b`` paragraph (no rewrapping) becomes a literal block."""
    out: list[nodes.Node] = []
    text = inspect.cleandoc(text or "").split("\f", 1)[0]
    for block in re.split(r"\n\s*\n", text):
        if not block.strip():
            continue
        if block.startswith("\b"):
            lines = block[1:].strip("\n").splitlines()
            heading = lines[0].strip() if lines and lines[0].strip().endswith(":") else None
            body = lines[1:] if heading else lines
            if heading:
                out.append(nodes.paragraph("", "", *_inline(heading)))
            literal = "\n".join(body)
            out.append(nodes.literal_block(literal, inspect.cleandoc(literal)))
        else:
            out.append(nodes.paragraph("", "", *_inline(" ".join(block.split()))))
    return out


def option_rows(ctx: click.Context) -> list[tuple[str, str]]:
    """(names, meaning) per parameter, arguments included; --help is left out (every command has it)."""
    rows = []
    for param in ctx.command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or "--help" in param.opts:
            continue
        names, meaning = record
        if isinstance(param, click.Argument):
            meaning = meaning or ("argument, optional" if not param.required else "argument")
        rows.append((names, meaning))
    return rows


def options_table(rows: list[tuple[str, str]]) -> nodes.Node:
    table = nodes.table(classes=["lain-options"])
    group = nodes.tgroup(cols=2)
    table += group
    group += nodes.colspec(colwidth=35)
    group += nodes.colspec(colwidth=65)
    head = nodes.thead()
    group += head
    header = nodes.row()
    for title in ("Option", "Meaning"):
        header += nodes.entry("", nodes.paragraph(text=title))
    head += header
    body = nodes.tbody()
    group += body
    for names, meaning in rows:
        row = nodes.row()
        row += nodes.entry("", nodes.paragraph("", "", nodes.literal(names, names)))
        row += nodes.entry("", nodes.paragraph("", "", *_inline(meaning)))
        body += row
    return table


def _section(document: Any, title: str, target: str) -> nodes.section:
    section = nodes.section(ids=[nodes.make_id(target)], names=[nodes.fully_normalize_name(target)])
    section += nodes.title(title, "", nodes.literal(title, title))
    document.note_implicit_target(section, section)
    return section


def command_section(document: Any, name: str, command: click.Command, ctx: click.Context) -> nodes.section:
    path = ctx.command_path
    section = _section(document, path, f"command-{path.replace(' ', '-')}")
    usage = command.get_usage(ctx).removeprefix("Usage: ")
    section += nodes.literal_block(usage, usage)
    section += help_nodes(command.help or "")
    rows = option_rows(ctx)
    if rows:
        section += nodes.paragraph(text="Arguments and options:")
        section += options_table(rows)
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is not None:
                section += command_section(document, sub_name, sub, _context(sub, sub_name, ctx))
    return section


class CommandsReference(Directive):
    has_content = False
    option_spec = {"command": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from lain_cli.cli import COMMANDS

        names = [self.options["command"]] if "command" in self.options else sorted(COMMANDS)
        document = self.state.document
        return [command_section(document, name, load_command(name), _context(load_command(name), name))
                for name in names]


class GlobalOptions(Directive):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from lain_cli.cli import cli

        ctx = click.Context(cli, info_name="lain")
        return [options_table(option_rows(ctx))]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("lain-commands-reference", CommandsReference)
    app.add_directive("lain-global-options", GlobalOptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
