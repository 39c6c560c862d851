"""The environment of a served app for tests over real HTTP: a SQLite store holding the block
fixture, a bundle folder, the admin key set."""

from __future__ import annotations

from pathlib import Path

from app.store.session import create_store_engine, init_schema
from tests.conftest import block_interactions
from training.importer import import_interactions

ADMIN_KEY = "test-admin-key"


def block_store_env(folder: Path, artifacts: Path) -> dict[str, str]:
    """RECO_* variables for `tests.serve.running_server`: a new store under `folder` with
    the block fixture imported, `artifacts` as the bundle folder, ADMIN_KEY as admin key."""
    url = f"sqlite:///{folder / 'store.db'}"
    engine = create_store_engine(url)
    init_schema(engine)
    import_interactions(engine, block_interactions(), progress=False)
    engine.dispose()
    return {
        "RECO_DATABASE_URL": url,
        "RECO_ARTIFACTS_DIR": str(artifacts),
        "RECO_ADMIN_KEY": ADMIN_KEY,
    }
