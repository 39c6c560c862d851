"""The worker's long-lived objects are kept out of the cyclic collector's passes."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from app.collector import GEN0_ALLOCATIONS, settle_collector


def _collected(target: object) -> bool:
    """Whether the collector's generations (not the frozen objects) hold `target`."""
    return any(tracked is target for tracked in gc.get_objects())


def test_a_ready_worker_freezes_its_bundle_and_collects_rarely(client: TestClient) -> None:
    service = client.app.state.models.active
    for held in (service, service.bundle, service.bundle.user_map):
        assert gc.is_tracked(held) and not _collected(held)
    assert gc.get_threshold()[0] == GEN0_ALLOCATIONS


def test_settling_collects_garbage_before_freezing() -> None:
    class Node:
        pass

    cycle = Node()
    cycle.self = cycle  # garbage once the name goes: only the collector can free it
    frozen_before = gc.get_freeze_count()
    del cycle
    settle_collector()
    live = Node()
    assert not any(isinstance(o, Node) and o is not live for o in gc.get_objects())
    assert gc.get_freeze_count() >= frozen_before
