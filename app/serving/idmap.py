"""External string ids <-> dense indices: the id maps saved in every bundle (serving contract)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
