"""What the recommendation routes do, on one loaded bundle: numpy only, no TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.errors import ApiError, NotFound
from app.serving.bundle import Bundle
from app.serving.index import normalise_rows, top_k


@dataclass(frozen=True)
class ScoredItem:
    item_id: str
    score: float
    title: str


@dataclass(frozen=True)
class Recommendation:
    user_id: str
    model: str
    cold_start: bool
    items: list[ScoredItem]


class NoEmbeddings(ApiError):
    status_code = 409
    code = "not_supported"


class ModelService:
    """Recommendations, similar items and scores from a verified bundle."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.name = bundle.model_name
        self.version = bundle.version
        embeddings = bundle.scorer.item_embeddings()
        self.unit_items = None if embeddings is None else normalise_rows(embeddings)
        self.popularity = np.log1p(bundle.popularity).astype(np.float32)

    def _items(self, indices: np.ndarray, scores: np.ndarray) -> list[ScoredItem]:
        ids, titles = self.bundle.item_map.ids, self.bundle.item_titles
        return [
            ScoredItem(ids[i], round(float(s), 6), titles[i])
            for i, s in zip(indices.tolist(), scores.tolist(), strict=True)
        ]

    def _known_items(self, item_ids: Sequence[str]) -> np.ndarray:
        indices = self.bundle.item_map.encode(list(item_ids))
        return indices[indices >= 0]

    def recommend(self, user_id: str, k: int, seen: Sequence[str]) -> Recommendation:
        """Top-k unseen items; a user the model does not know gets popular items."""
        exclude = self._known_items(seen)
        user = self.bundle.user_map.get(user_id)
        cold = user < 0
        if cold:
            scores = self.popularity
        else:
            scores = self.bundle.scorer.score_users(np.array([user]))[0]
        indices, values = top_k(scores, k, exclude)
        return Recommendation(user_id, self.name, cold, self._items(indices, values))

    def similar(self, item_id: str, k: int) -> list[ScoredItem]:
        """The k items nearest by cosine similarity of embeddings, never the item itself."""
        item = self.bundle.item_map.get(item_id)
        if item < 0:
            raise NotFound(f"unknown item {item_id!r}")
        if self.unit_items is None:
            raise NoEmbeddings(f"model {self.name!r} has no item embeddings")
        similarities = self.unit_items @ self.unit_items[item]
        indices, values = top_k(similarities, k, np.array([item]))
        return self._items(indices, values)

    def score(self, user_id: str, item_ids: Sequence[str]) -> tuple[bool, list[float]]:
        """(cold_start, scores in the order asked); unknown items are a 404 naming them.

        A user the model does not know is scored by the item-only baseline (popularity).
        """
        indices = self.bundle.item_map.encode(list(item_ids))
        unknown = [item for item, i in zip(item_ids, indices, strict=True) if i < 0]
        if unknown:
            raise NotFound(f"unknown items: {', '.join(map(repr, unknown[:20]))}")
        user = self.bundle.user_map.get(user_id)
        if user < 0:
            return True, [round(float(s), 6) for s in self.popularity[indices]]
        scores = self.bundle.scorer.score_pairs(user, indices)
        return False, [round(float(s), 6) for s in scores]
