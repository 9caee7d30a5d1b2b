"""The ``--json`` documents of the commands that have no bigger module of their own.

One global ``--json`` serves every command with structured output: lint (a
list of findings), template (the rendered objects), init, use, send-msg and the
env/secret changes (keys, never values).  Commands whose output is a stream
of someone else's text (logs, x, completion) refuse ``--json`` with a usage
error instead of ignoring it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lain_cli.errors import UsageError

if TYPE_CHECKING:
    from lain_cli.cli import GlobalOptions
    from lain_cli.envsecret import KeyChange, Purpose
    from lain_cli.findings import Finding
    from lain_cli.lint import LintReport, Problem


def refuse_json(opts: GlobalOptions, command: str, prints: str) -> None:
    """A usage error when ``--json`` is given to a command without structured output."""
    if opts.json:
        raise UsageError(f"lain {command} has no --json output: it prints {prints}",
                         hint="run it without --json")


def findings_of_lint(problems: Sequence[Problem], helm_messages: Sequence[str]) -> list[Finding]:
    """lint's object problems and helm lint's messages as findings."""
    from lain_cli.findings import Finding

    found = []
    for problem in problems:
        file, line = None, None
        if problem.origin:
            file, _, number = problem.origin.rpartition(":")
            if number.isdigit():
                line = int(number)
            else:
                file = problem.origin
        found.append(Finding(problem.message, file=file, line=line, key=problem.values_key,
                             object=problem.where, field=problem.path or None))
    found += [Finding(message, object="helm lint") for message in helm_messages]
    return found


def lint_document(warnings: Iterable[Finding], report: LintReport | None = None,
                  errors: Iterable[Finding] = ()) -> list[dict[str, Any]]:
    """``lain lint --json``: every finding, errors first; an empty list means clean."""
    found = list(errors)
    if report is not None:
        found += findings_of_lint(report.problems, report.helm_messages)
    return [f.as_dict() for f in [*found, *warnings]]


def rendered_objects(rendered: str) -> list[dict[str, Any]]:
    """``lain template --json``: the rendered objects, in render order."""
    from lain_cli import helm

    return [manifest.body for manifest in helm.parse_manifests(rendered)]


def change_document(secret: str, change: KeyChange) -> dict[str, Any]:
    """What an env/secret command changed: key names only, never values."""
    return {"secret": secret, "added": list(change.added), "removed": list(change.removed),
            "changed": list(change.changed)}


def report_change(opts: GlobalOptions, ctx: Any, purpose: Purpose, change: KeyChange) -> int:
    """envsecret's report of an env/secret change (lines, webhook notice), and its JSON with --json."""
    from lain_cli import console, envsecret

    code = envsecret.report_change(ctx, purpose, change)
    if opts.json:
        console.out_json(change_document(envsecret.secret_name(ctx.appname, purpose), change))
    return code


def secret_file_document(name: str, content: bytes) -> dict[str, Any]:
    """``lain secret show NAME --json``: the file's content, as text when it is UTF-8, else base64."""
    import base64

    try:
        return {"name": name, "size": len(content), "encoding": "utf-8", "content": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"name": name, "size": len(content), "encoding": "base64",
                "content": base64.b64encode(content).decode("ascii")}
