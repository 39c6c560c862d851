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
from sqlalchemy import Engine, Table
from tqdm import tqdm

from app.ids import ID_RULE, is_valid_id
from app.store.bulk import BulkLoad, bulk_load
from app.store.tables import Item, User
from training.datasets.rows import Rows, parse_chunk, rows_of
from training.datasets.stream import CHUNK_ROWS, TableStream
from training.interactions import DatasetError, Interactions, empty_items

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    rows: int
    new_interactions: int
    users: int  # distinct users and items of the data (exact below bulk.ID_CACHE_LIMIT)
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
    bar = tqdm(total=total, unit="rows", unit_scale=True, desc="import", disable=not progress)
    with bulk_load(engine) as load:
        for rows in parts:
            extra = {**meta, **_titles(rows.meta)} if len(rows.meta) else meta
            users = _resolve(load, User.__table__, rows.users, name, rows.first_line)
            items_ = _resolve(load, Item.__table__, rows.items, name, rows.first_line, extra)
            load.add(users, items_, rows.values, rows.kinds, rows.stamps)
            count += len(rows)
            bar.update(len(rows))
    bar.close()
    report = ImportReport(count, load.added, load.distinct.get("users", 0),
                          load.distinct.get("items", 0))  # fmt: skip
    log.info("imported %s: %d rows, %d new", name, report.rows, report.new_interactions)
    return report


def _titles(items: pd.DataFrame) -> dict[str, dict[str, str]]:
    return {row.item: {"title": row.title, "genres": row.genres}
            for row in items.itertuples(index=False)}  # fmt: skip


def _resolve(
    load: BulkLoad,
    table: Table,
    ids: pa.Array,
    name: str,
    first_line: int | None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> np.ndarray:
    """Store row ids of a chunk's external ids; ids the API could not address are refused
    (stored, they could never be asked for, nor corrected through the API)."""
    encoded = ids.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    what = table.name.removesuffix("s")

    def check(new: list[str]) -> None:
        bad = [external for external in new if not is_valid_id(external)]
        if bad:
            row = int(np.flatnonzero(codes == names.index(bad[0]))[0])
            shown = ", ".join(repr(external) for external in bad[:3])
            reason = f"{len(bad):,} {what} id(s) break the rule that {ID_RULE}: {shown}"
            raise DatasetError(name, reason, None if first_line is None else first_line + row)

    return load.ids(table, names, extra, check)[codes]
