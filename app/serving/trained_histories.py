"""The users' stored events a bundle trained from the store carries (written by
training/datasets/store_histories.py): each known user's events up to the interaction id the
bundle was trained through, as the store held them then.

A store view that adopts them (StoreView.adopt) builds such a user's history from these
arrays instead of a store query, for as long as it can tell the user has no event the bundle
does not hold: none newer, none deleted since (app/serving/store_view.py). The arrays are
memory-mapped, so the workers of one host share one copy in the page cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.serving.idmap import IdMap

FILES = ("offsets", "ids", "items", "kinds", "newest_api_at")
PREFIX = "histories_"


@dataclass(frozen=True)
class UserEvents:
    """One user's events as the bundle holds them, in id order."""

    ids: np.ndarray  # int64 store ids
    item_rows: np.ndarray  # int32 store item row ids
    kind_codes: np.ndarray  # into `kinds`
    kinds: list[str]
    newest_api_at: float  # -inf: no event posted to the API


@dataclass(frozen=True)
class TrainedHistories:
    """Events of the users of `user_map`, through the store id `through_id` (see the module
    docstring); `deletion_id` is the newest deletion the training read was clean of."""

    version: str  # the bundle's
    through_id: int
    deletion_id: int
    kinds: list[str]
    user_map: IdMap
    offsets: np.ndarray
    ids: np.ndarray
    item_rows: np.ndarray
    kind_codes: np.ndarray
    newest_api_at: np.ndarray

    @classmethod
    def of(
        cls, version: str, manifest: dict[str, Any], arrays: dict[str, np.ndarray], users: IdMap
    ) -> TrainedHistories | None:
        """The bundle's histories; None if it carries none (trained from a file, or older)."""
        entry = manifest.get("histories")
        dataset = manifest.get("dataset", {})
        if not isinstance(entry, dict) or any(PREFIX + name not in arrays for name in FILES):
            return None
        # plain views of the mappings: slicing a np.memmap costs a Python-level __getitem__
        arrays = {name: array.view(np.ndarray) for name, array in arrays.items()}
        offsets = arrays[PREFIX + "offsets"]
        if len(offsets) != len(users) + 1 or offsets[-1] != len(arrays[PREFIX + "ids"]):
            raise ValueError("histories_offsets do not fit users.json and histories_ids")
        return cls(
            version=version,
            through_id=int(entry["through_interaction_id"]),
            deletion_id=int(dataset.get("latest_deletion_id", 0)),
            kinds=[str(kind) for kind in entry["kinds"]],
            user_map=users,
            offsets=offsets,
            ids=arrays[PREFIX + "ids"],
            item_rows=arrays[PREFIX + "items"],
            kind_codes=arrays[PREFIX + "kinds"],
            newest_api_at=arrays[PREFIX + "newest_api_at"],
        )

    def events(self, user_id: str) -> UserEvents | None:
        """The user's events as trained on; None if the bundle does not know the user."""
        row = self.user_map.get(user_id)
        if row < 0:
            return None
        start, end = self.offsets[row], self.offsets[row + 1]
        newest = float(self.newest_api_at[row])
        return UserEvents(
            np.array(self.ids[start:end]),  # copies: a held history owns its small arrays
            np.array(self.item_rows[start:end]),
            np.array(self.kind_codes[start:end]),
            self.kinds,
            -math.inf if math.isnan(newest) else newest,
        )

    def last_events(self, count: int) -> list[tuple[int, str, int]]:
        """(id, user, item row id) of up to `count` events spread over the users: what
        StoreView.adopt compares with the store to tell it is the store they came from."""
        rows = np.flatnonzero(np.diff(self.offsets) > 0)
        chosen = rows[np.linspace(0, len(rows) - 1, min(count, len(rows))).astype(int)]
        last = self.offsets[chosen + 1] - 1
        users = self.user_map.decode(chosen.tolist())
        return list(zip(self.ids[last].tolist(), users, self.item_rows[last].tolist(), strict=True))
