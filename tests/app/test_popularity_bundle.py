"""A served popularity bundle (trained by the real code, no TensorFlow): it recommends and
scores, and /similar is a clear 409 because popularity has no item embeddings."""

from tests.app.conftest import make_client
from tests.conftest import block_interactions
from training.models.base import create_model
from training.pipeline import train_and_export


def test_popularity_bundle_similar_is_409_naming_the_model(tmp_path):
    artifacts = tmp_path / "artifacts"
    train_and_export(
        lambda: create_model("popularity"),
        block_interactions(),
        artifacts / "20260101T000000000000Z-popularity",
        holdout=False,
        report=False,
    )
    with make_client(artifacts, tmp_path) as client:
        assert client.get("/ready").json()["kind"] == "popularity"
        body = client.get("/recommend/0", params={"k": 3}).json()
        assert body["model"] == "popularity" and len(body["items"]) == 3
        response = client.get("/similar/3")
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "not_supported" and "'popularity'" in error["message"]
