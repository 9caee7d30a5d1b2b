"""The label names lain's chart sets, and the selector that finds a release's objects.

lain's chart labels every object of a release ``app.kubernetes.io/instance:
<release>``.  A release taken over from lain4 keeps lain4's immutable
selectors, so the pods of its Deployments and StatefulSets carry
``instance: <release>-<proc>`` instead (see :mod:`lain_cli.takeover`).
:func:`app_selector` matches both from the app's values alone, without asking
the cluster: ``app.kubernetes.io/name=<app>,app.kubernetes.io/instance in
(<release>,<release>-<proc>,...)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"


def release_selector(
    release: str, component: str | None = None, *, appname: str = "", procs: Iterable[str] = ()
) -> str:
    """The label selector of a release's objects, or of one proc/job of it.

    With ``appname`` and the long-running ``procs``, also the pods of procs that
    keep lain4's selector (``instance=<release>-<proc>``).
    """
    procs = sorted(procs)
    if appname and procs:
        instances = ",".join([release, *(f"{release}-{proc}" for proc in procs)])
        selector = f"{NAME}={appname},{INSTANCE} in ({instances})"
    else:
        selector = f"{INSTANCE}={release}"
    if component:
        selector += f",{COMPONENT}={component}"
    return selector


def app_selector(ctx: Any, component: str | None = None) -> str:
    """:func:`release_selector` of an AppContext's release, in either layout."""
    procs = [name for name, kind in ctx.procs.items() if kind in ("deployment", "statefulset")]
    return release_selector(ctx.release_name, component, appname=ctx.appname, procs=procs)
