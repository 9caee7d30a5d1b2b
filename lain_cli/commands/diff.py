"""`lain diff`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value, as deploy --set does (repeatable).")
@click.pass_obj
def diff(opts: GlobalOptions, sets: tuple[str, ...]) -> int:
    """Show what a deploy would change, resource by resource (Secret data masked).

    Exit status: 0 no change, 2 changes, 1 error.  Works before the first
    commit (the image tag is then the placeholder `uncommitted`).

    \b
    Example:
      lain diff && echo "nothing to deploy"
    """
    from lain_cli import chart, console, takeover
    from lain_cli import diff as differ
    from lain_cli.context import load_app_context
    from lain_cli.executors import Helm

    ctx = load_app_context(opts, sets=sets, placeholder_tag=True)
    rendered = differ.parse_objects(chart.render_app(ctx, values=takeover.chart_values(ctx, preview=True)))
    helm = Helm.for_cluster(ctx.require_cluster())
    history = helm.history(ctx.release_name)
    deployed = differ.deployed_objects(helm, ctx.release_name) if history else []
    changes = differ.diff_objects(deployed, rendered)
    if opts.json:
        console.out_json(differ.as_json(changes))
    else:
        for line in differ.lines(changes):
            console.out(line)
        if not history:
            console.info(f"release {ctx.release_name} is not installed yet: everything is new")
        console.info(differ.summary(changes) if changes else "no changes")
    return 2 if changes else 0
