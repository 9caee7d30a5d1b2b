"""`lain secret`: the app's secret files, kept in the Secret <appname>-secret."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.group()
def secret() -> None:
    """Show and change the app's secret files (Secret <appname>-secret).

    The files are mounted into every container at secretMountPath from values
    (default /lain/secrets/).  Every change posts a notice listing the files
    added, removed and changed (never their content) to the app's webhook.

    \b
    Example:
      lain secret add topsecret.txt
      lain secret show
      lain secret edit topsecret.txt
    """


@secret.command()
@click.argument("name", required=False)
@click.pass_obj
def show(opts: GlobalOptions, name: str | None) -> int:
    """List the files with their sizes, or print one file's content.

    \b
    Example:
      lain secret show
      lain secret show topsecret.txt > /tmp/topsecret.txt
    """
    import sys

    from lain_cli import console, envsecret, outputs
    from lain_cli.context import load_app_context
    from lain_cli.errors import UsageError

    if name is not None:
        envsecret.validate_file_name(name)
    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    files = envsecret.read_secret_files_stored(ctx)
    secret_name = envsecret.files_secret_name(ctx.appname)
    if name is not None:
        if name not in files:
            known = ", ".join(sorted(files)) or "none"
            raise UsageError(f"no secret file {name} in Secret {secret_name} (files: {known})")
        if opts.json:
            console.out_json(outputs.secret_file_document(name, files[name]))
            return 0
        sys.stdout.buffer.write(files[name])
        sys.stdout.buffer.flush()
        return 0
    mount = envsecret.mount_path(getattr(ctx, "values", None)).rstrip("/")
    if opts.json:
        console.out_json(
            [{"name": k, "size": len(v), "path": f"{mount}/{k}"} for k, v in sorted(files.items())]
        )
        return 0
    if not files:
        console.info(f"no files in Secret {secret_name}")
        return 0
    width = max(len(k) for k in files)
    for key in sorted(files):
        console.out(f"{key.ljust(width)}  {len(files[key]):>8} bytes  {mount}/{key}")
    return 0


@secret.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.pass_obj
def add(opts: GlobalOptions, files: tuple[str, ...]) -> int:
    """Add or replace files, each stored under its base name.

    \b
    Example:
      lain secret add topsecret.txt
    """
    from lain_cli import envsecret, outputs
    from lain_cli.context import load_app_context

    contents = envsecret.read_secret_files(list(files))
    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    return outputs.report_change(opts, ctx, "secret", envsecret.add_secret_files(ctx, contents))


@secret.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.pass_obj
def delete(opts: GlobalOptions, names: tuple[str, ...]) -> int:
    """Remove files.

    \b
    Example:
      lain secret delete topsecret.txt
    """
    from lain_cli import envsecret, outputs
    from lain_cli.context import load_app_context

    for name in names:
        envsecret.validate_file_name(name)
    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    return outputs.report_change(opts, ctx, "secret", envsecret.delete_secret_files(ctx, list(names)))


@secret.command()
@click.argument("name")
@click.pass_obj
def edit(opts: GlobalOptions, name: str) -> int:
    """Edit one file in $VISUAL / $EDITOR (a new NAME starts empty).

    The temporary file is private (0600) and removed afterwards; leaving it
    unchanged changes nothing.

    \b
    Example:
      lain secret edit topsecret.txt
    """
    from lain_cli import console, envsecret, outputs
    from lain_cli.context import load_app_context

    envsecret.validate_file_name(name)
    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    change = envsecret.edit_secret_file(ctx, name, interactive=console.interactive())
    return outputs.report_change(opts, ctx, "secret", change)
