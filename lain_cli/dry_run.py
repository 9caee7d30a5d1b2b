"""``lain deploy --dry-run``: what a deploy would do, checked by helm and by the
API server, with nothing changed.

In order: the values (the command's context), the plan a deploy would make
(:func:`lain_cli.release_plan.plan_deploy`: description, images, values), helm's
own dry run of the upgrade (``helm upgrade --install --dry-run=server``: it
renders with the cluster's lookups, reads the history and refuses objects that
another release owns, and records nothing), then the API server's dry run of
every object helm would write, then the diff against the deployed revision (as
``lain diff`` prints it, Secret data masked).

helm's ``--dry-run=server`` never sends the objects themselves to the API
server, so lain does: the release's objects as helm's server-side apply
(``dryRun=All``), its hook objects as the creates helm would make.  The server
validates them, runs admission and checks immutable fields, and stores nothing:
an invalid object or a change the server would refuse fails the dry run with
the server's own message.

No lock is taken, no revision is recorded, no hook runs, no webhook notice is
sent.  The exit status is ``lain diff``'s: 0 no change, 2 changes, 1 refused or
failed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lain_cli import diff, release, release_plan
from lain_cli import events as ev
from lain_cli.context import AppContext
from lain_cli.deploy import DeployOptions, Tools
from lain_cli.diff import ResourceDiff
from lain_cli.errors import EXIT_FAILED, EXIT_OK, LainError, OperationFailed
from lain_cli.interrupts import as_interrupted
from lain_cli.release_plan import ReleasePlan
from lain_cli.reporters import Journal, TerminalReporter

EXIT_CHANGES = 2  # as `lain diff` (and `helm diff --detailed-exitcode`)

# The hook events a helm upgrade --install runs, for a first install and for an upgrade.
_HOOK_EVENTS = {True: ("pre-install", "post-install"), False: ("pre-upgrade", "post-upgrade")}
_QUOTED_NAME = re.compile(r'"([^"]+)" already exists')


@dataclass(frozen=True)
class Refusal:
    """One object the API server (or helm) would not accept."""

    reason: str  # the API's reason: Invalid, Forbidden, Conflict, ...
    message: str


@dataclass
class DryRun:
    """The outcome of a dry run: what helm and the server said, and the changes."""

    plan: ReleasePlan
    revision: int  # the revision the deploy would record
    first_install: bool
    checked: int = 0  # objects the API server checked
    refused: list[Refusal] = field(default_factory=list)
    changes: list[ResourceDiff] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.refused:
            return EXIT_FAILED
        return EXIT_CHANGES if self.changes else EXIT_OK

    @property
    def result(self) -> str:
        return "refused" if self.refused else ("changes" if self.changes else "no-changes")


def hook_objects(hooks: Iterable[tuple[str, Sequence[str], str]], *, first_install: bool) -> list[dict[str, Any]]:
    """The hook objects this upgrade (or first install) would create; test hooks
    and hooks of other events are not part of it."""
    wanted = _HOOK_EVENTS[first_install]
    found = []
    for _name, events, manifest in hooks:
        if any(event in wanted for event in events):
            found += diff.parse_objects(manifest)
    return found


def recreated(obj: Mapping[str, Any]) -> bool:
    """helm deletes this hook object before it creates it again (its delete policy is
    ``before-hook-creation``, also helm's default when none is given)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    policy = annotations.get("helm.sh/hook-delete-policy")
    if policy is None:
        return True
    return "before-hook-creation" in [p.strip() for p in str(policy).split(",")]


def hook_refusals(objects: Sequence[Mapping[str, Any]], refused: Iterable[tuple[str, str]]) -> list[Refusal]:
    """The server's refusals of hook creates that matter: an AlreadyExists of a hook
    helm deletes first is no refusal (the server checks existence after validation)."""
    names = {str((o.get("metadata") or {}).get("name", "")) for o in objects if recreated(o)}
    kept = []
    for reason, message in refused:
        match = _QUOTED_NAME.search(message)
        if reason == "AlreadyExists" and match and match.group(1) in names:
            continue
        kept.append(Refusal(reason, message))
    return kept


def dry_run(ctx: AppContext, options: DeployOptions, tools: Tools, emit: ev.Emit) -> DryRun:
    """Plan a deploy, have helm and the API server check it, diff it; change nothing."""
    from lain_cli import chart

    name = ctx.release_name
    history = tools.helm.history(name)
    verdict = release_plan.lock_verdict(
        history, release.utcnow(), timeout=options.timeout, force_unlock=False, even_if_alive=False,
        pending_user="", release_name=name,
    )
    if verdict.action != "proceed":
        raise OperationFailed(verdict.message, hint=verdict.hint)
    new_image = f"{ctx.image_repository}:{ctx.image_tag}"
    plan = release_plan.plan_deploy(name, ctx.user, new_image, tools.values_of(ctx, history), history)
    assert plan.values is not None
    first_install = not history
    emit(ev.Step(f"helm upgrade --install --dry-run=server {name}: nothing is recorded, no hook runs"))
    with chart.staged_chart(name, ctx.image_tag, plan.values) as chart_dir:
        argv = tools.helm.dry_run_argv(name, chart_dir, description=plan.description,
                                       timeout=tools.deadline.remaining())
        would = tools.helm.dry_run(argv)
    result = DryRun(plan, would.revision or ((history[-1].number + 1) if history else 1), first_install)
    objects = diff.parse_objects(would.manifest)
    hooks = hook_objects(would.hooks, first_install=first_install)
    result.checked = len(objects) + len(hooks)
    emit(ev.Step(f"the API server checks {result.checked} objects (dry run: nothing is written)"))
    result.refused = [Refusal(r, m) for r, m in tools.kubectl.dry_run(objects, create=False)]
    result.refused += hook_refusals(hooks, tools.kubectl.dry_run(hooks, create=True))
    deployed = diff.deployed_objects(tools.helm, name) if history else []
    every_hook = [o for _n, _e, manifest in would.hooks for o in diff.parse_objects(manifest)]
    result.changes = diff.diff_objects(deployed, objects + every_hook)
    return result


def report(ctx: AppContext, result: DryRun, emit: ev.Emit) -> None:
    """The terminal's account: the changes on stdout (as ``lain diff``), the verdict on stderr."""
    from lain_cli import console

    for line in diff.lines(result.changes):
        console.out(line)
    if result.first_install:
        emit(ev.Info(f"release {ctx.release_name} is not installed yet: everything is new"))
    emit(ev.Info(diff.summary(result.changes) if result.changes else "no changes"))
    what = f"revision {result.revision} of {ctx.release_name}"
    if result.refused:
        count = len(result.refused)
        emit(ev.Failure(f"the API server refuses {what} ({count} object{'s' if count > 1 else ''}):",
                        tuple(f"  {r.message}" for r in result.refused)))
        emit(ev.Info("nothing was changed; a deploy of these values would fail the same way"))
        return
    emit(ev.Success(f"helm and the API server accept {what} ({result.checked} objects checked); "
                    "dry run: nothing was changed"))


def document(ctx: AppContext, journal: Journal, result: DryRun | None, exit_code: int) -> dict[str, Any]:
    """The ``--json`` document: the deploy journal's fields, the dry run's verdict and changes."""
    doc = journal.document(ctx, exit_code)
    doc["dryRun"] = True
    doc.pop("status", None)
    if result is not None:
        doc.update(result=result.result, revision=result.revision, firstInstall=result.first_install,
                   checkedObjects=result.checked, refused=[{"reason": r.reason, "message": r.message}
                                                           for r in result.refused],
                   changes=diff.as_json(result.changes))
    return doc


def run(ctx: AppContext, options: DeployOptions, tools: Tools | None = None) -> int:
    """``lain deploy --dry-run``: the dry run, reported on the terminal or (``--json``) as one document."""
    from lain_cli import console

    journal = options.journal
    terminal = TerminalReporter()
    tools = tools or Tools.for_context(ctx, options.timeout, adopt=True, preview=True)
    if journal is not None:
        journal.action, journal.new_image = "deploy", f"{ctx.image_repository}:{ctx.image_tag}"
    try:
        result = dry_run(ctx, options, tools, terminal)
    except LainError as exc:
        if journal is not None:
            doc = document(ctx, journal, None, exc.exit_code)
            doc["error"] = {"message": exc.message, "hint": exc.hint, "details": exc.details}
            console.out_json(doc)
        raise
    except KeyboardInterrupt as exc:
        if journal is not None:
            console.out_json(document(ctx, journal, None, as_interrupted(exc).exit_code))
        raise
    if journal is None:
        report(ctx, result, terminal)
        return result.exit_code
    journal.old_image = result.plan.images.old_image
    for refusal in result.refused:
        terminal(ev.Failure(f"the API server refuses: {refusal.message}"))
    console.out_json(document(ctx, journal, result, result.exit_code))
    return result.exit_code
