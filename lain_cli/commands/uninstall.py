"""`lain uninstall` (also `lain delete`)."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option("-y", "--yes", is_flag=True, help="Do not ask: uninstall as planned (CI). Without it lain asks on "
              "the terminal, and refuses when there is none.")
@click.option("--purge", is_flag=True, help="Also delete the <app>-env and <app>-secret Secrets and the "
              "volume claims that StatefulSets left (their data is lost).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until every object of the release is gone.")
@click.option("--timeout", default="5m", show_default=True, metavar="DURATION",
              help="Limit for the whole command: lock, helm uninstall and the wait.")
@click.pass_obj
def uninstall(opts: GlobalOptions, yes: bool, purge: bool, wait: bool, timeout: str) -> int:
    """Remove the app's release from the cluster, after a confirmation.

    Shows what goes and what stays, then asks (app, cluster and namespace
    named).  helm deletes the release's objects and history; lain deletes the
    hook jobs helm leaves behind and waits until every object is gone.  The
    app's env and secret files (`lain env`, `lain secret`) and the volume
    claims of StatefulSets are kept, and listed, unless --purge.  Claims the
    app declares under persistentVolumeClaims go with the release: the plan
    says so before you confirm.  A webhook notice tells the team.

    Exit status: 0 removed, 1 failed, not installed (nothing to do), not
    confirmed, or objects still there at --timeout; 2 usage error (also: no
    --yes and no terminal to ask on).

    \b
    Examples:
      lain uninstall --yes
      lain --json uninstall --yes --purge > removed.json   # also env, secret files and claims
    """
    import sys

    from lain_cli import console
    from lain_cli import deploy as flow
    from lain_cli import uninstall as flow_uninstall
    from lain_cli.context import load_app_context
    from lain_cli.errors import UsageError

    options = flow_uninstall.UninstallOptions(timeout=flow.parse_duration(timeout), purge=purge, wait=wait,
                                              journal=flow.Journal() if opts.json else None)
    ctx = load_app_context(opts, need_image=False)
    cluster = ctx.require_cluster()
    if not yes and not console.is_tty(sys.stdin):
        raise UsageError(
            f"lain uninstall asks before it removes app {ctx.appname} from cluster {cluster.name} "
            f"(namespace {ctx.namespace}), and there is no terminal to ask on",
            hint="pass --yes to uninstall without asking (CI)",
        )

    def confirm(plan: flow_uninstall.UninstallPlan) -> bool:
        if yes:
            return True
        data = f" AND DELETE THE DATA of {', '.join(plan.deletes_data)}" if plan.deletes_data else ""
        what = f"uninstall {plan.release}" if plan.installed else f"remove the leftovers of {plan.release}"
        return click.confirm(f"{what} from cluster {plan.cluster}, namespace {plan.namespace}{data}?",
                             default=False, err=True)

    return flow.reported(ctx, options.journal, lambda: flow_uninstall.uninstall(ctx, options, confirm))
