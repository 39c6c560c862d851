"""A user's history built from the store's rows (app/store/log_reads.py) as the columns of
a `History`: read whole, without the columns only a fold-in reads; those read when a fold-in
needs them; and the tail's new rows appended. Items and kinds become codes of lists that
only grow, shared by every history of one store view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

import numpy as np
from sqlalchemy import Engine

from app.serving.interned import Interned
from app.serving.item_rows import UNKNOWN, ItemRows
from app.serving.records import FoldInColumns, History
from app.serving.trained_histories import UserEvents
from app.store.log_reads import (
    InteractionRow,
    item_external_ids,
    user_fold_in_rows,
    user_history,
)


class HistoryReads:
    """Histories of one store's users, their items and kinds interned (see the module
    docstring); thread-safe, as `Interned` and `ItemRows` are."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._items = Interned()
        self._item_rows = ItemRows(self._items)
        self._item_lookup = partial(item_external_ids, engine)
        self._kinds = Interned()

    def item_code(self, item_id: str) -> int | None:
        """The code of an item some history held, if any (never makes one)."""
        return self._items.find(item_id)

    def learn_catalog(self, highest_row_id: int) -> None:
        """Learn the item row ids up to `highest_row_id` (app/serving/item_rows.py)."""
        self._item_rows.learn_through(highest_row_id, self._item_lookup)

    def read(self, user_id: str, history: History) -> History:
        """The user's history from the store, without its fold-in columns: the ids, items
        and kinds of their events in id order, after `history` (empty: its version)."""
        listed_ids, listed_items, kind, kinds, newest_api_at = user_history(self._engine, user_id)
        if listed_ids is None:
            return history
        ids = np.fromstring(listed_ids, np.int64, sep=",")
        item_rows = np.fromstring(listed_items, np.int64, sep=",")
        if kinds is None:  # one kind, as most users have
            kind_codes = np.full(len(ids), self._kinds.code(kind), np.int32)
        else:
            kind_codes = self._kinds.codes(kinds.split(","))
        if (ids[1:] < ids[:-1]).any():  # SQLite promises no order within an aggregate
            order = np.argsort(ids)
            ids, item_rows, kind_codes = ids[order], item_rows[order], kind_codes[order]
        item_codes = self._item_rows.codes(item_rows, self._item_lookup)
        columns = {"ids": ids, "item_codes": item_codes, "kind_codes": kind_codes}
        newest = -math.inf if newest_api_at is None else newest_api_at
        return self._grown(history, columns, newest, None)

    def from_trained(self, events: UserEvents, gone: list[str], history: History) -> History:
        """The history of a user's `events` as a bundle holds them, less those of the items
        `gone` (deleted since), after `history` (empty: its version)."""
        if not len(events.ids):
            return history
        item_codes = self._item_rows.codes(events.item_rows, self._item_lookup)
        if gone:
            deleted = [code for item in gone if (code := self._items.find(item)) is not None]
            item_codes = np.where(np.isin(item_codes, deleted), UNKNOWN, item_codes)
        kind_codes = self._kinds.codes(events.kinds)[events.kind_codes]
        columns = {"ids": events.ids, "item_codes": item_codes, "kind_codes": kind_codes}
        return self._grown(history, columns, events.newest_api_at, None)

    def with_fold_in(self, user_id: str, history: History) -> History:
        """`history` with its fold-in columns, read from the store by id. An event the store
        no longer has (deleted since the history was read) leaves it."""
        rows = user_fold_in_rows(self._engine, user_id)
        stored = np.fromiter((row[0] for row in rows), np.int64, len(rows))
        at = np.searchsorted(stored, history.ids)
        found = at < len(stored)
        found[found] = stored[at[found]] == history.ids[found]
        if not found.all():
            history, at = history.only(found), at[found]
        values = np.array([row[1] for row in rows], np.float32)[at]  # None (no value): NaN
        times = np.fromiter((row[2] for row in rows), np.float64, len(rows))[at]
        return replace(history, fold_in=FoldInColumns(values, times))

    def appended(self, history: History, rows: Sequence[InteractionRow]) -> History:
        """`history` with the tail rows it does not hold yet appended (its fold-in columns
        too, if it has them); its version grows with it."""
        if len(history):
            held = set(history.ids.tolist())
            rows = [row for row in rows if row[0] not in held]
        if not rows:
            return history
        ids, _, items, values, kinds, created_at, from_api, timestamps = zip(*rows, strict=True)
        n = len(rows)
        item_rows = np.fromiter(items, np.int64, n)
        columns = {
            "ids": np.fromiter(ids, np.int64, n),
            "item_codes": self._item_rows.codes(item_rows, self._item_lookup),
            "kind_codes": self._kinds.codes(kinds),
        }
        api_times = [at for at, api in zip(created_at, from_api, strict=True) if api]
        fold_in = None
        if history.fold_in is not None:
            fold_in = FoldInColumns(np.array(values, np.float32),
                                    np.fromiter(timestamps, np.float64, n))  # fmt: skip
        return self._grown(history, columns, max(api_times, default=-math.inf), fold_in)

    def _grown(
        self,
        history: History,
        columns: dict[str, np.ndarray],
        newest_api_at: float,
        fold_in: FoldInColumns | None,
    ) -> History:
        """`history` with the events of `columns` (ids, item_codes, kind_codes) appended,
        less those whose item is gone (`UNKNOWN`: a deletion took their events too)."""
        known = columns["item_codes"] != UNKNOWN
        if not known.all():
            columns = {name: values[known] for name, values in columns.items()}
            fold_in = None if fold_in is None else fold_in[known]
        columns["is_rating"] = columns["kind_codes"] == self._kinds.code("rating")
        if len(history):
            columns = {
                name: np.concatenate([getattr(history, name), values])
                for name, values in columns.items()
            }
            if fold_in is not None:
                old = history.fold_in
                fold_in = FoldInColumns(
                    np.concatenate([old.values, fold_in.values]),
                    np.concatenate([old.timestamps, fold_in.timestamps]),
                )
        return History(
            **columns,
            item_names=self._items.values,
            kind_names=self._kinds.values,
            newest_api_at=max(history.newest_api_at, newest_api_at),
            fold_in=fold_in,
            deleted=history.deleted,
            version=history.version + len(columns["ids"]),
        )
