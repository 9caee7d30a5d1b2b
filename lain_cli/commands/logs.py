"""`lain logs`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions
from lain_cli.commands import completers


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("target", metavar="[PROC_OR_JOB]", required=False, shell_complete=completers.log_targets)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", type=int, default=None, metavar="N", help="Only the last N lines of each container.")
@click.option("--previous", is_flag=True, help="The previous (crashed) container instead of the current one.")
@click.option("--since", metavar="DURATION", help="Only lines newer than this (30s, 10m, 2h).")
@click.option("-c", "--container", metavar="NAME", help="Only this container (an init container works too).")
@click.pass_obj
def logs(
    opts: GlobalOptions,
    target: str | None,
    follow: bool,
    tail: int | None,
    previous: bool,
    since: str | None,
    container: str | None,
) -> int:
    """Print the logs of a proc's pods, a job, or one pod.

    Several pods are interleaved, each line prefixed with [pod/NAME/CONTAINER].
    A pod stuck in an init container shows that container's logs; --previous
    shows what a crash-looping container printed before it died.  Without
    PROC_OR_JOB: every pod of the app.  A job is named as under `jobs:` in
    values (`lain logs migration` for the starter's migration job, once it is
    uncommented).  `-f` follows, as kubectl logs -f does.

    \b
    Examples:
      lain logs web -f --tail 100
      lain logs web --since 10m
      lain logs web --previous    # why did it crash?
    """
    from lain_cli import context, outputs
    from lain_cli import logs as logs_module

    outputs.refuse_json(opts, "logs", "the containers' own lines")
    ctx = context.load_app_context(opts, need_image=False)
    return logs_module.show_logs(
        ctx, target, follow=follow, tail=tail, previous=previous, since=since, container=container
    )
