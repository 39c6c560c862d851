"""A served app over a real SQLite store and a real bundle trained on the block fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.store.session import create_store_engine, init_schema
from tests.conftest import block_interactions
from training.importer import import_interactions
from training.interactions import Interactions
from training.pipeline import train_and_export


@pytest.fixture(scope="session")
def mf_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An artifacts folder holding one small mf bundle (trained once per session)."""
    from training.models.base import create_model

    root = tmp_path_factory.mktemp("artifacts")
    params = {
        "epochs": 20,
        "factors": 8,
        "learning_rate": 0.05,
        "validation_fraction": 0.0,
        "batch_size": 64,
        "l2": 0.001,
    }
    train_and_export(
        lambda: create_model("mf", **params),
        block_interactions(),
        root / "20260101T000000000000Z-mf",
        report=False,
    )
    return root


def make_client_for(
    artifacts: Path, tmp_path: Path, data: Interactions, **overrides: object
) -> TestClient:
    """A client of an app over `artifacts` and a fresh SQLite store holding `data`."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_store_engine(url)
    init_schema(engine)
    import_interactions(engine, data, progress=False)
    engine.dispose()
    return TestClient(create_app(Settings(database_url=url, artifacts_dir=artifacts, **overrides)))


def make_client(artifacts: Path, tmp_path: Path, **overrides: object) -> TestClient:
    return make_client_for(artifacts, tmp_path, block_interactions(), **overrides)


@pytest.fixture
def client(mf_artifacts: Path, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(mf_artifacts, tmp_path) as test_client:
        yield test_client


def neumf_lifting_d() -> dict[str, np.ndarray]:
    """neumf tables over items a..d: the GMF part (retrieval) ranks a > b > c > d (4, 3, 2, 1);
    the MLP part lifts d above everything (full scores: d 11, a 4, b 3, c 2)."""
    return {
        "gmf_user": np.array([[1.0]], np.float32),
        "gmf_item": np.array([[4.0], [3.0], [2.0], [1.0]], np.float32),
        "mlp_user": np.array([[1.0]], np.float32),
        "mlp_item": np.array([[0.0], [0.0], [0.0], [10.0]], np.float32),
        "mlp_w0": np.array([[0.0], [1.0]], np.float32),
        "mlp_b0": np.zeros(1, np.float32),
        "out_w": np.array([1.0, 1.0], np.float32),
        "out_b": np.zeros(1, np.float32),
    }
