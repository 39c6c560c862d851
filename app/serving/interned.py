"""Strings (item ids, kinds) stored once and referred to by small integer codes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class Interned:
    """Strings stored once, referred to by small integer codes (safe across threads)."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}
        self._adding = threading.Lock()  # a new string gets one code, whoever adds it

    def find(self, value: str) -> int | None:
        """The code of `value` if it has one (never makes one)."""
        return self._codes.get(value)

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            with self._adding:
                code = self._codes.get(value)
                if code is None:
                    self.values.append(value)  # first: a reader of a code finds its value
                    code = self._codes[value] = len(self.values) - 1
        return code

    def codes(self, values: Sequence[str]) -> np.ndarray:
        """The codes of `values` (int32), making the missing ones: one C-level dict lookup
        per value when all are known, as they nearly always are once a worker has served."""
        try:
            return np.fromiter(map(self._codes.__getitem__, values), np.int32, len(values))
        except KeyError:
            return np.fromiter(map(self.code, values), np.int32, len(values))
