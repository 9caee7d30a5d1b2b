"""`lain init`."""

from __future__ import annotations

from pathlib import Path

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--appname", metavar="NAME", help="The app's name (default: the directory name, sanitised).")
@click.option("--force", is_flag=True, help="Overwrite an existing chart/values.yaml.")
@click.pass_obj
def init(opts: GlobalOptions, appname: str | None, force: bool) -> int:
    """Create a commented starter chart/values.yaml and .gitignore entries.

    The starter declares a web proc and its ingress and a build: section (how
    `lain deploy --build` makes the image without a Dockerfile), with a
    migration job, a cronjob and a test as commented examples.  An existing chart/values.yaml
    is kept unless --force is given.

    \b
    Example:
      lain init --appname dummy
    """
    from lain_cli import console, scaffold

    written = scaffold.init_app(Path.cwd(), appname=appname, force=force)
    if opts.json:
        console.out_json({"written": written})
    for path in written:
        console.success(f"wrote {path}")
    console.info("next: edit chart/values.yaml, then lain use <cluster> and lain deploy --build")
    return 0
