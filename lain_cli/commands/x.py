"""`lain x`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions
from lain_cli.commands import completers


class _SplitAtDoubleDash(click.Command):
    """Everything after the first ``--`` is the command, kept verbatim (click would
    otherwise hand its first word to PROC)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            ctx.meta["lain_x_command"] = args[at + 1 :]
            args = args[:at]
        return super().parse_args(ctx, args)


@click.command(cls=_SplitAtDoubleDash)
@click.argument("proc_name", metavar="[PROC]", required=False, shell_complete=completers.procs)
@click.argument("words", metavar="[-- CMD ...]", nargs=-1, type=click.UNPROCESSED)
@click.option("-c", "--container", metavar="NAME", help="Container of the pod (default: the main one).")
@click.pass_context
def x(ctx: click.Context, proc_name: str | None, words: tuple[str, ...], container: str | None) -> int:
    """Run a command, or a shell, in a running pod of a proc.

    Picks a ready pod (asks which on a terminal when there are several).  The
    default is an interactive bash, or sh where the image has no bash.  The
    command's output and exit code are passed through, so it can be piped.

    \b
    Examples:
      lain x                                  # a shell in a web pod
      lain x web -- env
      lain x -- sh -c 'env | grep LAIN_' | sort
    """
    from lain_cli import context, execx, outputs

    opts: GlobalOptions = ctx.obj
    outputs.refuse_json(opts, "x", "what the command in the pod prints")
    command = [*words, *ctx.meta.get("lain_x_command", [])]
    app = context.load_app_context(opts, need_image=False)
    return execx.exec_in_pod(app, proc_name, command, container=container)
