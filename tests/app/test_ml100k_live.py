"""Issue acceptance on real data: a brand-new user is personalised by their first interactions."""

from pathlib import Path

import pytest

from tests.app.conftest import make_client_for
from tests.conftest import ML100K, needs_ml100k

STAR_WARS_FAN = ["50", "172", "181", "174", "210"]  # Star Wars, Empire, Jedi, Raiders, Last Crusade


@pytest.fixture(scope="module")
def ml100k_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.datasets.movielens import load_movielens
    from training.models.base import create_model
    from training.pipeline import train_and_export

    root = tmp_path_factory.mktemp("ml100k")
    train_and_export(
        lambda: create_model("mf"),
        load_movielens(ML100K),
        root / "20260101T000000000000Z-mf",
        holdout=False,
        report=False,
    )
    return root


@pytest.mark.slow
@needs_ml100k
def test_new_user_personalised_without_retraining(ml100k_artifacts, tmp_path):
    from training.datasets.movielens import load_movielens

    with make_client_for(ml100k_artifacts, tmp_path, load_movielens(ML100K)) as client:
        # mf is a rating model: it folds in ratings (a click says nothing on its scale)
        events = [
            {"user_id": "newcomer", "item_id": i, "value": 5, "kind": "rating"}
            for i in STAR_WARS_FAN
        ]
        assert client.post("/interactions", json={"interactions": events}).status_code == 201
        body = client.get("/recommend/newcomer", params={"k": 10}).json()
        popular = client.get("/recommend/nobody-at-all", params={"k": 10}).json()
        mine = [item["item_id"] for item in body["items"]]
        assert body["cold_start"] is False and body["strategy"] == "fold_in"
        assert len(mine) == 10 and not set(STAR_WARS_FAN) & set(mine)
        assert popular["cold_start"] is True
        assert len(set(mine) & {i["item_id"] for i in popular["items"]}) <= 6
        trimmed = client.get("/recommend/newcomer", params={"k": 10, "exclude": mine[0]}).json()
        assert mine[0] not in {i["item_id"] for i in trimmed["items"]}
