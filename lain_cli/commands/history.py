"""`lain history`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.pass_obj
def history(opts: GlobalOptions) -> int:
    """List the release's revisions: time, status, rollout verdict, who, image per proc.

    ROLLOUT is lain's verdict on the revision: ready, failed, timed out, hook
    failed, helm failed, unconfirmed (interrupted) or not tracked (--no-wait).

    \b
    Example:
      lain history
      lain --json history | jq '.[0].images'
    """
    from lain_cli import console, release
    from lain_cli.context import load_app_context
    from lain_cli.deploy import image_sections
    from lain_cli.errors import OperationFailed
    from lain_cli.executors import Helm

    ctx = load_app_context(opts, need_image=False)
    cluster = ctx.require_cluster()
    revisions = Helm.for_cluster(cluster).history(ctx.release_name)
    if not revisions:
        raise OperationFailed(
            f"release {ctx.release_name} is not installed on {cluster.name}", hint="run `lain deploy`"
        )
    procs = [p for p, section in image_sections(ctx).items() if section in ("deployments", "statefulSets")]
    rows = release.history_rows(revisions, procs)
    if opts.json:
        console.out_json(rows)
    else:
        for line in release.format_history(rows):
            console.out(line)
    return 0
