"""Shared fixtures: tiny datasets, store URLs (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from training.interactions import Interactions

ML100K = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ml-100k"
POSTGRES_URL = os.environ.get("RECO_TEST_POSTGRES_URL")

needs_ml100k = pytest.mark.skipif(
    not (ML100K / "u.data").is_file(), reason=f"MovieLens 100K not found at {ML100K}"
)


def options_for(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Those of `options` that model `name` has (tests share one option set across models)."""
    from training.models.base import model_class

    fields = model_class(name).config_class.model_fields
    return {key: value for key, value in options.items() if key in fields}


def fit_with(name: str, options: dict[str, Any], data: Any, **extra: Any) -> Any:
    """Model `name` built with those of `options` it has (plus `extra`), fitted on `data`."""
    from training.models.base import create_model

    model = create_model(name, **options_for(name, options), **extra)
    model.fit(data)
    return model


def popularity_artifacts(folder: Path) -> Path:
    """An artifacts folder under `folder` with one popularity bundle (numpy only, fast)."""
    from training.models.base import create_model
    from training.pipeline import train_and_export

    artifacts = folder / "artifacts"
    train_and_export(
        lambda: create_model("popularity"),
        block_interactions(),
        artifacts / "20260101T000000000000Z-popularity",
        holdout=False,
        report=False,
    )
    return artifacts


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def block_interactions(
    n_users: int = 20, n_items: int = 20, per_user: int = 6, dislikes: int = 3
) -> Interactions:
    """Two user groups that each like (5) one half of the catalog and dislike (1) a few items
    of the other half: the right top-1 is obvious."""
    rng = np.random.default_rng(0)
    rows = []
    half_users, half_items = n_users // 2, n_items // 2
    for user in range(n_users):
        group = 0 if user < half_users else 1
        liked = rng.choice(half_items, per_user, replace=False) + group * half_items
        disliked = rng.choice(half_items, dislikes, replace=False) + (1 - group) * half_items
        rows += [(str(user), str(item), 5.0, 1000 + i) for i, item in enumerate(liked)]
        rows += [(str(user), str(item), 1.0, 2000 + i) for i, item in enumerate(disliked)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    items = pd.DataFrame(
        {
            "item": [str(i) for i in range(n_items)],
            "title": [f"Item {i}" for i in range(n_items)],
            "genres": ["A" if i < half_items else "B" for i in range(n_items)],
        }
    )
    return Interactions(frame, "blocks", items)


@pytest.fixture
def blocks() -> Interactions:
    return block_interactions()


def _postgres_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store on a real SQLite file, and on PostgreSQL when RECO_TEST_POSTGRES_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("RECO_TEST_POSTGRES_URL is not set (PostgreSQL store tests)")
    yield from _postgres_url()


@pytest.fixture
def block_store_sessions(store_url: str) -> Iterator[Any]:
    """Sessions of a store (SQLite, and PostgreSQL when set) holding the block fixture
    (20 users x 9 events, items 0-19)."""
    from app.store.session import create_store_engine, init_schema, make_sessionmaker
    from training.importer import import_interactions

    engine = create_store_engine(store_url)
    init_schema(engine)
    import_interactions(engine, block_interactions(), progress=False)
    yield make_sessionmaker(engine)
    engine.dispose()
