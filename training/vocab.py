"""External string ids <-> dense indices, and interactions encoded with them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.interactions import Interactions

UNKNOWN = -1


@dataclass(frozen=True)
class IdMap:
    """A bijection between external ids (str) and indices 0..n-1, in `ids` order."""

    ids: tuple[str, ...]

    def __post_init__(self) -> None:
        index = {value: i for i, value in enumerate(self.ids)}
        if len(index) != len(self.ids):
            raise ValueError("ids must be unique")
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_values(cls, values: Iterable[str]) -> IdMap:
        """Map the distinct values in order of first appearance."""
        return cls(tuple(dict.fromkeys(str(v) for v in values)))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, value: object) -> bool:
        return value in self._index  # type: ignore[attr-defined]

    def get(self, value: str) -> int:
        """Index of `value`, or UNKNOWN (-1)."""
        return self._index.get(value, UNKNOWN)  # type: ignore[attr-defined]

    def encode(self, values: Sequence[str] | np.ndarray) -> np.ndarray:
        """Indices (int32) of `values`; unknown values map to UNKNOWN (-1)."""
        lookup = self._index  # type: ignore[attr-defined]
        return np.fromiter((lookup.get(v, UNKNOWN) for v in values), np.int32, len(values))

    def decode(self, indices: Iterable[int]) -> list[str]:
        """External ids of `indices`."""
        return [self.ids[i] for i in indices]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(list(self.ids)))

    @classmethod
    def load(cls, path: Path) -> IdMap:
        values = json.loads(path.read_text())
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{path}: expected a JSON list of string ids")
        return cls(tuple(values))


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

    @classmethod
    def encode(
        cls,
        data: Interactions,
        user_map: IdMap | None = None,
        item_map: IdMap | None = None,
    ) -> EncodedInteractions:
        """Encode `data`; with given maps, rows whose user or item is unknown are dropped."""
        frame = data.frame
        user_map = user_map or IdMap.from_values(frame["user"])
        item_map = item_map or IdMap.from_values(frame["item"])
        users = user_map.encode(frame["user"].to_numpy())
        items = item_map.encode(frame["item"].to_numpy())
        keep = (users >= 0) & (items >= 0)
        genres = dict(zip(data.items["item"], data.items["genres"], strict=True))
        return cls(
            users=users[keep],
            items=items[keep],
            ratings=frame["rating"].to_numpy(np.float32)[keep],
            timestamps=frame["timestamp"].to_numpy(np.int64)[keep],
            user_map=user_map,
            item_map=item_map,
            item_genres=tuple(genres.get(i, "") for i in item_map.ids) if genres else (),
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
        )

    def item_counts(self) -> np.ndarray:
        """Interactions per item index (int64, length n_items)."""
        return np.bincount(self.items, minlength=self.n_items)
