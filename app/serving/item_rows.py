"""The store's item row ids translated to a view's interned item codes, learned a block of
row ids at a time, so that reading a history needs no join with the items table (a
primary-key lookup and a string per event: a third of SQLite's time for a history at 20M
events). Blocks, not single items: cold users bring a few items not met yet to most of the
first thousands of requests, and a query for each costs more than the join it saves."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import numpy as np

from app.serving.interned import Interned

UNKNOWN = -1
BLOCK = 65_536  # row ids read at once (the block's part from the lowest id missing)

# (low, high) -> (row id, external id) of the items the store has with low <= row id < high
Lookup = Callable[[int, int], Iterable[tuple[int, str]]]


class ItemRows:
    """Item row id -> code in `items` (`UNKNOWN` for a row id the store no longer has). Sound
    because the store never hands a row id out twice (migration 0007, PostgreSQL sequences)."""

    def __init__(self, items: Interned) -> None:
        self._items = items
        self._codes = np.empty(0, np.int32)  # replaced whole, never written in place
        self._learning = threading.Lock()

    def codes(self, row_ids: np.ndarray, lookup: Lookup) -> np.ndarray:
        """The codes of `row_ids` (at least one; int32, `UNKNOWN` where the item is gone),
        asking `lookup` for the rows not met before."""
        table = self._codes
        try:
            codes = table[row_ids]
        except IndexError:  # a row id past the table
            return self._learn(row_ids, lookup)[row_ids]
        return codes if codes.min() > UNKNOWN else self._learn(row_ids, lookup)[row_ids]

    def learn_through(self, highest: int, lookup: Lookup) -> None:
        """Learn every row id up to `highest` (the whole catalog, at start-up or after a bulk
        import), so that the first requests do not stall while a block is read."""
        if highest > 0:
            self._learn(np.arange(highest + 1), lookup)

    def _learn(self, row_ids: np.ndarray, lookup: Lookup) -> np.ndarray:
        with self._learning:  # readers keep using the table they hold: it is not written
            table = self._codes
            size = (int(row_ids.max(initial=-1)) // BLOCK + 1) * BLOCK
            grown = np.full(max(size - len(table), 0), UNKNOWN, np.int32)
            table = np.concatenate([table, grown])
            missing = np.unique(row_ids[table[row_ids] == UNKNOWN])
            blocks = np.unique(missing // BLOCK)
            firsts = missing[np.searchsorted(missing, blocks * BLOCK)]  # missing is sorted
            for block, low in zip(blocks.tolist(), firsts.tolist(), strict=True):
                rows = list(lookup(low, (block + 1) * BLOCK))
                if rows:
                    learned, external_ids = zip(*rows, strict=True)
                    table[list(learned)] = self._items.codes(external_ids)
            self._codes = table
            return table
