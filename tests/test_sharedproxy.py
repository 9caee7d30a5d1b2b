"""The command's shared proxy: started in the background, handed out once it serves,
given up (kubectl runs instead) when it does not come up, closed once."""

from __future__ import annotations

from typing import Any

import pytest

from lain_cli import kubeproxy
from lain_cli.clusters import Cluster
from lain_cli.sharedproxy import SharedProxy

CLUSTER = Cluster(name="test", namespace="ns")


class StandIn:
    """In place of KubectlProxy: no kubectl; serves or not as told."""

    made: list[StandIn] = []
    serves = True

    def __init__(self, cluster: Any) -> None:
        self.waits = 0
        self.closed = 0
        StandIn.made.append(self)

    def begin(self) -> None:
        pass

    def wait_ready(self, timeout: float) -> bool:
        self.waits += 1
        return StandIn.serves

    def close(self) -> None:
        self.closed += 1


@pytest.fixture(autouse=True)
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    StandIn.made = []
    StandIn.serves = True
    monkeypatch.setattr(kubeproxy, "KubectlProxy", StandIn)


def test_nothing_serves_before_start_and_one_proxy_serves_after() -> None:
    shared = SharedProxy(CLUSTER)
    assert shared.serving() is None
    shared.start()
    shared.start()  # once
    first = shared.serving()
    assert first is not None and shared.serving() is first
    assert len(StandIn.made) == 1
    shared.close()
    shared.close()
    assert StandIn.made[0].closed == 1
    assert shared.serving() is None
    shared.start()  # closed stays closed
    assert len(StandIn.made) == 1


def test_a_proxy_that_does_not_come_up_is_waited_for_once() -> None:
    StandIn.serves = False
    shared = SharedProxy(CLUSTER, patience=0.01)
    shared.start()
    assert shared.serving() is None
    assert shared.serving() is None
    assert StandIn.made[0].waits == 1
    assert StandIn.made[0].closed == 1
    shared.close()
    assert StandIn.made[0].closed == 1
