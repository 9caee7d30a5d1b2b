"""`lain status`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("-s", "--short", is_flag=True, help="Print once, briefly, with the log links (no live panel).")
@click.option("--watch/--once", "live", default=None,
              help="Live panel (default on a terminal) or one report (default otherwise).")
@click.option("--test", "run_tests", is_flag=True, help="Also run the app's tests (helm test) and count them.")
@click.option("--exit-code", is_flag=True,
              help="Exit with the verdict: 0 GREEN, 1 RED or NOT DEPLOYED, 3 PROGRESSING (the panel: when you quit).")
@click.option("--grace", metavar="DURATION",
              help="How long a pod may be unschedulable, not ready or failing to pull before it is RED, "
                   "e.g. 90s (default: the tracker's tolerances, e.g. readiness from the probes).")
@click.pass_obj
def status(
    opts: GlobalOptions,
    short: bool,
    live: bool | None,
    run_tests: bool,
    exit_code: bool,
    grace: str | None,
) -> int:
    """The green light: pods, error logs, endpoints, tests; live on a terminal.

    GREEN means no abnormal container, no error line in the last 10 minutes of
    logs (values: errorLogPattern), every ingress endpoint answering below
    HTTP 500, and passing tests when --test is given.  On a terminal the panel
    stays open and follows the cluster (q to quit); without one, or with -s,
    one report is printed.

    \b
    Examples:
      lain status                  # the live panel
      lain status -s               # one report with the log links
      lain --json status --exit-code | jq .verdict
    """
    from lain_cli import console, context, panel
    from lain_cli import status as status_module

    ctx = context.load_app_context(opts, need_image=False)
    from lain_cli.durations import parse_duration

    seconds = None if grace is None else parse_duration(grace, "--grace", allow_zero=True)
    tolerances = status_module.status_tolerances(seconds)
    as_json = opts.json
    if live is None:
        live = console.interactive() and not short and not as_json
    if live and not as_json and not short:
        return panel.run_live(ctx, exit_code=exit_code, run_tests=run_tests, tolerances=tolerances)
    report = status_module.collect(ctx, run_tests=run_tests, tolerances=tolerances)
    if as_json:
        panel.print_json(report)
    else:
        panel.print_summary(report)
    return report.exit_code if exit_code else 0
