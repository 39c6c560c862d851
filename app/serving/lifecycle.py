"""One worker following the fleet's model pointers in the store (app/store/lifecycle.py).

Every worker of every replica polls the pointers' revision (one primary-key row) and, when
it changed, loads and verifies the versions named there before swapping them in. A version
it cannot load is reported (`problem`, shown on /ready) and retried now and then, while the
worker keeps serving what it has. Admin routes write the pointers, then apply them at once
on the worker that took the request; the others follow within one poll.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import NotFound
from app.serving.bundle import BundleError
from app.serving.service import ModelService
from app.serving.state import ModelState
from app.store.lifecycle import Pointers, pointer_revision, read_pointers

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # how often a version that failed to load is tried again


class LifecycleFollower:
    """Keeps one worker's `ModelState` on the versions the store names (see module doc)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        state: ModelState,
        artifacts_dir: Path,
        on_activate: Callable[[ModelService], None],
        poll_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._state = state
        self._artifacts_dir = Path(artifacts_dir)
        self._on_activate = on_activate
        self.poll_seconds = poll_seconds
        self.pointers = Pointers()
        self.problem: str | None = None  # a pointed-to version this worker could not load
        self._seen_revision = -1
        self._retry_at = 0.0
        self._lock = threading.Lock()  # the poll and an admin route may apply at once

    def sync(self) -> None:
        """Apply the store's pointers if they changed (or a failed load is due a retry)."""
        with self._sessions() as session:
            revision = pointer_revision(session)
            retry = self.problem is not None and time.monotonic() >= self._retry_at
            if revision == self._seen_revision and not retry:
                return
            pointers = read_pointers(session)
        self.apply(pointers)

    def apply(self, pointers: Pointers) -> None:
        """Load what `pointers` name (verifying each bundle), pin the per-name versions and
        activate the default one; what fails to load leaves the current model serving.
        Pointers older than those already applied are ignored."""
        with self._lock:
            if pointers.revision >= self._seen_revision:
                self._apply(pointers)

    def _apply(self, pointers: Pointers) -> None:
        problems: list[str] = []
        pinned = {name: v for name, v in pointers.by_name.items() if self._hold(v, problems)}
        self._state.pin(pinned)
        if pointers.active and pointers.active != self._state.active_version:
            service = self._load(pointers.active, problems)
            if service is not None:
                self._state.add(service, activate=True)
                self._on_activate(service)
                log.info("following the fleet: serving %s", pointers.active)
        self.pointers, self._seen_revision = pointers, pointers.revision
        self.problem = "; ".join(problems) or None
        self._retry_at = time.monotonic() + RETRY_SECONDS

    def _hold(self, version: str, problems: list[str]) -> bool:
        service = self._load(version, problems)
        if service is not None and version not in self._state.loaded:
            self._state.add(service, activate=False)
        return service is not None

    def _load(self, version: str, problems: list[str]) -> ModelService | None:
        try:
            return self._state.load_version(self._artifacts_dir, version)
        except (BundleError, NotFound) as error:
            problems.append(f"cannot load {version}: {error}")
            log.warning("the fleet points at %s, which does not load here: %s", version, error)
            return None

    async def keep_following(self) -> None:
        """Poll forever (a task of the app's lifespan); a store that does not answer is
        retried at the next poll."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await asyncio.to_thread(self.sync)
            except SQLAlchemyError as error:
                log.warning("model pointers unreadable: %s", error)
