"""`lain uninstall`: remove an app's release from a cluster, and say what stays.

In order: take the release's lock (:mod:`lain_cli.lock`), read what the release
has on the cluster (helm's manifest and hooks, the app's PersistentVolumeClaims
and its env/secret Secrets), decide the plan (:func:`plan_uninstall`, pure),
have it confirmed, run ``helm uninstall``, delete what helm leaves behind that
belongs to the release (its hook jobs, and with ``--purge`` the Secrets and
the claims that StatefulSets' ``volumeClaimTemplates`` created), then wait,
bounded by ``--timeout``, until every object is gone.

What is kept without ``--purge``: the ``<app>-env`` and ``<app>-secret``
Secrets (``lain env``/``lain secret``), so a later ``lain deploy`` starts with
the same settings, and the claims of StatefulSets, whose data helm never
deletes.  Claims the release itself declares (``persistentVolumeClaims``) are
deleted by helm with the release: the plan says so before anything is done.

A release that is not installed is an error (exit 1, as ``helm uninstall``
and ``kubectl delete`` without ``--ignore-not-found``), unless ``--purge``
has leftovers of an earlier uninstall to remove.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lain_cli import events as ev
from lain_cli.errors import EXIT_FAILED, EXIT_OK, LainError, OperationFailed

if TYPE_CHECKING:
    from lain_cli.context import AppContext
    from lain_cli.deploy import Tools
    from lain_cli.reporters import Journal

POLL = 1.0
SHOWN = 8  # objects named in one progress line


@dataclass(frozen=True, order=True)
class Ref:
    """One object, by kind and name."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


@dataclass(frozen=True)
class UninstallOptions:
    timeout: float = 300.0
    purge: bool = False
    wait: bool = True
    journal: Journal | None = None


@dataclass(frozen=True)
class UninstallPlan:
    """What an uninstall removes and what it keeps; pure data, decided before anything runs."""

    app: str
    release: str
    cluster: str
    namespace: str
    installed: bool
    status: str = ""  # helm's status of the current revision
    revision: int | None = None
    objects: tuple[Ref, ...] = ()  # the release's objects, deleted by helm
    hooks: tuple[Ref, ...] = ()  # its hook objects, which helm leaves behind: lain deletes them
    purge: bool = False
    secrets: tuple[str, ...] = ()  # the app's env/secret Secrets that exist
    claims: tuple[str, ...] = ()  # PVCs of the app that are not in the release (volumeClaimTemplates)

    @property
    def release_claims(self) -> tuple[str, ...]:
        """Claims the release itself declares: helm deletes them, and their data."""
        return tuple(r.name for r in self.objects if r.kind == "PersistentVolumeClaim")

    @property
    def removed_by_lain(self) -> tuple[Ref, ...]:
        """What lain deletes after helm: hooks, and with --purge the Secrets and claims."""
        extra = [Ref("Secret", s) for s in self.secrets] + [Ref("PersistentVolumeClaim", c) for c in self.claims]
        return (*self.hooks, *(extra if self.purge else []))

    @property
    def kept(self) -> tuple[Ref, ...]:
        if self.purge:
            return ()
        return (*(Ref("Secret", s) for s in self.secrets), *(Ref("PersistentVolumeClaim", c) for c in self.claims))

    @property
    def deletes_data(self) -> tuple[str, ...]:
        """The claims whose data goes (to warn about, and confirm)."""
        return (*self.release_claims, *(self.claims if self.purge else ()))

    @property
    def nothing_to_do(self) -> bool:
        return not self.installed and not (self.purge and (self.secrets or self.claims))

    def gone_when_done(self) -> tuple[Ref, ...]:
        return (*self.objects, *self.removed_by_lain)

    def describe(self) -> list[str]:
        """The plan as lines for the person who confirms it."""
        where = f"cluster {self.cluster}, namespace {self.namespace}"
        lines = []
        if self.installed:
            lines.append(f"uninstall release {self.release} of app {self.app} from {where} "
                         f"(revision {self.revision}, {self.status}): {len(self.objects)} objects"
                         + (f" and {len(self.hooks)} hook objects" if self.hooks else ""))
            lines += [f"  {ref}" for ref in sorted(self.objects)]
            lines += [f"  {ref} (hook)" for ref in sorted(self.hooks)]
        else:
            lines.append(f"release {self.release} of app {self.app} is not installed on {where}; "
                         "--purge removes what an earlier uninstall kept")
        if self.purge:
            lines += [f"  {ref} (--purge)" for ref in (*(Ref("Secret", s) for s in self.secrets),
                                                       *(Ref("PersistentVolumeClaim", c) for c in self.claims))]
        if self.deletes_data:
            lines.append(f"DATA IS DELETED with the persistent volume claim{'s' if len(self.deletes_data) > 1 else ''}"
                         f" {', '.join(self.deletes_data)}")
        if self.kept:
            lines.append(f"kept: {', '.join(str(r) for r in self.kept)} (--purge removes them)")
        return lines


def plan_uninstall(*, app: str, release: str, cluster: str, namespace: str, head: Any | None,
                   manifest: str, hooks: str, secrets: Iterable[str], claims: Iterable[str],
                   purge: bool) -> UninstallPlan:
    """The plan, from what was read: the current revision (``head``, None when not installed),
    its manifest and hooks (``helm get manifest/hooks``), the app's Secrets and claims that exist."""
    objects = _refs(manifest)
    in_release = {r.name for r in objects if r.kind == "PersistentVolumeClaim"}
    return UninstallPlan(
        app=app, release=release, cluster=cluster, namespace=namespace, installed=head is not None,
        status=head.status if head is not None else "", revision=head.number if head is not None else None,
        objects=objects, hooks=_refs(hooks), purge=purge, secrets=tuple(sorted(secrets)),
        claims=tuple(sorted(c for c in claims if c not in in_release)),
    )


def _refs(manifest: str) -> tuple[Ref, ...]:
    from lain_cli import helm

    found = []
    for item in helm.parse_manifests(manifest) if manifest.strip() else []:
        name = str((item.body.get("metadata") or {}).get("name") or "")
        if item.kind and name:
            found.append(Ref(item.kind, name))
    return tuple(dict.fromkeys(found))


def remaining(listed: Mapping[str, Any], expected: Iterable[Ref]) -> list[tuple[Ref, str]]:
    """The objects of a ``kubectl get`` List still there that should go: every
    expected one, and any pod of the app; each with why it is still there."""
    wanted = set(expected)
    left = []
    for item in listed.get("items") or []:
        meta = item.get("metadata") or {}
        ref = Ref(str(item.get("kind", "")), str(meta.get("name", "")))
        if ref in wanted or ref.kind == "Pod":
            left.append((ref, _why_still_there(meta)))
    return sorted(left)


def _why_still_there(meta: Mapping[str, Any]) -> str:
    if not meta.get("deletionTimestamp"):
        return ""
    finalizers = meta.get("finalizers") or []
    return f"terminating, finalizers: {', '.join(finalizers)}" if finalizers else "terminating"


def _kinds_to_watch(refs: Iterable[Ref]) -> str:
    kinds = {r.kind for r in refs} | {"Pod"}
    return ",".join(sorted(kinds))


def _names(left: Sequence[tuple[Ref, str]]) -> str:
    shown = [f"{ref}" + (f" ({why})" if why else "") for ref, why in left[:SHOWN]]
    more = f" and {len(left) - SHOWN} more" if len(left) > SHOWN else ""
    return ", ".join(shown) + more


def read_plan(ctx: AppContext, tools: Tools, purge: bool) -> UninstallPlan:
    """Read the release, its Secrets and claims, and decide the plan (under the lock)."""
    from lain_cli import envsecret, release
    from lain_cli.labels import app_selector

    cluster = ctx.require_cluster()
    head = release.current(tools.helm.history(ctx.release_name))
    manifest = hooks = ""
    if head is not None:
        manifest = tools.helm.manifest(ctx.release_name)
        hooks = tools.helm.manifest(ctx.release_name, hooks=True)
    secrets = [name for name in (envsecret.secret_name(ctx.appname, "env"),
                                 envsecret.secret_name(ctx.appname, "secret"))
               if tools.kubectl.get_json("secret", name) is not None]
    listed = tools.kubectl.get_json("persistentvolumeclaims", selector=app_selector(ctx)) or {}
    claims = [str((item.get("metadata") or {}).get("name", "")) for item in listed.get("items") or []]
    return plan_uninstall(app=ctx.appname, release=ctx.release_name, cluster=cluster.name,
                          namespace=ctx.namespace, head=head, manifest=manifest, hooks=hooks, secrets=secrets,
                          claims=[c for c in claims if c], purge=purge)


def uninstall(ctx: AppContext, options: UninstallOptions, confirm: Callable[[UninstallPlan], bool],
              tools: Tools | None = None) -> int:
    """Uninstall the app's release as planned and confirmed; 0 once everything is gone."""
    from lain_cli.deploy import Tools
    from lain_cli.lock import ReleaseLock
    from lain_cli.release_plan import Images
    from lain_cli.reporters import Reporters, TerminalReporter

    tools = tools or Tools.for_context(ctx, options.timeout)
    terminal = TerminalReporter()
    lock = ReleaseLock(tools.kubectl, ctx.release_name, user=ctx.user, command="uninstall")
    with lock:
        plan = read_plan(ctx, tools, options.purge)
        if options.journal is not None:
            options.journal.action = "uninstall"
            options.journal.facts.update(plan_document(plan))
        if plan.nothing_to_do:
            raise _not_installed(plan)
        for line in plan.describe():
            terminal(ev.Info(line))
        if not confirm(plan):
            terminal(ev.Warning("not confirmed: nothing was removed"))
            return EXIT_FAILED
        emit = Reporters(ctx, Images("uninstall"), options.journal)
        try:
            return _remove(ctx, options, tools, plan, emit)
        finally:
            emit.flush()


def _not_installed(plan: UninstallPlan) -> OperationFailed:
    where = f"cluster {plan.cluster}, namespace {plan.namespace}"
    left = plan.kept if not plan.purge else ()
    hint = "check the app name (appname/releaseName in values) and the cluster (`lain use`)"
    if left:
        hint = f"an earlier uninstall kept {', '.join(str(r) for r in left)}: `lain uninstall --purge` removes them"
    return OperationFailed(f"release {plan.release} is not installed on {where}: nothing to uninstall", hint=hint)


def _remove(ctx: AppContext, options: UninstallOptions, tools: Tools, plan: UninstallPlan,
            emit: Callable[[ev.Event], None]) -> int:
    started = time.monotonic()
    try:
        if plan.installed:
            emit(ev.Step(f"helm uninstall {plan.release}"))
            tools.helm.uninstall(plan.release, timeout=tools.deadline.budget(options.timeout))
        for ref in plan.removed_by_lain:
            tools.kubectl.delete(ref.kind.lower(), ref.name)
    except LainError as exc:
        emit(ev.Notice("uninstall-failure", exc.message, tuple(exc.details)))
        raise
    gone = plan.gone_when_done()
    if options.wait:
        left = wait_until_gone(ctx, tools, gone, emit)
        if left:
            text = (f"timed out after {tools.deadline.seconds:g}s (--timeout): {len(left)} objects are still "
                    f"there: {_names(left)}")
            emit(ev.Failure(text, ("helm has forgotten the release; the cluster finishes deleting these on its "
                                   "own unless a finalizer holds them (`kubectl describe` says which)",)))
            emit(ev.Notice("uninstall-failure", text))
            return EXIT_FAILED
    took = f" in {time.monotonic() - started:.1f}s" if options.wait else " (not waiting: --no-wait)"
    what = f"release {plan.release} uninstalled" if plan.installed else f"leftovers of {plan.release} removed"
    emit(ev.Success(f"{what} from cluster {plan.cluster}, namespace {plan.namespace}{took}"))
    if plan.kept:
        emit(ev.Info(f"kept: {', '.join(str(r) for r in plan.kept)}; `lain uninstall --purge` removes them"))
    details = tuple(f"kept: {r}" for r in plan.kept) + tuple(f"deleted with its data: {c}"
                                                             for c in plan.deletes_data)
    emit(ev.Notice("uninstall", f"release {plan.release} removed from namespace {plan.namespace}", details))
    return EXIT_OK


def wait_until_gone(ctx: AppContext, tools: Tools, gone: Sequence[Ref],
                    emit: Callable[[ev.Event], None]) -> list[tuple[Ref, str]]:
    """Poll until none of ``gone`` (nor any pod of the app) is left; what is left at the deadline."""
    from lain_cli.labels import app_selector

    kinds = _kinds_to_watch(gone)
    selector = app_selector(ctx)
    named = [r for r in gone if r.kind == "Secret"]  # the app's Secrets carry no release label
    said = ""
    while True:
        listed = tools.kubectl.get_json(kinds, selector=selector) or {}
        left = remaining(listed, gone)
        left += [(r, "") for r in named if tools.kubectl.get_json("secret", r.name) is not None]
        if not left:
            return []
        text = f"{len(left)} left: {_names(left)}"
        if text != said:
            if not said:
                emit(ev.Step(f"waiting for the release's objects to be deleted ({text})"))
            else:
                emit(ev.Progress("uninstall", text))
            said = text
        if tools.deadline.remaining() <= POLL:
            return left
        time.sleep(POLL)


def plan_document(plan: UninstallPlan) -> dict[str, Any]:
    """``lain uninstall --json``: what was (to be) removed and what is kept."""
    return {
        "installed": plan.installed,
        "revision": plan.revision,
        "purge": plan.purge,
        "removed": [str(r) for r in sorted(plan.gone_when_done())],
        "kept": [str(r) for r in plan.kept],
        "dataDeleted": list(plan.deletes_data),
    }


__all__ = ["Ref", "UninstallOptions", "UninstallPlan", "plan_uninstall", "uninstall", "remaining",
           "plan_document"]
