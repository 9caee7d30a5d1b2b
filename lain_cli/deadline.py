"""One deadline for a whole command (``--timeout``).

Every helm and kubectl call of a release command gets the time that is left,
capped at what such a call may reasonably take, so a cluster that accepts
connections and never answers costs at most the command's timeout, and a read
that should take a second is given up on long before that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from lain_cli.errors import OperationFailed

# A call is never given less than this, so that the last step before the
# deadline can still say what it found instead of failing blindly.
MIN_CALL = 2.0


class DeadlineExceeded(OperationFailed):
    """``--timeout`` passed before the command was done."""


@dataclass
class Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def ends(self) -> float:
        return self.started + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.ends - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def expired(self) -> bool:
        return time.monotonic() >= self.ends

    def budget(self, cap: float) -> float:
        """Seconds one call may take: what is left, at most ``cap``, at least MIN_CALL."""
        return max(MIN_CALL, min(cap, self.remaining()))

    def check(self, doing: str) -> None:
        """Raise :class:`DeadlineExceeded` naming what lain was ``doing`` when it passed."""
        if self.expired():
            raise DeadlineExceeded(
                f"--timeout {self.seconds:g}s passed while {doing}",
                hint="give the command more time with --timeout, or check that the cluster answers (`lain version`)",
            )
