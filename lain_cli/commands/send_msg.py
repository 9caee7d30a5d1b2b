"""`lain send-msg`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command(name="send-msg")
@click.argument("message", nargs=-1, required=True)
@click.pass_obj
def send_msg(opts: GlobalOptions, message: tuple[str, ...]) -> int:
    """Post a message to the app's webhook.

    The webhook is the app's `webhook` in values, else the cluster's.

    Several words are joined with spaces.  Exit 1 when the webhook did not
    take the message (unlike deploy notices, the message is the whole point).

    \b
    Example:
      lain send-msg "migration needs a manual deploy: see #1234"
    """
    from lain_cli import console, notify
    from lain_cli.context import load_app_context
    from lain_cli.errors import OperationFailed, UsageError

    text = " ".join(message).strip()
    if not text:
        raise UsageError("the message is empty")
    ctx = load_app_context(opts, need_cluster=True, need_image=False, announce=False)
    cluster = ctx.require_cluster()
    hook = notify.webhook_for(ctx.values, cluster)
    if hook is None:
        raise UsageError(
            f"no webhook for {ctx.appname} on cluster {cluster.name}",
            hint="set webhook.url in chart/values.yaml or in the cluster file",
        )
    event = notify.Event(
        kind="message", app=ctx.appname, cluster=cluster.name, user=ctx.user, text=text
    )
    if not notify.send(hook, event):
        raise OperationFailed("the message was not delivered")
    if opts.json:
        console.out_json({"sent": True, "provider": hook.provider_name})
    console.success(f"sent to the {hook.provider_name} webhook")
    return 0
