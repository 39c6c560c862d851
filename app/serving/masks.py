"""Which items a request may not return, in one model's indices: hidden items, items outside
a category, items the request names. The hidden set and each category are encoded once per
(model, hidden-items version) and kept, instead of a Python loop over them on every request."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection

import numpy as np

from app.serving.idmap import IdMap


class Exclusions:
    """Encoded exclusions of one loaded model (one per ModelService)."""

    def __init__(self, item_map: IdMap, item_genres: list[str], max_categories: int) -> None:
        self._item_map = item_map
        self._genres = item_genres
        self._max_categories = max_categories
        self._outside: OrderedDict[str, np.ndarray] = OrderedDict()
        self._hidden: tuple[int | None, np.ndarray] = (None, np.empty(0, np.int64))
        self._lock = threading.Lock()  # requests run on the loop and in worker threads

    def known(self, item_ids: Collection[str]) -> np.ndarray:
        """This model's indices of the ids it knows (unknown ids cannot be returned anyway)."""
        if not item_ids:
            return np.empty(0, np.int64)
        indices = self._item_map.encode(list(item_ids)).astype(np.int64)
        return indices[indices >= 0]

    def hidden(self, hidden: Collection[str], version: int | None) -> np.ndarray:
        """Indices of the hidden items; encoded again only when `version` changes (None:
        a caller that does not track versions, encoded every time)."""
        cached_version, indices = self._hidden
        if version is not None and version == cached_version:
            return indices
        indices = self.known(hidden)
        if version is not None:
            self._hidden = (version, indices)
        return indices

    def outside(self, category: str) -> np.ndarray:
        """Indices of the items not in `category` (least recently used categories go first)."""
        with self._lock:
            cached = self._outside.get(category)
            if cached is not None:
                self._outside.move_to_end(category)
                return cached
        inside = np.fromiter(
            (category in genres.split("|") for genres in self._genres), bool, len(self._genres)
        )
        outside = np.flatnonzero(~inside)
        with self._lock:
            self._outside[category] = outside
            while len(self._outside) > self._max_categories:
                self._outside.popitem(last=False)
        return outside

    def shared(
        self,
        exclude: Collection[str],
        hidden: Collection[str],
        hidden_version: int | None,
        category: str | None,
    ) -> np.ndarray:
        """Everything a request excludes for every user it asks about."""
        parts = [self.known(exclude), self.hidden(hidden, hidden_version)]
        if category:
            parts.append(self.outside(category))
        return np.concatenate(parts)
