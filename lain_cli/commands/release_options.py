"""Options shared by the commands that change a release (deploy, update-image, rollback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def tracking_options(func: F) -> F:
    """--wait/--no-wait, --timeout and --panel/--no-panel."""
    func = click.option(
        "--panel/--no-panel", default=True, show_default=True,
        help="On a terminal, open the live status panel once the outcome is known (q leaves it). "
        "The exit code is the outcome's either way; without a terminal there is no panel.",
    )(func)
    func = click.option(
        "--timeout", default="5m", show_default=True, metavar="DURATION",
        help="Limit for the whole command: lock, hooks, rollout and green light.",
    )(func)
    func = click.option("--wait/--no-wait", default=True, show_default=True,
                        help="Track the rollout until ready or failed.")(func)
    return func


def lock_options(func: F) -> F:
    """--force-unlock and --even-if-alive."""
    func = click.option(
        "--even-if-alive", is_flag=True,
        help="With --force-unlock: also when the pending revision's helm or lain may still be running "
        "(its lock is held, or it is younger than the timeout and not lain's). Only when you know it is gone.",
    )(func)
    func = click.option(
        "--force-unlock", is_flag=True,
        help="Recover a release left pending by a killed deploy (marks it failed, rolls back), then go on. "
        "Refused while another lain holds the release.",
    )(func)
    return func


def check_lock_flags(force_unlock: bool, even_if_alive: bool) -> None:
    if even_if_alive and not force_unlock:
        raise click.UsageError("--even-if-alive only makes sense with --force-unlock")


def check_dry_run_flags(*, build: bool, force_unlock: bool, rollback_on_failure: bool) -> None:
    """--dry-run changes nothing, so the flags that change something are refused with it."""
    if build:
        raise click.UsageError(
            "--build pushes an image and --dry-run changes nothing: use one or the other. The dry run checks "
            "the deploy of the image tag `lain deploy --build` would build (the git short sha)")
    if force_unlock:
        raise click.UsageError("--force-unlock changes the release and --dry-run changes nothing: "
                               "run the dry run once the release is unlocked")
    if rollback_on_failure:
        raise click.UsageError("--rollback-on-failure has nothing to do in a --dry-run: nothing rolls out")
