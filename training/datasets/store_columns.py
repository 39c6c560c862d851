"""The interaction store read back as compact columns, streamed in chunks.

Interactions come from the database `chunk` rows at a time (a server-side cursor on
PostgreSQL, `yield_per`), as store row ids rather than external id strings; each chunk
becomes numpy columns at once (int32 user and item codes, float32 values, float64
timestamps, a bool per rating) and row ids become codes through a lookup array, so no Python
object per interaction outlives its chunk: about 17 bytes an interaction, where a mapping
and two strings per row took 20M rows past 23 GB.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from app.store.tables import Interaction, Item, User
from training.datasets.rows import RATING

CHUNK_ROWS = 500_000


@dataclass(frozen=True)
class StoreColumns:
    """Interactions as codes into `users` and `items` (external ids, object arrays)."""

    users: np.ndarray
    items: np.ndarray
    user_codes: np.ndarray  # int32
    item_codes: np.ndarray  # int32
    values: np.ndarray  # float32
    timestamps: np.ndarray  # float64, unix seconds
    is_rating: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.values)

    def frame(self) -> pd.DataFrame:
        """The columns of `Interactions.frame`, ids as categoricals over the id arrays."""
        return pd.DataFrame(
            {
                "user": pd.Categorical.from_codes(self.user_codes, categories=self.users),
                "item": pd.Categorical.from_codes(self.item_codes, categories=self.items),
                "rating": self.values,
                "timestamp": self.timestamps,
                "is_rating": self.is_rating,
            }
        )


def read_columns(
    connection: Connection,
    up_to_id: int | None = None,
    exclude_kinds: Collection[str] = (),
    chunk: int = CHUNK_ROWS,
) -> StoreColumns:
    """Interactions on visible items, in id order (up to `up_to_id`, when given), without the
    rows of `exclude_kinds`."""
    query = select(
        Interaction.user_id,
        Interaction.item_id,
        Interaction.value,
        Interaction.timestamp,
        Interaction.kind == RATING,
    ).order_by(Interaction.id)
    if up_to_id is not None:
        query = query.where(Interaction.id <= up_to_id)
    if exclude_kinds:
        query = query.where(Interaction.kind.not_in(list(exclude_kinds)))
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    parts = [
        (block[:, 0].astype(np.int32), block[:, 1].astype(np.int32),
         block[:, 2].astype(np.float32), block[:, 3], block[:, 4] != 0)
        for block in numeric_blocks(connection, sql, chunk)
    ]  # fmt: skip
    columns = joined(parts, (np.int32, np.int32, np.float32, np.float64, bool))
    # ids are read after the rows that use them: a row's user and item always exist before it
    users, user_code = _codes(connection, select(User.id, User.external_id))
    items, item_code = _codes(
        connection, select(Item.id, Item.external_id).where(Item.hidden.is_(False))
    )
    columns[0], columns[1] = user_code[columns[0]], item_code[columns[1]]
    visible = columns[1] >= 0  # hidden items have no code
    if not visible.all():
        columns = [column[visible] for column in columns]
    return StoreColumns(users, items, *columns)


def numeric_blocks(connection: Connection, sql: str, chunk: int) -> Iterator[np.ndarray]:
    """The rows of `sql` (numbers; NULL becomes NaN) as float64 blocks of at most `chunk`
    rows, through the driver's own cursor (server-side on PostgreSQL): SQLAlchemy's rows
    cost 18x as much, and no Python object per row outlives its chunk."""
    driver = connection.connection.driver_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name="reco_numeric_blocks") if postgres else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield np.array(rows, dtype=np.float64)
    finally:
        cursor.close()


def joined(parts: list[tuple[np.ndarray, ...]], dtypes: Sequence[type]) -> list[np.ndarray]:
    """Each column of the per-chunk column tuples `parts`, concatenated (empty, of its dtype
    in `dtypes`, when there are no chunks)."""
    if not parts:
        return [np.zeros(0, dtype) for dtype in dtypes]
    return [np.concatenate([part[n] for part in parts]) for n in range(len(dtypes))]


def _codes(connection: Connection, query: object) -> tuple[np.ndarray, np.ndarray]:
    """External ids (object array) and a row id -> code lookup (int32, -1 where none)."""
    rows = connection.execute(query).all()
    row_ids = np.fromiter((row[0] for row in rows), np.int64, len(rows))
    external = np.array([row[1] for row in rows], dtype=object)
    lookup = np.full(int(row_ids.max(initial=0)) + 1, -1, np.int32)
    lookup[row_ids] = np.arange(len(rows), dtype=np.int32)
    return external, lookup
