"""What a request's numpy work costs, measured once when a model loads, so that the routes
keep cheap work on the event loop (a thread hop would cost more than the work) and send
anything slow to a worker thread (the loop must never wait on an EASE item x item product or
an NCF fold-in). Decided by measured time, not by model kind or a fixed catalog size."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

log = logging.getLogger(__name__)

Operation = Literal["user", "fold_in", "similar"]
REPEATS = 3  # the fastest of a few runs: the first pays for cold caches


def measure(work: Callable[[], object], repeats: int = REPEATS) -> float:
    """Seconds of the fastest of `repeats` runs of `work`."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


class Costs:
    """Measured seconds per operation of one model; unmeasured operations count as slow."""

    def __init__(self, budget_seconds: float) -> None:
        self.budget_seconds = budget_seconds
        self.seconds: dict[Operation, float] = {}

    def record(self, operation: Operation, work: Callable[[], object]) -> None:
        """Measure `work` as a stand-in for `operation`; a failure leaves it unmeasured."""
        try:
            self.seconds[operation] = measure(work)
        except Exception as error:  # a model that cannot do this: never inline
            log.debug("not measuring %s: %s", operation, error)

    def inline(self, operation: Operation) -> bool:
        """Whether `operation` is cheap enough to run on the event loop."""
        return self.seconds.get(operation, float("inf")) <= self.budget_seconds
