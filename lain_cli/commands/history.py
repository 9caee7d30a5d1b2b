"""`lain history`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--max", "max_revisions", type=click.IntRange(min=1), default=256, show_default=True, metavar="N",
              help="Only the newest N revisions (as helm history --max).")
@click.pass_obj
def history(opts: GlobalOptions, max_revisions: int) -> int:
    """List the release's revisions: time, status, rollout verdict, who, image per proc.

    ROLLOUT is lain's verdict on the revision: ready, failed, timed out, hook
    failed, helm failed, unconfirmed (interrupted) or not tracked (--no-wait).

    \b
    Example:
      lain history
      lain history --max 5
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
    # rows read the whole history (a rollback row names what it went back to); --max trims the table
    rows = release.history_rows(revisions, procs)[:max_revisions]
    if opts.json:
        console.out_json(rows)
    else:
        for line in release.format_history(rows):
            console.out(line)
    return 0
