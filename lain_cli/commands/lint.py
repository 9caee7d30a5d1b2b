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
    anything is wrong.  With --json, every problem and warning as a JSON list
    on stdout (empty when clean).  Works before the first commit (the image
    tag is then the placeholder `uncommitted`).

    \b
    Examples:
      lain lint
      lain lint --kube-version 1.32 --set deployments.web.replicaCount=3
      lain lint --json | jq '.[].message'
    """
    from dataclasses import replace

    from lain_cli import console, context, outputs, values
    from lain_cli import lint as linting
    from lain_cli.errors import ConfigError

    try:
        ctx = context.load_app_context(opts, sets=sets, need_cluster=False, need_image=False, placeholder_tag=True)
    except ConfigError as exc:
        if not opts.json:
            raise
        console.out_json(outputs.lint_document((), errors=exc.findings))
        raise ConfigError(exc.message, hint="the problems are in the JSON document on stdout") from None
    files = ", ".join(str(f) for f in ctx.value_files) or "values"
    console.success(f"values: {files}")
    report = linting.lint_app(ctx, kube_version=kube_version)
    if not report.ok:
        layers = context.collect_layers(ctx.chart_dir, ctx.cluster, opts.values_files, sets)
        report = replace(report, problems=linting.locate(report.problems, values.Origins(layers).locate))
    if opts.json:
        console.out_json(outputs.lint_document(ctx.warnings, report))
    if not report.ok:
        raise report.error()
    console.success(
        f"{report.objects} objects valid against Kubernetes {report.schema_version} schemas; helm lint clean"
    )
    return 0
