"""`lain template`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write one file per object (DIR/<kind>-<name>.yaml) instead of printing.",
)
@click.option(
    "--kube-version",
    metavar="X.Y",
    help="Kubernetes version for the chart's capabilities (default: 1.30).",
)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value, as deploy --set does (repeatable).")
@click.pass_obj
def template(opts: GlobalOptions, output: str | None, kube_version: str | None, sets: tuple[str, ...]) -> int:
    """Render the manifests exactly as deploy would, with the real helm template.

    Needs no cluster connection.  With a cluster selected (`lain use`,
    --cluster) its domain, registry and namespace are used; with none, a
    generic render.  With --json, the rendered objects as a JSON list.  Works
    before the first commit (the image tag is then the placeholder
    `uncommitted`).

    \b
    Examples:
      lain template | less
      lain template --output .lain/manifests
      lain template --json | jq '.[].kind'
    """
    from pathlib import Path

    from lain_cli import chart, console, outputs
    from lain_cli.context import load_app_context

    ctx = load_app_context(opts, sets=sets, need_cluster=False, placeholder_tag=True)
    if getattr(ctx, "cluster", None) is None:
        console.info("no cluster selected: a generic render (no domain or registry); see `lain use`")
    rendered = chart.render_app(ctx, kube_version=kube_version)
    if output is None:
        if opts.json:
            console.out_json(outputs.rendered_objects(rendered))
        else:
            console.out(rendered.rstrip("\n"))
        return 0
    written = chart.write_manifests(rendered, Path(output))
    if opts.json:
        console.out_json([str(path) for path in written])
    console.success(f"wrote {len(written)} objects to {output}")
    return 0
