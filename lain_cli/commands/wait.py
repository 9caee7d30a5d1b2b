"""`lain wait`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION", help="Give up after this long.")
@click.pass_obj
def wait(opts: GlobalOptions, timeout: str) -> int:
    """Wait until every pod of the app is running and ready (jobs complete).

    Exits 1 at once when a pod fails past its tolerance, or on timeout,
    naming what is not ready and why.

    \b
    Example:
      lain wait --timeout 2m
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    seconds = flow.parse_duration(timeout)
    ctx = load_app_context(opts, need_image=False)
    journal = flow.Journal() if opts.json else None
    return flow.reported(ctx, journal, lambda: flow.wait(ctx, seconds, journal=journal))
