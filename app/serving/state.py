"""Loaded models of a running service: a few in memory, one active, swapped atomically.

Eviction: every load keeps the active model, the one activated just before it (the rollback
target) and up to `model_retention` others, the most recently loaded or activated; the rest
are dropped from memory (with their ANN indexes) and load again from disk when activated. So
a server that is retrained and reloaded forever holds a bounded number of models.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.collector import settle_collector
from app.config import Settings
from app.errors import NotFound
from app.serving.bundle import list_bundles, load_bundle, valid_version
from app.serving.service import ModelService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Held:
    """One consistent view of what is loaded: swapped as a whole, so that a reader (routes
    take no lock) never pairs a version with a dict that lacks it."""

    loaded: dict[str, ModelService] = field(default_factory=dict)  # oldest loaded first
    active_version: str | None = None
    previous_version: str | None = None  # activated before the active one: the rollback
    pins: dict[str, str] = field(default_factory=dict)  # model name -> version ?model= gets


@dataclass
class ModelState:
    """Routes read `active` (or `get`) once per request, so a swap never changes the model
    under a request in flight; swaps happen under a lock, after the new bundle verified."""

    problem: str | None = None  # why no model is loaded, for /ready
    settings: Settings = field(default_factory=Settings)
    # told of every model held (the store view adopts the users' histories it carries)
    on_add: Callable[[ModelService], None] | None = None
    _held: Held = field(default_factory=Held, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def loaded(self) -> dict[str, ModelService]:
        return self._held.loaded

    @property
    def active_version(self) -> str | None:
        return self._held.active_version

    @property
    def previous_version(self) -> str | None:
        return self._held.previous_version

    @property
    def active(self) -> ModelService | None:
        held = self._held
        return held.loaded.get(held.active_version) if held.active_version else None

    def add(self, service: ModelService, *, activate: bool) -> None:
        """Hold `service` (activating it if asked), then evict beyond the retention bound."""
        with self._lock:
            held = self._held
            active, previous = held.active_version, held.previous_version
            if activate and service.version != active:
                active, previous = service.version, active
            loaded = {v: s for v, s in held.loaded.items() if v != service.version}
            loaded[service.version] = service  # type: ignore[index]
            pinned = {active, previous, *held.pins.values()}
            self._held = Held(self._retained(loaded, pinned), active, previous, held.pins)
            if activate:
                self.problem = None
        if self.on_add is not None:
            self.on_add(service)
        settle_collector()  # the new bundle's objects live as long as it does

    def pin(self, pins: dict[str, str]) -> None:
        """Name the version `?model=<name>` answers from, per name; pinned versions are never
        evicted (they load with `add`)."""
        with self._lock:
            held = self._held
            self._held = Held(held.loaded, held.active_version, held.previous_version, pins)

    def _retained(
        self, loaded: dict[str, ModelService], pinned: set[str | None]
    ) -> dict[str, ModelService]:
        """`loaded` without its oldest models beyond the bound (never a pinned one: the
        active model and the rollback target)."""
        others = [v for v in loaded if v not in pinned]
        evicted = set(others[: max(0, len(others) - self.settings.model_retention)])
        for version in evicted:
            log.info("evicting model %s from memory", version)
        return {v: s for v, s in loaded.items() if v not in evicted}

    def get(self, selector: str | None) -> ModelService | None:
        """The active model; or the one named by version; or by model name: the active one
        if it has that name, else the version pinned for it, else the newest loaded of it."""
        held = self._held
        active = held.loaded.get(held.active_version) if held.active_version else None
        if not selector:
            return active
        loaded = held.loaded
        if selector in loaded:
            return loaded[selector]
        if active is not None and active.name == selector:
            return active
        if held.pins.get(selector) in loaded:
            return loaded[held.pins[selector]]
        by_name = [s for s in loaded.values() if s.name == selector]
        if not by_name:
            names = sorted({s.name for s in loaded.values()} | set(loaded))
            raise NotFound(f"no loaded model {selector!r}; loaded: {', '.join(names) or 'none'}")
        return max(by_name, key=lambda s: s.bundle.created_at)  # as list_bundles orders

    def load_version(self, artifacts_dir: Path, version: str) -> ModelService:
        """Load (verify) the bundle `version` unless already loaded; BundleError if damaged."""
        if not valid_version(version):
            raise NotFound(f"no bundle {version!r}")
        if version in self.loaded:
            return self.loaded[version]
        path = Path(artifacts_dir) / version
        if not (path / "manifest.json").is_file():
            raise NotFound(f"no bundle {version!r} in {artifacts_dir}")
        return ModelService(load_bundle(path), self.settings)

    def load_startup(self, artifacts_dir: Path) -> None:
        """Load the newest valid bundle of each model name, as many as the retention bound
        holds besides the active one; activate the newest of all."""
        names: set[str] = set()
        for manifest in list_bundles(artifacts_dir):
            name = manifest.get("model", {}).get("name")
            if name in names:
                continue
            if len(names) > self.settings.model_retention:
                break
            try:
                service = ModelService(
                    load_bundle(Path(artifacts_dir) / manifest["version"]), self.settings
                )
            except Exception as error:  # a damaged bundle must not stop the service
                log.warning("skipping bundle %s: %s", manifest.get("version"), error)
                continue
            names.add(name)
            self.add(service, activate=self.active is None)
        if self.active is None:
            self.problem = f"no valid bundle in {artifacts_dir}"
