"""`lain build [--push]` and `lain push`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("--push", "and_push", is_flag=True, help="Also push the image to the cluster's registry.")
@click.option("--build-arg", "build_args", multiple=True, metavar="NAME[=VALUE]",
              help="A build argument (repeatable), on top of build.args in values. NAME alone takes the value "
              "from the environment: the way to pass a token, which is then never printed.")
@click.pass_obj
def build(opts: GlobalOptions, and_push: bool, build_args: tuple[str, ...]) -> int:
    """Build the app's image with docker, as `lain deploy --build` does.

    The image is <registry>/<appname>:<tag>: the cluster's registry, and the
    git short sha as tag (-dirty with uncommitted changes).  The repo's own
    Dockerfile is used when there is one; otherwise lain generates one from
    build in values, whose image runs as the unprivileged user 1001.  CI
    builds once (`lain build --push`), then deploys the same image to each
    cluster (`lain deploy`).  --json prints the image, the Dockerfile used
    and the build argument names.

    \b
    Examples:
      lain build
      lain build --push
      NPM_TOKEN=s3cret lain build --push --build-arg NPM_TOKEN
    """
    import os

    from lain_cli import build as images
    from lain_cli import console
    from lain_cli.context import load_app_context

    ctx = load_app_context(opts, need_cluster=and_push)
    args = images.build_args((ctx.values.get("build") or {}).get("args"), build_args, os.environ)
    built = images.build_app(ctx, args, push=and_push)
    if opts.json:
        console.out_json(built.as_dict())
    return 0


@click.command()
@click.pass_obj
def push(opts: GlobalOptions) -> int:
    """Push the image `lain build` made to the cluster's registry.

    The same image name as `lain build` and `lain deploy`: the cluster's
    registry, the git short sha as tag.

    \b
    Examples:
      lain push
      lain build && lain push
    """
    from lain_cli import build as images
    from lain_cli import console
    from lain_cli.context import load_app_context

    ctx = load_app_context(opts)
    image = images.push_app(ctx)
    if opts.json:
        console.out_json({"image": image, "pushed": True})
    return 0
