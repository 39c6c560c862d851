"""A worker's side of experiments: which experiment runs (read from the store every
`interval` seconds), which model answers a user, and the impressions and users counted
since the last flush.

/recommend is the hot path, so it never writes to the store: it adds to in-memory counts,
which a background task adds to the store's counters every `interval` seconds with one
UPDATE per arm and one INSERT of the newly seen users, and once more at shutdown. A flush
that fails keeps its counts for the next one. Everything here runs on the event loop but the
store round trips, which run in the threadpool on buffers already swapped out, so no lock
is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter as PromCounter
from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound
from app.experiments.assignment import assign, cumulative_bounds, new_recommendation_id
from app.serving.service import ModelService
from app.serving.state import ModelState
from app.store.experiments import ArmKey, add_counts, load_arms, running_experiment

log = logging.getLogger(__name__)

SEEN_LIMIT = 100_000  # users remembered as already written, per worker (~15 MB)


@dataclass(frozen=True)
class Arm:
    """A routable arm: where it belongs, the model that answers it in this worker, and its
    Prometheus impression counter (labelled once, not per request)."""

    experiment_id: int
    position: int
    name: str
    service: ModelService
    impressions: Any = field(repr=False)  # prometheus_client's labelled Counter child


@dataclass(frozen=True)
class Running:
    """The running experiment as this worker routes it."""

    experiment_id: int
    arms: tuple[Arm, ...]
    bounds: tuple[float, ...]


@dataclass(frozen=True)
class Assignment:
    """The arm that answers one list, and the id that list carries."""

    arm: Arm | None
    recommendation_id: str


def resolve_model(models: ModelState, artifacts_dir: Path, selector: str) -> ModelService:
    """The model a name or version means: a loaded one, else a bundle version on disk
    (loaded and verified here); NotFound names what is loaded."""
    try:
        service = models.get(selector)
    except NotFound as unknown:
        try:
            return models.load_version(artifacts_dir, selector)
        except NotFound:
            raise unknown from None
    if service is None:
        raise NotFound(f"no loaded model {selector!r}")
    return service


class ExperimentRuntime:
    """Routes requests to the running experiment's arms and counts what they served. The
    arms' models are held here, so they keep answering whatever the model state evicts."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        models: ModelState,
        artifacts_dir: Path,
        counters: tuple[PromCounter, PromCounter],
        interval: float = 1.0,
    ) -> None:
        self.sessions, self.models, self.artifacts_dir = sessions, models, artifacts_dir
        self.impression_counter, self.event_counter = counters
        self.interval = interval
        self.running: Running | None = None
        self._impressions: Counter[ArmKey] = Counter()
        self._new_users: list[tuple[int, str, int]] = []
        self._seen: set[tuple[int, str]] = set()

    def route(
        self, user_id: str, default: ModelService, explicit: bool
    ) -> tuple[ModelService, Assignment]:
        """The model that answers `user_id` and the assignment its list carries: the user's
        arm while an experiment runs, unless the request named a model (`explicit`)."""
        running = self.running
        if running is None or explicit:
            return default, Assignment(None, new_recommendation_id())
        arm = running.arms[assign(running.experiment_id, user_id, running.bounds)]
        return arm.service, Assignment(arm, new_recommendation_id(arm.experiment_id, arm.position))

    def served(self, user_id: str, assignment: Assignment) -> None:
        """Count one list an arm answered, and its user if this worker has not yet."""
        arm = assignment.arm
        if arm is None:
            return
        self._impressions[arm.experiment_id, arm.position] += 1
        arm.impressions.inc()
        seen = (arm.experiment_id, user_id)
        if seen not in self._seen:
            if len(self._seen) >= SEEN_LIMIT:
                self._seen.clear()  # re-inserting a known user costs an ignored row
            self._seen.add(seen)
            self._new_users.append((arm.experiment_id, user_id, arm.position))

    def attributed(self, events: Counter[tuple[int, str]]) -> None:
        """Count attributed events (experiment, arm name) in Prometheus; the store holds them."""
        for (experiment_id, arm), count in events.items():
            self.event_counter.labels(str(experiment_id), arm).inc(count)

    def refresh(self) -> None:
        """Follow the store: route to the running experiment's arms (none: no experiment).
        An arm whose model cannot load here leaves this worker out of the experiment."""
        with self.sessions() as session:
            experiment_id = running_experiment(session)
            current = self.running
            if current is not None and current.experiment_id == experiment_id:
                return
            rows = load_arms(session, experiment_id) if experiment_id else []
        if not rows:
            self.running = None
            return
        try:
            arms = tuple(
                Arm(
                    experiment_id,
                    r.position,
                    r.name,
                    resolve_model(self.models, self.artifacts_dir, r.version),
                    self.impression_counter.labels(str(experiment_id), r.name),
                )
                for r in rows
            )
        except Exception as error:  # a missing or damaged bundle must not stop serving
            log.warning("experiment %s not routed by this worker: %s", experiment_id, error)
            self.running = None
            return
        self.running = Running(experiment_id, arms, cumulative_bounds([r.weight for r in rows]))

    def _write(self, impressions: Counter[ArmKey], users: list[tuple[int, str, int]]) -> None:
        with self.sessions() as session:
            add_counts(session, impressions, users)

    async def flush(self) -> None:
        """Add the counts buffered since the last flush to the store; kept on failure."""
        impressions, users = self._impressions, self._new_users
        if not impressions and not users:
            return
        self._impressions, self._new_users = Counter(), []
        try:
            await run_in_threadpool(self._write, impressions, users)
        except Exception as error:
            log.warning("experiment counts kept for the next flush: %s", error)
            self._impressions.update(impressions)
            self._new_users.extend(users)

    async def keep_current(self) -> None:
        """Every `interval` seconds: flush the counts, then follow the store."""
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
            try:
                await run_in_threadpool(self.refresh)
            except Exception as error:
                log.warning("experiment state not refreshed: %s", error)
