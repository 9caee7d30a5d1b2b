"""`lain use [CLUSTER]`."""

from __future__ import annotations

from typing import Any

import click

from lain_cli.cli import GlobalOptions
from lain_cli.commands import completers


@click.command()
@click.argument("name", required=False, metavar="[CLUSTER]", shell_complete=completers.clusters)
@click.pass_obj
def use(opts: GlobalOptions, name: str | None) -> int:
    """Select the cluster later commands act on, or list the clusters.

    With CLUSTER, checks its file and records it as the current cluster
    (in ~/.config/lain/current).  A cluster file without `context:` gets
    kubectl's current context pinned: lain stays on it, and warns, when
    kubectl's current context changes later.  Without, lists every cluster file found in
    $LAIN_CLUSTERS_DIR, chart/clusters/ and ~/.config/lain/clusters/, marking
    the current one.  $LAIN_CLUSTER or --cluster override the choice for one
    command.

    \b
    Example:
      lain use prod
      lain use            # list clusters; * marks the current one
    """
    from lain_cli import clusters, console, kubecontext

    if name:
        cluster = clusters.use(name)
        if opts.json:
            console.out_json({"cluster": cluster.name, "namespace": cluster.namespace,
                              "context": cluster.context, "contextSource": cluster.context_source or None,
                              "file": cluster.source})
        where = f", context {cluster.context}" if cluster.context else ""
        console.success(f"using cluster {cluster.name} (namespace {cluster.namespace}{where}) from {cluster.source}")
        if cluster.context_source == kubecontext.FROM_PIN:
            console.info(f"context {cluster.context} is pinned: lain stays on it when kubectl's current context "
                         f"changes (run `lain use {name}` again to pin the new one)")
        elif not cluster.context:
            console.warn(f"no kube context to pin: the kubeconfig has no current context and {cluster.source} "
                         "sets no context:, so lain follows kubectl's current context")
        override, source = clusters.selected_name()
        if source == "$LAIN_CLUSTER" and override != name:
            console.warn(f"$LAIN_CLUSTER={override} is set and overrides this choice in this shell")
        return 0
    return _list_clusters(opts)


def _list_clusters(opts: GlobalOptions) -> int:
    from lain_cli import clusters, console
    from lain_cli.errors import LainError
    from lain_cli.values import display_path

    current, source = clusters.selected_name()
    rows: list[dict[str, Any]] = []
    for entry in clusters.list_clusters():
        try:
            namespace = clusters.load(entry).namespace
            problem = ""
        except LainError as exc:
            namespace, problem = "", exc.message
        rows.append({
            "name": entry.name,
            "current": entry.name == current,
            "namespace": namespace,
            "file": display_path(entry.path),
            "origin": entry.origin,
            "error": problem,
        })
    if opts.json:
        console.out_json({"current": current, "selectedBy": source or None, "clusters": rows})
        return 0
    if not rows:
        dirs = ", ".join(str(d) for d, _ in clusters.search_dirs())
        console.warn("no clusters found")
        console.info(f"create <name>.yaml with at least `namespace:` in one of: {dirs}")
        return 0
    width = max(len(r["name"]) for r in rows)
    ns_width = max(len(r["namespace"] or "-") for r in rows)
    for row in rows:
        mark = "*" if row["current"] else " "
        line = f"{mark} {row['name'].ljust(width)}  {(row['namespace'] or '-').ljust(ns_width)}  {row['file']}"
        if row["error"]:
            line += f"  (invalid: {row['error']})"
        console.out(line)
    if current and not any(r["current"] for r in rows):
        console.warn(f"the current cluster {current} (from {source}) has no cluster file")
    elif current and source == "$LAIN_CLUSTER":
        console.info(f"current cluster chosen by $LAIN_CLUSTER={current}")
    elif not current:
        console.info("no cluster selected; run lain use <cluster>")
    return 0
