"""Every user's stored events up to the interaction id a bundle was trained through, as the
arrays the bundle carries (`histories_*.npy`), so that serving answers a user the bundle
knows, and who has no newer event, without reading the store (app/serving/trained_histories.py).

What is written is what serving would read from the store for that user (all kinds, hidden
items included), not the training rows: the items a user saw, to exclude, are all of them.
Rows come from the covering index by (user, id), `chunk` at a time, as numbers only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select

from app.serving.idmap import IdMap
from app.store.session import create_store_engine
from app.store.tables import Interaction, User
from training.datasets.store_columns import joined, numeric_blocks

CHUNK_ROWS = 500_000
KIND_DTYPE = np.int16  # kinds are few (a code per distinct `kind` of the store)


def store_histories(
    database_url: str, up_to_id: int, user_map: IdMap, chunk: int = CHUNK_ROWS
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The histories of the users of `user_map` (in its order) from interactions with id <=
    `up_to_id`: arrays by file stem (offsets, ids, item row ids, kind codes, and the newest
    `created_at` of each user's API events, NaN if none), and the manifest's `histories`
    entry (the id they run through, the kinds the codes name)."""
    engine = create_store_engine(database_url)
    try:
        with engine.connect() as connection:
            # users before rows: every row up to `up_to_id` has its user already
            index = _bundle_index(connection, user_map)
            kinds = _kinds(connection, up_to_id)
            users, ids, items, kind_codes, api_at = _rows(connection, up_to_id, kinds, index, chunk)
    finally:
        engine.dispose()
    order = np.argsort(users, kind="stable")  # by bundle row, each user's events by id
    counts = np.bincount(users, minlength=len(user_map))
    newest_api = np.full(len(user_map), np.nan)
    np.fmax.at(newest_api, users[~np.isnan(api_at)], api_at[~np.isnan(api_at)])
    arrays = {
        "histories_offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "histories_ids": ids[order],
        "histories_items": items[order],
        "histories_kinds": kind_codes[order],
        "histories_newest_api_at": newest_api,
    }
    return arrays, {"through_interaction_id": int(up_to_id), "kinds": kinds}


def _kinds(connection: Connection, up_to_id: int) -> list[str]:
    query = select(func.distinct(Interaction.kind)).where(Interaction.id <= up_to_id)
    return sorted(connection.scalars(query))


def _rows(
    connection: Connection, up_to_id: int, kinds: list[str], index: np.ndarray, chunk: int
) -> tuple[np.ndarray, ...]:
    """(bundle user row, id, item row id, kind code, created_at if posted to the API else
    NaN) of every interaction up to `up_to_id` of a user `index` maps to a bundle row, in
    the store's (user, id) order."""
    dtypes = (np.int32, np.int64, np.int32, KIND_DTYPE, np.float64)
    if not kinds:  # no interaction
        return tuple(joined([], dtypes))
    code = " ".join(f"WHEN {quoted} THEN {n}" for n, quoted in enumerate(map(_quoted, kinds)))
    sql = (
        f"SELECT user_id, id, item_id, CASE kind {code} END, "
        "CASE WHEN source = 'api' THEN created_at END FROM interactions "
        f"WHERE id <= {int(up_to_id)} ORDER BY user_id, id"
    )
    parts = []
    for block in numeric_blocks(connection, sql, chunk):  # None (no API time) becomes NaN
        users = index[block[:, 0].astype(np.int64)]
        known = users >= 0
        columns = (block[known, n].astype(dtypes[n]) for n in range(1, len(dtypes)))
        parts.append((users[known], *columns))
    return tuple(joined(parts, dtypes))


def _quoted(kind: str) -> str:
    return "'" + kind.replace("'", "''") + "'"


def _bundle_index(connection: Connection, user_map: IdMap) -> np.ndarray:
    """A user row id -> bundle row lookup (int32, -1 for users the bundle does not know)."""
    rows = connection.execute(select(User.id, User.external_id)).all()
    lookup = np.full(max((row[0] for row in rows), default=0) + 1, -1, np.int32)
    for row_id, external_id in rows:
        lookup[row_id] = user_map.get(external_id)
    return lookup
