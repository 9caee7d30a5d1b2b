"""`lain create-job`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command("create-job")
@click.argument("cronjob", metavar="CRONJOB")
@click.option("--timeout", default="30m", show_default=True, metavar="DURATION",
              help="Give up following the job after this long (lain exits 1; the job goes on).")
@click.option("--keep", is_flag=True, help="Keep the job also when lain is interrupted.")
@click.pass_obj
def create_job(opts: GlobalOptions, cronjob: str, timeout: str, keep: bool) -> int:
    """Run a cronjob of the app now, as `kubectl create job --from=cronjob/...` does.

    The job is the deployed CronJob's template; its logs are streamed to
    stdout and lain exits with its container's exit code.  It stays
    afterwards, as the cronjob's scheduled runs do; Ctrl-C or SIGTERM deletes
    it (unless --keep) and exits 130/143.

    \b
    Example:
      lain create-job nightly-report
    """
    from lain_cli import deploy as flow
    from lain_cli import jobrun
    from lain_cli.context import load_app_context

    options = jobrun.JobOptions(timeout=flow.parse_duration(timeout), keep=keep,
                                journal=flow.Journal() if opts.json else None)
    ctx = load_app_context(opts, need_image=False)
    return flow.reported(ctx, options.journal, lambda: jobrun.create_job(ctx, cronjob, options))
