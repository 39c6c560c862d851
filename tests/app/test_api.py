import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.limits import DEFAULT_MAX_BODY_BYTES
from app.main import create_app
from tests.app.conftest import make_client


def _assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def test_recommend_leaves_out_seen_items(client):
    seen = {i["item_id"] for i in client.get("/users/0/interactions").json()["interactions"]}
    body = client.get("/recommend/0", params={"k": 5}).json()
    assert body["user_id"] == "0" and body["model"] == "mf" and body["cold_start"] is False
    returned = [item["item_id"] for item in body["items"]]
    assert len(returned) == 5 and not seen & set(returned)
    assert all(int(i) < 10 for i in returned[:4])  # the 4 unseen items of the user's group
    assert body["items"][0]["title"].startswith("Item ")


def test_recommend_excludes_interactions_posted_after_training(client):
    first = client.get("/recommend/0", params={"k": 1}).json()["items"][0]["item_id"]
    posted = client.post("/interactions", json={"user_id": "0", "item_id": first, "kind": "click"})
    assert posted.status_code == 201 and posted.json() == {"stored": 1}
    again = [i["item_id"] for i in client.get("/recommend/0", params={"k": 10}).json()["items"]]
    assert first not in again


def test_recommend_unknown_user_is_cold_start_popular(client):
    body = client.get("/recommend/stranger", params={"k": 3}).json()
    assert body["cold_start"] is True and len(body["items"]) == 3


def test_recommend_k_bounds(client):
    _assert_error(client.get("/recommend/0", params={"k": 0}), 422, "validation_error")
    _assert_error(client.get("/recommend/0", params={"k": 1001}), 422, "validation_error")
    _assert_error(client.get("/recommend/" + "x" * 129), 422, "validation_error")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"k": "ten"}, "k"),
        ({"offset": -1}, "offset"),
        ({"offset": 10_001}, "offset"),
        ({"category": ""}, "category"),
        ({"exclude": [str(i) for i in range(33)]}, "exclude"),
        ({"exclude": "x" * 129}, "exclude"),
        ({"exclude_seen": "perhaps"}, "exclude_seen"),
        ({"explain": "2"}, "explain"),
    ],
)
def test_recommend_list_parameters_are_validated(client, params, field):
    """GET /recommend validates its page and filters by hand (app/routes/list_params.py):
    the same 422s, naming the parameter, as FastAPI's own validation."""
    answer = client.get("/recommend/0", params=params)
    _assert_error(answer, 422, "validation_error")
    assert field in answer.json()["error"]["message"]


def test_recommend_list_parameters_parse_like_fastapi(client):
    """Booleans as FastAPI reads them, ids repeated or comma-separated."""
    every = client.get("/recommend/0", params={"k": 30}).json()["items"]
    first, second = every[0]["item_id"], every[1]["item_id"]
    split = client.get("/recommend/0", params={"k": 3, "exclude": f"{first},{second}"}).json()
    repeated = client.get("/recommend/0", params={"k": 3, "exclude": [first, second]}).json()
    assert (
        split["items"] == repeated["items"] and split["items"][0]["item_id"] == every[2]["item_id"]
    )
    for yes in ("1", "true", "yes", "on"):
        body = client.get("/recommend/0", params={"k": 1, "explain": yes}).json()
        assert "because" in body["items"][0]


def test_similar_never_returns_the_item(client):
    body = client.get("/similar/3", params={"k": 5}).json()
    ids = [i["item_id"] for i in body["items"]]
    assert "3" not in ids and len(ids) == 5
    assert all(int(i) < 10 for i in ids[:3])  # same block first


def test_similar_unknown_item_is_404(client):
    _assert_error(client.get("/similar/nope"), 404, "not_found")


def test_score_keeps_the_order_asked(client):
    body = client.post("/score", json={"user_id": "0", "item_ids": ["15", "2"]}).json()
    assert [s["item_id"] for s in body["scores"]] == ["15", "2"]
    assert body["scores"][1]["score"] > body["scores"][0]["score"]


def test_score_unknown_item_is_404_naming_it(client):
    response = client.post("/score", json={"user_id": "0", "item_ids": ["2", "zzz"]})
    _assert_error(response, 404, "not_found")
    assert "zzz" in response.json()["error"]["message"]


def test_bad_bodies_get_json_errors(client):
    _assert_error(
        client.post("/score", json={"user_id": "0", "item_ids": []}), 422, "validation_error"
    )
    _assert_error(
        client.post(
            "/interactions", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "validation_error",
    )
    _assert_error(
        client.post("/interactions", json={"user_id": "u", "item_id": "i", "value": "nan"}),
        422,
        "validation_error",
    )
    _assert_error(
        client.post("/interactions", json={"user_id": "u", "item_id": "i", "timestamp": 9e12}),
        422,
        "validation_error",
    )
    _assert_error(client.get("/users/nobody/interactions"), 404, "not_found")


def test_oversized_body_gets_413(client):
    response = client.post(
        "/interactions",
        content=b"x" * (DEFAULT_MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )
    _assert_error(response, 413, "payload_too_large")


def test_batch_interactions_and_history(client):
    batch = {
        "interactions": [
            {"user_id": "new", "item_id": str(i), "value": 4, "timestamp": "2024-05-01T10:00:00Z"}
            for i in range(3)
        ]
    }
    assert client.post("/interactions", json=batch).json() == {"stored": 3}
    history = client.get("/users/new/interactions").json()["interactions"]
    assert len(history) == 3 and history[0]["timestamp"] == 1714557600.0


def test_ready_and_health(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] and ready["model"] == "mf" and ready["store"]["interactions"] == 180


def test_metrics_text_and_json(client):
    client.get("/recommend/0")
    text = client.get("/metrics").text
    assert 'reco_requests_total{method="GET",route="/recommend/{user_id}",status="200"} 1.0' in text
    assert 'reco_model_info{kind="dot",name="mf"' in text
    assert 'reco_model_offline_metric{metric="ndcg@10"}' in text
    as_json = client.get("/metrics", headers={"Accept": "application/json"}).json()
    assert any(
        s["labels"].get("route") == "/recommend/{user_id}" for s in as_json["reco_requests_total"]
    )


def test_docs_and_openapi_examples(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {
        "/recommend/{user_id}",
        "/similar/{item_id}",
        "/score",
        "/interactions",
        "/metrics",
    } <= set(spec["paths"])


def test_no_bundle_serves_store_popularity(tmp_path):
    with make_client(tmp_path / "empty", tmp_path) as client:
        ready = client.get("/ready").json()
        assert ready["model"] is None and "popularity" in ready["fallback"]
        body = client.get("/recommend/stranger", params={"k": 3}).json()
        assert body["cold_start"] and len(body["items"]) == 3
        known = client.get("/recommend/0", params={"k": 3}).json()
        assert known["strategy"] == "popularity" and not known["cold_start"]
        _assert_error(client.get("/similar/3"), 503, "unavailable")


def test_cors_closed_unless_configured(client, tmp_path):
    preflight = {"Origin": "https://example.com", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.options("/health", headers=preflight).headers
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        artifacts_dir=tmp_path,
        cors_origins=["https://example.com"],
    )
    with TestClient(create_app(settings)) as open_client:
        headers = open_client.options("/health", headers=preflight).headers
        assert headers["access-control-allow-origin"] == "https://example.com"
