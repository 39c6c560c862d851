"""The loaded model(s) of a running service, swapped atomically."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from app.serving.service import ModelService


@dataclass
class ModelState:
    """Holds the active model; routes read `active` once per request, so a swap never
    changes the model under a request in flight."""

    active: ModelService | None = None
    problem: str | None = None  # why no model is loaded, for /ready
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def activate(self, service: ModelService) -> None:
        with self._lock:
            self.active = service
            self.problem = None
