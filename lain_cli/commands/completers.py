"""click ``shell_complete`` callbacks for lain's arguments (see :mod:`lain_cli.completions`).

Each reads the global options already typed (``--cluster``, ``-f``) from the
root context, so ``lain -f chart/values-dev.yaml logs <TAB>`` offers the jobs
that file adds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

Completer = Callable[[click.Context, click.Parameter, str], list[str]]


def _typed(ctx: click.Context) -> tuple[Sequence[str], str | None]:
    params = ctx.find_root().params
    return tuple(params.get("values_files") or ()), params.get("cluster")


def names_in(*sections: str) -> Completer:
    """A completer offering the names under ``sections`` of the app's values."""

    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
        from lain_cli import completions

        values_files, cluster = _typed(ctx)
        return completions.workload_names(sections, incomplete, values_files=values_files, cluster=cluster)

    return complete


def clusters(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    from lain_cli import completions

    return completions.cluster_names(incomplete)


procs = names_in("deployments", "statefulSets")
jobs = names_in("jobs")
cronjobs = names_in("cronjobs")
log_targets = names_in("deployments", "statefulSets", "jobs", "cronjobs", "tests")
image_targets = names_in("deployments", "statefulSets", "jobs", "cronjobs")
