"""Read the interaction store back as `Interactions`, for training on live data."""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from sqlalchemy import func, select

from app.config import get_settings
from app.store import deletions
from app.store.session import create_store_engine, init_schema, make_sessionmaker
from app.store.tables import Interaction, Item, User
from training.datasets.store_columns import read_columns
from training.interactions import Interactions


def load_store(
    database_url: str,
    up_to_id: int | None = None,
    negative_kinds: Collection[str] | None = None,
) -> Interactions:
    """Every interaction on a visible item (with id <= `up_to_id`, when given), with item
    titles and genres. A row's kind decides `is_rating`: only kind "rating" is a rating.
    Interactions of `negative_kinds` (default: RECO_NEGATIVE_KINDS, e.g. dislikes) are no
    rows: they are the data's `negatives`, which no model learns as positives."""
    if negative_kinds is None:
        negative_kinds = get_settings().negative_kinds
    engine = create_store_engine(database_url)
    init_schema(engine)
    visible = [Item.hidden.is_(False)]
    if up_to_id is not None:
        visible.append(Interaction.id <= up_to_id)
    negative = Interaction.kind.in_(list(negative_kinds))
    negatives_query = (
        select(User.external_id.label("user"), Item.external_id.label("item"))
        .select_from(Interaction)
        .join(User, Interaction.user_id == User.id)
        .join(Item, Interaction.item_id == Item.id)
        .where(*visible, negative)
        .distinct()
    )
    items_query = select(Item.external_id.label("item"), Item.title, Item.genres).where(
        Item.hidden.is_(False)
    )
    with engine.connect() as connection:
        frame = read_columns(connection, up_to_id, negative_kinds).frame()
        items = pd.DataFrame(connection.execute(items_query).mappings().all(),
                             columns=["item", "title", "genres"])  # fmt: skip
        negatives = pd.DataFrame(connection.execute(negatives_query).mappings().all(),
                                 columns=["user", "item"])  # fmt: skip
    engine.dispose()
    return Interactions(frame, "store", items, negatives)


def latest_interaction_id(database_url: str) -> int:
    """The newest interaction id in the store (0 when empty): what a model was trained up to."""
    engine = create_store_engine(database_url)
    with engine.connect() as connection:
        latest = connection.scalar(select(func.max(Interaction.id))) or 0
    engine.dispose()
    return int(latest)


def latest_deletion_id(database_url: str) -> int:
    """The newest deletion log id (0: none); read before the data, so the data holds no row
    of a deletion up to it."""
    engine = create_store_engine(database_url)
    init_schema(engine)
    with make_sessionmaker(engine)() as session:
        latest = deletions.latest_deletion_id(session)
    engine.dispose()
    return latest
