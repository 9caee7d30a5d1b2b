"""`lain deploy`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--build", is_flag=True, help="docker build and push the image (tag: git short sha) first.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value (repeatable), e.g. --set imageTag=3f2a9c1.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Track the rollout until ready or failed.")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION", help="Limit for hooks and for the rollout.")
@click.option("--rollback-on-failure", is_flag=True, help="If the rollout fails, roll back to the previous good revision.")
@click.option("--force-unlock", is_flag=True, help="Recover a release left pending by a killed deploy, then deploy.")
@click.pass_obj
def deploy(
    opts: GlobalOptions,
    build: bool,
    sets: tuple[str, ...],
    wait: bool,
    timeout: str,
    rollback_on_failure: bool,
    force_unlock: bool,
) -> int:
    """Release the app: migrations, helm upgrade --install, then track the rollout.

    Hook jobs (migrations) stream their logs; a failed hook or a broken pod
    stops the deploy at once with the reason, events and last log lines.

    \b
    Example:
      lain deploy --build
      lain deploy --set imageTag=3f2a9c1 --rollback-on-failure
      lain --json deploy > result.json   # CI: progress on stderr, the outcome as JSON
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    options = flow.DeployOptions(
        timeout=flow.parse_duration(timeout),
        wait=wait,
        build=build,
        force_unlock=force_unlock,
        rollback_on_failure=rollback_on_failure,
        journal=flow.Journal() if opts.json else None,
    )
    ctx = load_app_context(opts, sets=sets)
    return flow.reported(ctx, options.journal, lambda: flow.deploy(ctx, options))
