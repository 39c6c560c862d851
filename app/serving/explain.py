"""Explanations: per recommended item, the user's history items nearest to it in embedding
space (cosine), so a client can say "because you liked ..."."""

from __future__ import annotations

import numpy as np

from app.serving.idmap import IdMap
from app.serving.records import Because


def explain(
    unit_items: np.ndarray | None,
    item_map: IdMap,
    titles: list[str],
    recommended: np.ndarray,
    history: np.ndarray,
    per_item: int,
) -> list[list[Because]]:
    """Up to `per_item` history items per recommended item, most similar first; no reasons
    for a model without item embeddings or a user without history."""
    history = np.unique(history)
    if unit_items is None or len(history) == 0:
        return [[] for _ in recommended]
    similarity = unit_items[recommended] @ unit_items[history].T
    reasons = []
    for row in similarity:
        best = np.argsort(-row, kind="stable")[:per_item]
        reasons.append(
            [
                Because(item_map.ids[history[j]], titles[history[j]], round(float(row[j]), 6))
                for j in best
            ]
        )
    return reasons
