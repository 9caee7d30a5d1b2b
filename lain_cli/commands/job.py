"""`lain job`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.argument("command", nargs=-1, required=True, metavar="-- CMD...", type=click.UNPROCESSED)
@click.option("--proc", "proc_name", default="web", show_default=True, metavar="PROC",
              help="The deployment or statefulSet whose image, env, secret files, volumes and resources the job gets.")
@click.option("--image-tag", metavar="TAG", help="Run this tag of the app's image (default: the proc's deployed image).")
@click.option("--timeout", default="30m", show_default=True, metavar="DURATION",
              help="Limit for the whole job (also its activeDeadlineSeconds); then it is stopped and lain exits 1.")
@click.option("--keep", is_flag=True, help="Keep the finished (or interrupted) job and its pod, for a day.")
@click.pass_obj
def job(opts: GlobalOptions, command: tuple[str, ...], proc_name: str, image_tag: str | None, timeout: str,
        keep: bool) -> int:
    """Run CMD in a one-off Kubernetes Job modelled on a proc; lain exits with CMD's exit code.

    The job's pod is the proc's (image, env and the env Secret, secret files,
    volumes, resources), with CMD as its command, no retries (backoffLimit 0).
    Its logs are streamed to stdout (stderr with --json); lain's own lines go
    to stderr.  The job is deleted when it ends unless --keep; Ctrl-C or
    SIGTERM deletes it too and exits 130/143.

    Exit status: CMD's exit code; 1 when it could not run (image not found,
    unschedulable, timeout); 2 usage error.

    \b
    Example:
      lain job -- alembic upgrade heads
      lain job --image-tag 3f2a9c1 -- python -m app.fix_orders --dry-run
      lain job -- sh -c 'echo $DATABASE_URL | cut -d@ -f2'
    """
    from lain_cli import deploy as flow
    from lain_cli import jobrun
    from lain_cli.context import load_app_context

    options = jobrun.JobOptions(timeout=flow.parse_duration(timeout), keep=keep,
                                journal=flow.Journal() if opts.json else None)
    ctx = load_app_context(opts, need_image=False)
    return flow.reported(ctx, options.journal, lambda: jobrun.run_job(
        ctx, command, options, proc=proc_name, image_tag=image_tag))
