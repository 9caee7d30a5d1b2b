"""`lain deploy`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions
from lain_cli.commands.release_options import (
    check_dry_run_flags,
    check_lock_flags,
    lock_options,
    tracking_options,
)


@click.command()
@click.option("--build", is_flag=True, help="docker build and push the image (tag: git short sha) first.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value (repeatable), e.g. --set imageTag=3f2a9c1.")
@click.option("--dry-run", is_flag=True,
              help="Change nothing: helm's and the API server's dry run of the upgrade, then the diff. "
              "Exit 0 no change, 2 changes, 1 refused or failed (as lain diff).")
@tracking_options
@click.option("--rollback-on-failure", is_flag=True, help="If the rollout fails, roll back to the last revision that rolled out.")
@lock_options
@click.pass_obj
def deploy(
    opts: GlobalOptions,
    build: bool,
    sets: tuple[str, ...],
    dry_run: bool,
    wait: bool,
    timeout: str,
    panel: bool,
    rollback_on_failure: bool,
    force_unlock: bool,
    even_if_alive: bool,
) -> int:
    """Release the app: migrations, helm upgrade --install, then track the rollout.

    Hook jobs (migrations) stream their logs; a failed hook or a broken pod
    stops the deploy at once with the reason, events and last log lines.
    The verdict is kept with the revision (`lain history` shows it).

    Exit status: 0 rolled out and green, 1 failed (or RED), 2 usage error,
    130/143/129 interrupted (Ctrl-C, SIGTERM, SIGHUP). On a terminal the live
    panel opens once the outcome is known: press q to leave it; use
    --no-panel in `lain deploy && next-step`.

    --dry-run changes nothing (no lock, revision, hook or notice): helm
    upgrade --dry-run=server, the API server's own dry run of every object
    (invalid objects and immutable fields are refused there), then the diff
    as `lain diff` prints it.  Its exit status is lain diff's: 0 no change,
    2 changes, 1 refused or failed.

    \b
    Example:
      lain deploy --build
      lain deploy --set imageTag=3f2a9c1 --rollback-on-failure
      lain deploy --dry-run              # what would change, checked by the server
      lain --json deploy > result.json   # CI: progress on stderr, the outcome as JSON
    """
    from lain_cli import deploy as flow
    from lain_cli.context import load_app_context

    check_lock_flags(force_unlock, even_if_alive)
    if dry_run:
        check_dry_run_flags(build=build, force_unlock=force_unlock, rollback_on_failure=rollback_on_failure)
    options = flow.DeployOptions(
        timeout=flow.parse_duration(timeout),
        wait=wait,
        build=build,
        force_unlock=force_unlock,
        even_if_alive=even_if_alive,
        rollback_on_failure=rollback_on_failure,
        panel=panel,
        journal=flow.Journal() if opts.json else None,
    )
    ctx = load_app_context(opts, sets=sets)
    if dry_run:
        from lain_cli import dry_run as dry

        return dry.run(ctx, options)
    return flow.reported(ctx, options.journal, lambda: flow.deploy(ctx, options))
