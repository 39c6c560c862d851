"""Bulk-load a dataset into the store: one transaction, idempotent, with progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, func, select
from tqdm import tqdm

from app.ids import ID_RULE, is_valid_id
from app.store.repository import CHUNK, ensure_ids, insert_ignoring_duplicates
from app.store.tables import Interaction, Item, User
from training.interactions import DatasetError, Interactions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportReport:
    rows: int
    new_interactions: int
    users: int
    items: int


def import_interactions(
    engine: Engine, data: Interactions, *, progress: bool = True
) -> ImportReport:
    """Insert users, items (with titles/genres) and interactions; all or nothing.

    Rows already imported (same user, item, kind and timestamp) are skipped, so importing the
    same data twice leaves the store as after the first time. Data with an id that the API
    could not address (app/ids.py) is refused before anything is written.
    """
    frame = data.frame
    _check_ids(data.name, "user", frame["user"].unique().tolist())
    _check_ids(data.name, "item", frame["item"].unique().tolist())
    meta = {
        row.item: {"title": row.title, "genres": row.genres}
        for row in data.items.itertuples(index=False)
    }
    with engine.begin() as connection:
        before = connection.scalar(select(func.count(Interaction.id))) or 0
        users = ensure_ids(connection, User.__table__, frame["user"].unique().tolist())
        items = ensure_ids(connection, Item.__table__, frame["item"].unique().tolist(), meta)
        user_ids = frame["user"].map(users).to_numpy()
        item_ids = frame["item"].map(items).to_numpy()
        values, stamps = frame["rating"].to_numpy(), frame["timestamp"].to_numpy()
        kinds = np.where(frame["is_rating"].to_numpy(), "rating", "interaction")
        bar = tqdm(total=len(frame), unit="rows", desc="import", disable=not progress)
        for start in range(0, len(frame), CHUNK):
            stop = start + CHUNK
            rows = [
                {
                    "user_id": int(u),
                    "item_id": int(i),
                    "value": float(v),
                    "kind": str(k),
                    "timestamp": float(t),
                    "source": "import",
                }
                for u, i, v, k, t in zip(
                    user_ids[start:stop],
                    item_ids[start:stop],
                    values[start:stop],
                    kinds[start:stop],
                    stamps[start:stop],
                    strict=True,
                )
            ]
            insert_ignoring_duplicates(connection, Interaction.__table__, rows)
            bar.update(len(rows))
        bar.close()
        after = connection.scalar(select(func.count(Interaction.id))) or 0
    report = ImportReport(len(frame), after - before, len(users), len(items))
    log.info("imported %s: %d rows, %d new", data.name, report.rows, report.new_interactions)
    return report


def _check_ids(name: str, what: str, ids: list[str]) -> None:
    """Refuse ids that break the API's id rule: stored, they could never be asked for
    (`/users/a%2Fb` routes to `/users/a/b`), nor corrected through the API."""
    bad = [external for external in ids if not is_valid_id(external)]
    if bad:
        shown = ", ".join(repr(external) for external in bad[:3])
        raise DatasetError(
            name, f"{len(bad):,} {what} id(s) break the rule that {ID_RULE}: {shown}"
        )
