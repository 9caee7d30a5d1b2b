"""`lain restart`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.argument("procs", nargs=-1, metavar="[PROC...]")
@click.option("--graceful", is_flag=True,
              help="Restart one pod at a time: delete it, wait until its replacement is ready, then the next.")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="Limit for the whole command: lock, restart and tracking.")
@click.pass_obj
def restart(opts: GlobalOptions, procs: tuple[str, ...], graceful: bool, timeout: str) -> int:
    """Restart the pods of PROCs (every deployment and statefulSet by default), tracked like a rollout.

    A rolling restart as `kubectl rollout restart` does it (the pod template's
    restartedAt annotation), under the release's lock; the next `lain deploy`
    keeps it and does not restart the pods again.  New pods that crash-loop,
    cannot pull or never turn ready fail the restart at once, with the reason,
    events and last log lines.

    Exit status: 0 every new pod ready, 1 failed or timed out, 2 unknown proc,
    130/143 interrupted.

    \b
    Example:
      lain restart                 # every proc
      lain restart web
      lain restart web --graceful  # one pod at a time
    """
    from lain_cli import deploy as flow
    from lain_cli import restart as flow_restart
    from lain_cli.context import load_app_context

    options = flow_restart.RestartOptions(timeout=flow.parse_duration(timeout), graceful=graceful,
                                          journal=flow.Journal() if opts.json else None)
    ctx = load_app_context(opts, need_image=False)
    return flow.reported(ctx, options.journal, lambda: flow_restart.restart(ctx, procs, options))
