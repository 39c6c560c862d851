"""Loaded models of a running service: several in memory, one active, swapped atomically."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import NotFound
from app.serving.bundle import list_bundles, load_bundle, valid_version
from app.serving.service import ModelService, ServingOptions

log = logging.getLogger(__name__)


@dataclass
class ModelState:
    """Routes read `active` (or `get`) once per request, so a swap never changes the model
    under a request in flight; swaps happen under a lock, after the new bundle verified."""

    loaded: dict[str, ModelService] = field(default_factory=dict)
    active_version: str | None = None
    problem: str | None = None  # why no model is loaded, for /ready
    options: ServingOptions = field(default_factory=ServingOptions)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> ModelService | None:
        return self.loaded.get(self.active_version) if self.active_version else None

    def add(self, service: ModelService, *, activate: bool) -> None:
        with self._lock:
            self.loaded = {**self.loaded, service.version: service}
            if activate:
                self.active_version = service.version
                self.problem = None

    def get(self, selector: str | None) -> ModelService | None:
        """The active model, or the one named by version or model name (newest loaded)."""
        if not selector:
            return self.active
        if selector in self.loaded:
            return self.loaded[selector]
        by_name = [s for s in self.loaded.values() if s.name == selector]
        if not by_name:
            names = sorted({s.name for s in self.loaded.values()} | set(self.loaded))
            raise NotFound(f"no loaded model {selector!r}; loaded: {', '.join(names) or 'none'}")
        return max(by_name, key=lambda s: s.trained_at)

    def load_version(self, artifacts_dir: Path, version: str) -> ModelService:
        """Load (verify) the bundle `version` unless already loaded; BundleError if damaged."""
        if not valid_version(version):
            raise NotFound(f"no bundle {version!r}")
        if version in self.loaded:
            return self.loaded[version]
        path = Path(artifacts_dir) / version
        if not (path / "manifest.json").is_file():
            raise NotFound(f"no bundle {version!r} in {artifacts_dir}")
        return ModelService(load_bundle(path), self.options)

    def load_startup(self, artifacts_dir: Path) -> None:
        """Load the newest valid bundle of each model name; activate the newest of all."""
        names: set[str] = set()
        for manifest in list_bundles(artifacts_dir):
            name = manifest.get("model", {}).get("name")
            if name in names:
                continue
            try:
                service = ModelService(
                    load_bundle(Path(artifacts_dir) / manifest["version"]), self.options
                )
            except Exception as error:  # a damaged bundle must not stop the service
                log.warning("skipping bundle %s: %s", manifest.get("version"), error)
                continue
            names.add(name)
            self.add(service, activate=self.active is None)
        if self.active is None:
            self.problem = f"no valid bundle in {artifacts_dir}"
