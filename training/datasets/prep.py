"""Data preparation the notebooks did by hand: positives by threshold, k-core filtering."""

from __future__ import annotations

from typing import Any

from training.interactions import Interactions


def binarize(data: Interactions, threshold: float | None) -> Interactions:
    """Keep rows rated at least `threshold` (as positives), and every event that is not a
    rating (a click is a positive whatever its value); None keeps everything."""
    if threshold is None:
        return data
    frame = data.frame
    return data.with_rows(frame[~frame["is_rating"] | (frame["rating"] >= threshold)])


def filter_min_interactions(
    data: Interactions, min_user: int = 1, min_item: int = 1
) -> Interactions:
    """Drop users and items with too few rows, repeated until both limits hold (k-core)."""
    if min_user <= 1 and min_item <= 1:  # every user and item present has a row
        return data
    frame = data.frame
    while True:
        users = frame["user"].map(frame["user"].value_counts()) >= min_user
        items = frame["item"].map(frame["item"].value_counts()) >= min_item
        keep = users & items
        if keep.all():
            return data.with_rows(frame)
        frame = frame[keep]


def prepare(data: Interactions, params: dict[str, Any]) -> Interactions:
    """Apply the preparation options among `params` (rating_threshold, min_user_interactions,
    min_item_interactions)."""
    data = binarize(data, params.get("rating_threshold"))
    return filter_min_interactions(
        data,
        int(params.get("min_user_interactions", 1)),
        int(params.get("min_item_interactions", 1)),
    )
