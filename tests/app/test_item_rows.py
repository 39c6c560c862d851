"""Item row ids -> interned codes: the whole catalog learned a block at a time, then only
the blocks a history brings new row ids from."""

from __future__ import annotations

import numpy as np

from app.serving.interned import Interned
from app.serving.item_rows import BLOCK, UNKNOWN, ItemRows


def test_the_catalog_is_learned_a_block_at_a_time_and_new_rows_from_the_first_unknown():
    stored = {row: f"item-{row}" for row in range(1, 2 * BLOCK + 10) if row % 7}  # gaps
    lookups: list[tuple[int, int]] = []

    def lookup(low: int, high: int) -> list[tuple[int, str]]:
        lookups.append((low, high))
        return [(row, name) for row, name in stored.items() if low <= row < high]

    items = Interned()
    rows = ItemRows(items)
    rows.learn_through(max(stored), lookup)
    assert lookups == [(0, BLOCK), (BLOCK, 2 * BLOCK), (2 * BLOCK, 3 * BLOCK)]
    asked = np.array([1, BLOCK + 1, 2 * BLOCK + 9])
    assert [items.values[c] for c in rows.codes(asked, lookup)] == [stored[r] for r in asked]
    assert len(lookups) == 3  # all known: no lookup
    stored[BLOCK + 5] = "posted-later"  # a row id left free (a multiple of 7)
    assert rows.codes(np.array([7, BLOCK + 5]), lookup)[0] == UNKNOWN  # 7: never stored
    assert lookups[3:] == [(7, BLOCK), (BLOCK + 5, 2 * BLOCK)]
    assert items.values[rows.codes(np.array([BLOCK + 5]), lookup)[0]] == "posted-later"
