"""`lain update-image`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command("update-image")
@click.argument("procs", nargs=-1, required=True, metavar="PROC...")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="e.g. --set imageTag=3f2a9c1 to pick the tag.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Track the rollout until ready or failed.")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION", help="Limit for hooks and for the rollout.")
@click.option("--force-unlock", is_flag=True, help="Recover a release left pending by a killed deploy first.")
@click.pass_obj
def update_image(
    opts: GlobalOptions, procs: tuple[str, ...], sets: tuple[str, ...], wait: bool, timeout: str, force_unlock: bool
) -> int:
    """Roll the new image to the named procs only; everything else stays as deployed.

    Goes through helm (a new revision with the deployed values, only these
    procs' images changed), then tracks the rollout like deploy.

    \b
    Example:
      lain update-image web
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    options = flow.DeployOptions(
        timeout=flow.parse_duration(timeout), wait=wait, force_unlock=force_unlock,
        journal=flow.Journal() if opts.json else None,
    )
    ctx = load_app_context(opts, sets=sets)
    return flow.reported(ctx, options.journal, lambda: flow.update_image(ctx, procs, options))
