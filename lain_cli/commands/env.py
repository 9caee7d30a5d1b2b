"""`lain env`: the app's environment variables, kept in the Secret <appname>-env."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.group()
def env() -> None:
    """Show and change the app's environment variables (Secret <appname>-env).

    Only secrets belong here: non-secret config goes in chart/values.yaml
    (`env:`), where it is reviewed.  Every change posts a notice listing the
    keys added, removed and changed (never values) to the app's webhook.

    \b
    Example:
      lain env show --keys
      lain env add DATABASE_URL=postgres://app@db/app
      lain env edit
    """


@env.command()
@click.option(
    "--keys", "keys_only", is_flag=True, help="Only the variable names, not their values."
)
@click.pass_obj
def show(opts: GlobalOptions, keys_only: bool) -> int:
    """Print the variables as KEY: value YAML, sorted (values included).

    \b
    Example:
      lain env show
      lain env show --keys
    """
    from lain_cli import console, envsecret
    from lain_cli.context import load_app_context

    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    if keys_only:
        keys = envsecret.read_env_keys(ctx)
        if opts.json:
            console.out_json(keys)
        else:
            for key in keys:
                console.out(key)
        return 0
    values = envsecret.read_env(ctx)
    if opts.json:
        console.out_json(dict(sorted(values.items())))
    elif values:
        console.out(envsecret.render_env_yaml(values).rstrip("\n"))
    else:
        console.info(f"no variables in Secret {envsecret.env_secret_name(ctx.appname)}")
    return 0


@env.command()
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.pass_obj
def add(opts: GlobalOptions, assignments: tuple[str, ...]) -> int:
    """Set variables (add new ones, change existing ones).

    \b
    Example:
      lain env add SENTRY_DSN=https://key@sentry.example.com/1 FEATURE_X=on
    """
    from lain_cli import envsecret, outputs
    from lain_cli.context import load_app_context

    parsed = envsecret.parse_assignments(assignments)
    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    return outputs.report_change(opts, ctx, "env", envsecret.add_env(ctx, parsed))


@env.command()
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@click.pass_obj
def delete(opts: GlobalOptions, keys: tuple[str, ...]) -> int:
    """Remove variables.

    \b
    Example:
      lain env delete FEATURE_X
    """
    from lain_cli import envsecret, outputs
    from lain_cli.context import load_app_context

    for key in keys:
        envsecret.validate_env_key(key)
    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    return outputs.report_change(opts, ctx, "env", envsecret.delete_env(ctx, list(keys)))


@env.command()
@click.pass_obj
def edit(opts: GlobalOptions) -> int:
    """Edit all variables as YAML in $VISUAL / $EDITOR (default vi).

    The temporary file is private (0600) and removed afterwards.  Invalid
    YAML reopens the editor on a terminal; without one, the file is kept and
    its path printed.  Leaving the file unchanged changes nothing.

    \b
    Example:
      EDITOR=vim lain env edit
    """
    from lain_cli import console, envsecret, outputs
    from lain_cli.context import load_app_context

    ctx = load_app_context(opts, need_cluster=True, need_image=False)
    return outputs.report_change(opts, ctx, "env", envsecret.edit_env(ctx, interactive=console.interactive()))
