"""The store read as compact columns holds exactly the rows a join over the tables gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select, update

from app.store.repository import add_interactions
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from app.store.tables import Interaction, Item, User
from training.datasets.store_columns import read_columns
from training.datasets.synthetic import make_synthetic
from training.importer import import_interactions
from training.interactions import Interactions


def _joined(connection, up_to_id: int, exclude: list[str]) -> pd.DataFrame:
    """The reference: one row per interaction through SQL joins, external ids as text."""
    query = (
        select(User.external_id, Item.external_id, Interaction.value, Interaction.timestamp,
               Interaction.kind == "rating")
        .join(User, Interaction.user_id == User.id)
        .join(Item, Interaction.item_id == Item.id)
        .where(Item.hidden.is_(False), Interaction.id <= up_to_id, Interaction.kind.not_in(exclude))
        .order_by(Interaction.id)
    )  # fmt: skip
    rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp", "is_rating"])


def test_store_columns_equal_the_joined_rows(store_url):
    engine = create_store_engine(store_url)
    init_schema(engine)
    import_interactions(engine, make_synthetic(30, 40, 600, seed=5), progress=False)
    events = [
        {"user_id": u, "item_id": i, "value": 1.0, "kind": k, "timestamp": 1e9 + n}
        for n, (u, i, k) in enumerate(
            [("new", "1", "click"), ("1", "2", "dislike"), ("2", "late", "play"), ("3", "4", "x")]
        )
    ]
    with make_sessionmaker(engine)() as session:
        add_interactions(session, events[:3])
        up_to = session.scalar(select(Interaction.id).order_by(Interaction.id.desc()).limit(1))
        add_interactions(session, events[3:])  # after the cut-off
        session.execute(update(Item).where(Item.external_id == "7").values(hidden=True))
        session.commit()
    with engine.connect() as connection:
        columns = read_columns(connection, up_to, ["dislike"], chunk=64)
        expected = _joined(connection, up_to, ["dislike"])
    engine.dispose()
    assert columns.user_codes.dtype == np.int32 and columns.values.dtype == np.float32
    assert len(columns) == len(expected) > 500
    got = Interactions(columns.frame(), "store").frame
    want = Interactions(expected, "store").frame
    pd.testing.assert_frame_equal(got, want)
    assert "7" not in set(got["item"]) and "late" in set(got["item"])
