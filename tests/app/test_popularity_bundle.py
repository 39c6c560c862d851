"""A served popularity bundle (trained by the real code, no TensorFlow): it recommends and
scores, and /similar is a clear 409 because popularity has no item embeddings."""

from tests.app.conftest import make_client
from tests.conftest import popularity_artifacts


def test_popularity_bundle_similar_is_409_naming_the_model(tmp_path):
    with make_client(popularity_artifacts(tmp_path), tmp_path) as client:
        assert client.get("/ready").json()["kind"] == "popularity"
        body = client.get("/recommend/0", params={"k": 3}).json()
        assert body["model"] == "popularity" and len(body["items"]) == 3
        response = client.get("/similar/3")
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "not_supported" and "'popularity'" in error["message"]
