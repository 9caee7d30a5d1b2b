"""`lain rollback`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--revision", type=click.IntRange(min=1), metavar="N", help="Revision to go back to (see `lain history`).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Track the rollout until ready or failed.")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION", help="Limit for the rollout.")
@click.pass_obj
def rollback(opts: GlobalOptions, revision: int | None, wait: bool, timeout: str) -> int:
    """Roll back to the previous good revision (or --revision N) and track it.

    Without --revision: the newest revision before the current one that was
    deployed or superseded (never a failed or pending one).

    \b
    Example:
      lain rollback
      lain rollback --revision 2
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    options = flow.DeployOptions(
        timeout=flow.parse_duration(timeout), wait=wait, journal=flow.Journal() if opts.json else None
    )
    ctx = load_app_context(opts, need_image=False)
    return flow.reported(ctx, options.journal, lambda: flow.rollback(ctx, revision, options))
