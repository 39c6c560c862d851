"""Interactions encoded with the id maps of the serving contract (`app.serving.idmap`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from app.serving.idmap import IdMap
from training.interactions import Interactions


def pair_codes(rows: np.ndarray, columns: np.ndarray, n_columns: int) -> np.ndarray:
    """One int64 code per (row, column) pair of a rows x n_columns grid, row * n_columns +
    column: pairs become sortable, unique-able and searchable as plain integers."""
    return np.asarray(rows).astype(np.int64) * n_columns + columns


def distinct(values: np.ndarray) -> np.ndarray:
    """np.unique(values) by a sort: numpy 2.4's np.unique hashes first, which took 19-23 s
    for 17.5M pair codes here against 0.4 s for this."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def split_pair_codes(codes: np.ndarray, n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, columns) of `pair_codes`."""
    return np.divmod(codes, n_columns)


def _codes(values: pd.Series, id_map: IdMap | None) -> tuple[np.ndarray, IdMap]:
    """int32 codes of `values` and their map: `id_map` when given (-1 for an id it lacks),
    else the distinct values in order of first appearance (`IdMap.from_values`'s order).
    Vectorised: a Python lookup per row took minutes at 20M rows."""
    if id_map is None:
        codes, distinct = pd.factorize(values, sort=False)
        return codes.astype(np.int32), IdMap(tuple(str(v) for v in distinct))
    return pd.Index(id_map.ids).get_indexer(values).astype(np.int32), id_map


@dataclass(frozen=True)
class EncodedInteractions:
    """Interactions as parallel dense arrays, with the id maps that produced them."""

    users: np.ndarray  # int32
    items: np.ndarray  # int32
    ratings: np.ndarray  # float32
    timestamps: np.ndarray  # int64
    user_map: IdMap
    item_map: IdMap
    # per item index, its "|"-separated genres ("" when unknown); empty without item metadata
    item_genres: tuple[str, ...] = ()
    # bool per row: a rating (rating models learn from these only); None: every row is one
    is_rating: np.ndarray | None = None
    # explicit negative (user, item) pairs, apart from the rows (Interactions.negatives)
    negative_users: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    negative_items: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))

    def __post_init__(self) -> None:
        if self.is_rating is None:
            object.__setattr__(self, "is_rating", np.ones(len(self.users), bool))

    @classmethod
    def encode(
        cls,
        data: Interactions,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
    ) -> EncodedInteractions:
        """Encode `data`; with given maps, rows whose user or item is unknown are dropped, as
        are rows of a pair the user gave negative feedback (a dislike is never a positive)."""
        frame = data.frame
        users, user_map = _codes(frame["user"], user_map)
        items, item_map = _codes(frame["item"], item_map)
        negative_users, _ = _codes(data.negatives["user"], user_map)
        negative_items, _ = _codes(data.negatives["item"], item_map)
        known = (negative_users >= 0) & (negative_items >= 0)
        negative_users, negative_items = negative_users[known], negative_items[known]
        negative = np.isin(pair_codes(users, items, len(item_map)),
                           pair_codes(negative_users, negative_items, len(item_map)))  # fmt: skip
        keep = (users >= 0) & (items >= 0) & ~negative
        genres = dict(zip(data.items["item"], data.items["genres"], strict=True))
        return cls(
            users=users[keep],
            items=items[keep],
            ratings=frame["rating"].to_numpy(np.float32)[keep],
            timestamps=frame["timestamp"].to_numpy(np.int64)[keep],
            user_map=user_map,
            item_map=item_map,
            item_genres=tuple(genres.get(i, "") for i in item_map.ids) if genres else (),
            is_rating=frame["is_rating"].to_numpy(bool)[keep],
            negative_users=negative_users.astype(np.int32),
            negative_items=negative_items.astype(np.int32),
        )

    def __len__(self) -> int:
        return len(self.users)

    @property
    def n_users(self) -> int:
        return len(self.user_map)

    @property
    def n_items(self) -> int:
        return len(self.item_map)

    def subset(self, mask_or_index: np.ndarray) -> EncodedInteractions:
        """The rows selected by a boolean mask or an index array, with the same id maps."""
        return EncodedInteractions(
            users=self.users[mask_or_index],
            items=self.items[mask_or_index],
            ratings=self.ratings[mask_or_index],
            timestamps=self.timestamps[mask_or_index],
            user_map=self.user_map,
            item_map=self.item_map,
            item_genres=self.item_genres,
            is_rating=self.is_rating[mask_or_index],
            negative_users=self.negative_users,
            negative_items=self.negative_items,
        )

    def of_users(self, users: np.ndarray) -> EncodedInteractions:
        """The rows and negatives of `users` (distinct codes), renumbered 0..len(users)-1 in
        code order with a user map of just them: a model fitted on it sizes its user tables
        to these users. Items keep their map."""
        chosen = np.sort(users)
        code = np.full(self.n_users, -1, np.int32)
        code[chosen] = np.arange(len(chosen), dtype=np.int32)
        rows = code[self.users] >= 0
        negatives = code[self.negative_users] >= 0
        return EncodedInteractions(
            users=code[self.users[rows]],
            items=self.items[rows],
            ratings=self.ratings[rows],
            timestamps=self.timestamps[rows],
            user_map=IdMap(tuple(self.user_map.ids[u] for u in chosen)),
            item_map=self.item_map,
            item_genres=self.item_genres,
            is_rating=self.is_rating[rows],
            negative_users=code[self.negative_users[negatives]],
            negative_items=self.negative_items[negatives],
        )

    def ratings_only(self, needed_by: str) -> EncodedInteractions:
        """The rating rows, for what learns or measures ratings (an event such as a click is
        not a rating, whatever its value); a ValueError naming `needed_by` when there are none."""
        if not self.is_rating.any():
            raise ValueError(f"{needed_by} needs ratings, and the data has no rating rows")
        return self if self.is_rating.all() else self.subset(self.is_rating)

    def item_counts(self) -> np.ndarray:
        """Interactions per item index (int64, length n_items)."""
        return np.bincount(self.items, minlength=self.n_items)
