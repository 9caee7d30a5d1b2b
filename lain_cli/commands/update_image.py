"""`lain update-image`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions
from lain_cli.commands import completers
from lain_cli.commands.release_options import check_lock_flags, lock_options, tracking_options


@click.command("update-image")
@click.argument("procs", nargs=-1, required=True, metavar="PROC...", shell_complete=completers.image_targets)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="e.g. --set imageTag=3f2a9c1 to pick the tag.")
@tracking_options
@lock_options
@click.pass_obj
def update_image(
    opts: GlobalOptions, procs: tuple[str, ...], sets: tuple[str, ...], wait: bool, timeout: str, panel: bool,
    force_unlock: bool, even_if_alive: bool,
) -> int:
    """Roll the new image to the named procs only; everything else stays as deployed.

    Goes through helm (a new revision with the deployed values, only these
    procs' images changed), then tracks the rollout like deploy, with the
    same exit status.

    \b
    Example:
      lain update-image web
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    check_lock_flags(force_unlock, even_if_alive)
    options = flow.DeployOptions(
        timeout=flow.parse_duration(timeout), wait=wait, force_unlock=force_unlock, even_if_alive=even_if_alive,
        panel=panel, journal=flow.Journal() if opts.json else None,
    )
    ctx = load_app_context(opts, sets=sets)
    return flow.reported(ctx, options.journal, lambda: flow.update_image(ctx, procs, options))
