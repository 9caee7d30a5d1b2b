"""`lain lint`."""

from __future__ import annotations

import click

from lain_cli.cli import GlobalOptions


@click.command()
@click.option(
    "--kube-version",
    metavar="X.Y",
    help="Validate against this Kubernetes version's schemas (default: 1.30, the oldest lain supports).",
)
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a value, as deploy --set does (repeatable).")
@click.pass_obj
def lint(opts: GlobalOptions, kube_version: str | None, sets: tuple[str, ...]) -> int:
    """Validate values and the rendered manifests; no cluster needed.

    Checks the values against lain's schema, renders the chart with the real
    helm template, validates every object against the Kubernetes OpenAPI
    schemas (unknown fields are errors), then runs helm lint.  Exit 2 when
    anything is wrong.

    \b
    Example:
      lain lint
      lain -f chart/values-prod.yaml lint --kube-version 1.32
    """
    from lain_cli import console
    from lain_cli import lint as linting
    from lain_cli.context import load_app_context

    ctx = load_app_context(opts, sets=sets, need_cluster=False, need_image=False)
    files = ", ".join(str(f) for f in getattr(ctx, "value_files", ())) or "values"
    console.success(f"values: {files}")
    report = linting.lint_app(ctx, kube_version=kube_version)
    if not report.ok:
        from dataclasses import replace

        from lain_cli import context, values

        layers = context.collect_layers(ctx.chart_dir, ctx.cluster, opts.values_files, sets)
        origins = values.Origins(layers)
        raise replace(report, problems=linting.locate(report.problems, origins.locate)).error()
    console.success(
        f"{report.objects} objects valid against Kubernetes {report.schema_version} schemas; helm lint clean"
    )
    return 0
