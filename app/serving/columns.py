"""The store view's storage: growable numpy columns, one row per interaction, and strings
(ids, kinds) stored once and referred to by small integer codes."""

from __future__ import annotations

import numpy as np


class Interned:
    """Strings stored once, referred to by small integer codes."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}

    def find(self, value: str) -> int | None:
        """The code of `value` if it has one (never makes one)."""
        return self._codes.get(value)

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code


class Columns:
    """Growable numpy columns, one row per interaction."""

    DTYPES = {
        "id": np.int64,
        "user": np.int32,
        "item": np.int32,
        "value": np.float32,
        "is_rating": np.bool_,
        "created_at": np.float64,
        "from_api": np.bool_,
        "timestamp": np.float64,
        "kind": np.int32,
    }

    def __init__(self) -> None:
        self.size = 0
        self.data = {name: np.empty(1024, dtype) for name, dtype in self.DTYPES.items()}

    def append(self, columns: dict[str, list]) -> None:
        count = len(columns["id"])
        capacity = len(self.data["id"])
        if self.size + count > capacity:
            capacity = max(2 * capacity, self.size + count)
            grown = {}
            for name, column in self.data.items():
                grown[name] = np.empty(capacity, column.dtype)
                grown[name][: self.size] = column[: self.size]
            self.data = grown
        for name, values in columns.items():
            self.data[name][self.size : self.size + count] = values
        self.size += count
