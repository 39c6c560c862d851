"""Bulk-load interactions into the store: streamed in chunks, one transaction, idempotent.

A file is read a chunk of rows at a time (training/datasets/stream.py), typed
(training/datasets/rows.py), its ids resolved against the store per chunk and its rows
appended with the database's fast path (app/store/bulk.py), so memory does not grow with the
file. The whole file is one transaction: a bad row (named by its line) or an interrupted
import leaves the store as it was. Rows already imported (same user, item, kind and
timestamp) are skipped, so importing the same data twice adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Table
from tqdm import tqdm

from app.ids import ID_PATTERN, ID_RULE
from app.store.bulk import BulkLoad, bulk_load
from app.store.tables import Item, User
from training.datasets.rows import Rows, parse_chunk, rows_of
from training.datasets.stream import CHUNK_ROWS, TableStream
from training.interactions import DatasetError, Interactions, empty_items

log = logging.getLogger(__name__)

ID_CACHE_LIMIT = 10_000_000  # ids kept per table, about 250 MB at most


@dataclass(frozen=True)
class ImportReport:
    rows: int
    new_interactions: int
    users: int  # distinct users and items of the data (exact below ID_CACHE_LIMIT)
    items: int


def import_interactions(
    engine: Engine, data: Interactions, *, progress: bool = True
) -> ImportReport:
    """Import an in-memory dataset: ratings as kind rating, other rows as events."""
    return import_rows(engine, data.name, [rows_of(data)], empty_items(), progress=progress,
                       total=len(data))  # fmt: skip


def import_stream(
    engine: Engine, stream: TableStream, *, chunk_rows: int = CHUNK_ROWS, progress: bool = True
) -> ImportReport:
    """Import a file chunk by chunk; memory follows `chunk_rows`, not the file's size."""
    parts = (parse_chunk(chunk, stream.path) for chunk in stream.chunks(chunk_rows))
    return import_rows(engine, str(stream.path), parts, stream.items, progress=progress)


def import_rows(
    engine: Engine,
    name: str,
    parts: Iterable[Rows],
    items: pd.DataFrame,
    *,
    progress: bool = True,
    total: int | None = None,
) -> ImportReport:
    """Insert the users, items (titles and genres from `items` or the rows) and interactions
    of `parts` in one transaction; all or nothing."""
    meta = _titles(items)
    count = 0
    users, items_ = KnownIds(User.__table__), KnownIds(Item.__table__)
    bar = tqdm(total=total, unit="rows", unit_scale=True, desc="import", disable=not progress)
    with bulk_load(engine) as load:
        for rows in parts:
            extra = {**meta, **_titles(rows.meta)} if len(rows.meta) else meta
            load.add(
                users.resolve(load, rows.users, name, rows.first_line),
                items_.resolve(load, rows.items, name, rows.first_line, extra),
                rows.values,
                rows.kinds,
                rows.stamps,
            )
            count += len(rows)
            bar.update(len(rows))
    bar.close()
    report = ImportReport(count, load.added, users.distinct, items_.distinct)
    log.info("imported %s: %d rows, %d new", name, report.rows, report.new_interactions)
    return report


def _titles(items: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {row.item: {"title": row.title, "genres": row.genres}
            for row in items.itertuples(index=False)}  # fmt: skip


class KnownIds:
    """External id -> store row id of one table, as two compact arrays (about 25 bytes an
    id, no Python object per id); ids are matched in Arrow's hash lookup, a chunk at a time.
    Past `limit` ids it starts again from the current chunk's, so memory stays bounded."""

    def __init__(self, table: Table, limit: int = ID_CACHE_LIMIT) -> None:
        self.table, self.limit, self.distinct = table, limit, 0
        self.names = pa.array([], pa.string())
        self.rows = np.zeros(0, np.int64)

    def resolve(
        self,
        load: BulkLoad,
        ids: pa.Array,
        name: str,
        first_line: int | None,
        extra: Mapping[str, Mapping[str, str]] | None = None,
    ) -> np.ndarray:
        """Store row ids of a chunk's external ids, creating the new ones; ids the API could
        not address are refused (stored, they could never be asked for, nor corrected)."""
        encoded = ids.dictionary_encode()
        unique = encoded.dictionary
        where = pc.index_in(unique, value_set=self.names).fill_null(-1).to_numpy()
        found = np.where(where >= 0, self.rows[np.maximum(where, 0)] if len(self.rows) else -1, -1)
        missing = np.flatnonzero(where < 0)
        if len(missing):
            new = unique.take(pa.array(missing))
            _check_ids(new, encoded.indices, missing, self.table.name, name, first_line)
            found[missing] = load.ids(self.table, new.to_pylist(), extra or {})
            self.distinct += len(missing)
            if len(self.names) + len(missing) > self.limit:
                self.names, self.rows = pa.array([], pa.string()), np.zeros(0, np.int64)
            self.names = pa.concat_arrays([self.names, new.cast(pa.string())])
            self.rows = np.concatenate([self.rows, found[missing]])
        return found[encoded.indices.to_numpy(zero_copy_only=False)]


def _check_ids(
    new: pa.Array,
    codes: pa.Array,
    positions: np.ndarray,
    table: str,
    name: str,
    first_line: int | None,
) -> None:
    """DatasetError naming the first of `new` ids (at `positions` of the chunk's distinct
    ids) that breaks the API's id rule, with its line."""
    valid = pc.match_substring_regex(new, ID_PATTERN).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~valid)
    if not len(bad):
        return
    row = int(np.flatnonzero(codes.to_numpy(zero_copy_only=False) == positions[bad[0]])[0])
    shown = ", ".join(repr(external) for external in new.take(pa.array(bad[:3])).to_pylist())
    reason = f"{len(bad):,} {table.removesuffix('s')} id(s) break the rule that {ID_RULE}: {shown}"
    raise DatasetError(name, reason, None if first_line is None else first_line + row)
