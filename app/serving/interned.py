"""Strings (item ids, kinds) stored once and referred to by small integer codes."""

from __future__ import annotations


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
