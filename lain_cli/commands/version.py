"""`lain version`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--client", is_flag=True, help="Only local versions; do not contact the cluster.")
@click.pass_obj
def version(opts: GlobalOptions, client: bool) -> int:
    """Show lain, helm, kubectl and cluster versions.

    Warns about versions lain does not support.  Exits 1 when the cluster
    cannot be reached (0 with --client, which does not ask it).

    \b
    Example:
      lain version --client
    """
    from lain_cli import console, versions

    report = versions.collect(opts, include_cluster=not client)
    if opts.json:
        console.out_json(report.as_dict())
    else:
        for line in report.lines():
            console.out(line)
        for warning in report.warnings:
            console.warn(warning)
    return report.exit_code
