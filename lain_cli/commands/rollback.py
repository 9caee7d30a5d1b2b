"""`lain rollback`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions
from lain_cli.commands.release_options import check_lock_flags, lock_options, tracking_options


@click.command()
@click.argument("revision_arg", metavar="[REVISION]", required=False, type=click.IntRange(min=1))
@click.option("--revision", type=click.IntRange(min=1), metavar="N", help="Revision to go back to (see `lain history`).")
@tracking_options
@lock_options
@click.pass_obj
def rollback(opts: GlobalOptions, revision_arg: int | None, revision: int | None, wait: bool, timeout: str,
             panel: bool, force_unlock: bool, even_if_alive: bool) -> int:
    """Roll back to the last revision that rolled out (or REVISION) and track it.

    Without a revision: the newest revision before the current one that helm
    recorded as deployed or superseded and whose rollout lain did not see fail
    (`lain history` shows each revision's rollout). The choice is printed.

    \b
    Example:
      lain rollback
      lain rollback 2
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    if revision_arg is not None and revision is not None and revision_arg != revision:
        raise click.UsageError(f"two revisions given: {revision_arg} and --revision {revision}")
    check_lock_flags(force_unlock, even_if_alive)
    options = flow.DeployOptions(
        timeout=flow.parse_duration(timeout), wait=wait, force_unlock=force_unlock, even_if_alive=even_if_alive,
        panel=panel, journal=flow.Journal() if opts.json else None,
    )
    ctx = load_app_context(opts, need_image=False)
    target = revision_arg if revision_arg is not None else revision
    return flow.reported(ctx, options.journal, lambda: flow.rollback(ctx, target, options))
