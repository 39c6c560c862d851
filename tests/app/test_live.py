"""Fold-in, filters, paging, explanations, items and users over the block-fixture bundle."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.app.conftest import make_client, make_client_for
from training.interactions import Interactions, empty_items
from training.models.base import create_model
from training.pipeline import train_and_export


def _ids(body: dict) -> list[str]:
    return [item["item_id"] for item in body["items"]]


def test_new_user_is_personalised_at_once(client):
    # mf is a rating model: it folds in ratings (clicks alone say nothing on its scale)
    events = [
        {"user_id": "fresh", "item_id": str(i), "value": 5, "kind": "rating"} for i in (11, 12, 13)
    ]
    assert client.post("/interactions", json={"interactions": events}).status_code == 201
    body = client.get("/recommend/fresh", params={"k": 5}).json()
    assert body["cold_start"] is False and body["strategy"] == "fold_in"
    assert not {"11", "12", "13"} & set(_ids(body))
    assert sum(int(i) >= 10 for i in _ids(body)) >= 4  # mostly group B, like the history


def test_fold_in_for_known_user_with_newer_interactions(client):
    assert client.get("/recommend/0").json()["strategy"] == "model"
    client.post("/interactions", json={"user_id": "0", "item_id": "19", "kind": "click"})
    assert client.get("/recommend/0").json()["strategy"] == "fold_in"


def test_cold_start_only_without_any_interaction(client):
    body = client.get("/recommend/ghost").json()
    assert body["cold_start"] is True and body["strategy"] == "popularity"


def test_exclude_offset_and_exclude_seen(client):
    full = _ids(client.get("/recommend/0", params={"k": 6}).json())
    page2 = _ids(client.get("/recommend/0", params={"k": 3, "offset": 3}).json())
    assert page2 == full[3:6]
    without = _ids(
        client.get("/recommend/0", params={"k": 5, "exclude": f"{full[0]},{full[1]}"}).json()
    )
    assert full[0] not in without and full[1] not in without
    assert without[:4] == full[2:6]
    seen = {i["item_id"] for i in client.get("/users/0/interactions").json()["interactions"]}
    again = _ids(client.get("/recommend/0", params={"k": 20, "exclude_seen": "false"}).json())
    assert seen <= set(again)


def test_category_filter_uses_item_metadata(client):
    body = client.get("/recommend/0", params={"k": 5, "category": "B"}).json()
    assert body["items"] and all(int(i) >= 10 for i in _ids(body))
    similar = client.get("/similar/3", params={"k": 3, "category": "B"}).json()
    assert all(int(i) >= 10 for i in _ids(similar))


def test_explain_names_history_items(client):
    history = {i["item_id"] for i in client.get("/users/0/interactions").json()["interactions"]}
    body = client.get("/recommend/0", params={"k": 2, "explain": "true"}).json()
    for item in body["items"]:
        assert 1 <= len(item["because"]) <= 3
        assert {b["item_id"] for b in item["because"]} <= history
        assert all(b["title"].startswith("Item ") for b in item["because"])
    assert "because" not in client.get("/recommend/0").json()["items"][0]


def test_hidden_item_leaves_every_list_at_once(client):
    top = _ids(client.get("/recommend/0", params={"k": 1}).json())[0]
    put = client.put(f"/items/{top}", json={"title": "Gone", "categories": ["A"], "hidden": True})
    assert put.status_code == 200 and put.json()["hidden"] is True
    assert top not in _ids(client.get("/recommend/0", params={"k": 19}).json())
    assert top not in _ids(client.get("/similar/3", params={"k": 18}).json())
    item = client.get(f"/items/{top}").json()
    assert item["title"] == "Gone" and item["categories"] == ["A"]
    client.put(f"/items/{top}", json={"title": "Back"})
    assert top in _ids(client.get("/recommend/0", params={"k": 19}).json())


def test_item_and_user_errors(client):
    assert client.get("/items/nope").status_code == 404
    assert client.put("/items/x", json={"categories": ["a|b"]}).status_code == 422
    assert client.get("/users/nobody").status_code == 404


def test_user_summary(client):
    body = client.get("/users/0").json()
    assert body["interactions"] == 9 and body["known_to_model"] is True
    assert body["kinds"] == {"rating": 9}
    assert body["top_categories"][0] == {"category": "A", "count": 6}


def test_unknown_model_selector_is_404(client):
    response = client.get("/recommend/0", params={"model": "bprr"})
    assert response.status_code == 404 and "bprr" in response.json()["error"]["message"]
    assert client.get("/recommend/0", params={"model": "mf"}).json()["model"] == "mf"


def test_live_counters_on_metrics(client):
    client.get("/recommend/ghost")
    rating = {"user_id": "fresh", "item_id": "11", "value": 5, "kind": "rating"}
    client.post("/interactions", json=rating)
    client.get("/recommend/fresh")
    text = client.get("/metrics").text
    assert "reco_cold_starts_total 1.0" in text
    assert 'reco_recommendations_total{strategy="fold_in"} 1.0' in text
    assert 'reco_model_requests_total{model="mf"' in text


def test_fallback_has_filters_too(tmp_path):
    with make_client(tmp_path / "none", tmp_path) as client:
        body = client.get("/recommend/ghost", params={"k": 2, "offset": 1}).json()
        assert len(body["items"]) == 2 and body["cold_start"]
        # regression: the fallback ignored the category filter
        body = client.get("/recommend/ghost", params={"k": 15, "category": "B"}).json()
        assert len(body["items"]) == 10 and all(int(i) >= 10 for i in _ids(body))
        assert not client.get("/recommend/ghost", params={"category": "B%"}).json()["items"]


def test_batch_recommend_equals_single_requests(client):
    client.post("/interactions", json={"user_id": "fresh", "item_id": "12"})
    users = ["0", "15", "fresh", "ghost", "0"]
    body = client.post("/recommend", json={"user_ids": users, "k": 4}).json()
    assert body["model"] == "mf" and [r["user_id"] for r in body["results"]] == users
    for result in body["results"]:
        single = client.get(f"/recommend/{result['user_id']}", params={"k": 4}).json()
        # one matrix product for the batch, a vector product alone: float32 sums may differ
        # in the last digit
        batch_scores = [item.pop("score") for item in result["items"]]
        single_scores = [item.pop("score") for item in single["items"]]
        assert result.pop("recommendation_id") != single.pop("recommendation_id")
        assert result == single
        assert batch_scores == pytest.approx(single_scores, abs=1e-5)
    assert client.post("/recommend", json={"user_ids": []}).status_code == 422
    assert client.post("/recommend", json={"user_ids": ["x"] * 1001}).status_code == 422


def _taste_groups(n_users: int = 200, n_items: int = 200, per_user: int = 20) -> Interactions:
    """Clicks drawn half from a popularity curve, half from the user's group of 40 items: a
    trained user's top-10 mixes both, which a fold-in of another objective gets wrong."""
    rng = np.random.default_rng(0)
    popular = 1 / np.arange(1, n_items + 1)
    popular /= popular.sum()
    rows = []
    for user in range(n_users):
        group = np.zeros(n_items)
        group[user % 5 * 40 : (user % 5 + 1) * 40] = rng.random(40)
        chosen = rng.choice(
            n_items, per_user, replace=False, p=popular / 2 + group / group.sum() / 2
        )
        rows += [(str(user), str(item), 1.0, 1000 + n) for n, item in enumerate(chosen)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    return Interactions(frame, "taste-groups", empty_items())


@pytest.fixture(scope="module")
def als_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("als")
    train_and_export(
        lambda: create_model("als", factors=16, iterations=15),
        _taste_groups(),
        root / "20260101T000000000000Z-als",
        holdout=False,
        report=False,
    )
    return root


def test_repeating_a_known_interaction_keeps_an_als_users_list(als_artifacts, tmp_path):
    """Regression (issue 12): posting an interaction a trained user already has switches
    them to fold-in, which must agree with the trained model: at least 9 of their 10 items
    stay. The old fold-in (least squares over the history alone) kept 3 to 10."""
    with make_client_for(als_artifacts, tmp_path, _taste_groups()) as client:
        for user in map(str, range(12)):
            before = client.get(f"/recommend/{user}", params={"k": 10}).json()
            assert before["strategy"] == "model"
            seen = client.get(f"/users/{user}/interactions").json()["interactions"][0]
            repeat = {"user_id": user, "item_id": seen["item_id"], "kind": "click"}
            assert client.post("/interactions", json=repeat).status_code == 201
            after = client.get(f"/recommend/{user}", params={"k": 10}).json()
            assert after["strategy"] == "fold_in"
            kept = set(_ids(before)) & set(_ids(after))
            assert len(kept) >= 9, (user, _ids(before), _ids(after))


def test_fold_in_for_every_model_family():
    """Each dot-product objective personalises a new user from a group-B history; a rating
    model folds in ratings only; popularity folds in to its own list."""
    from app.serving.scorers import FoldInUnsupported, build_scorer

    rng = np.random.default_rng(0)
    items = np.r_[np.tile([1.0, 0.0], (5, 1)), np.tile([0.0, 1.0], (5, 1))].astype(np.float32)
    arrays = {"user_factors": rng.normal(size=(3, 2)).astype(np.float32), "item_factors": items}
    history, fives = np.array([6, 7]), np.full(2, 5.0, np.float32)
    rated, clicks = np.ones(2, bool), np.zeros(2, bool)
    objectives = [
        {"objective": "als", "reg": 1.0, "alpha": 3.0},
        {"objective": "logistic", "l2": 0.01, "negatives": 4},
        {"objective": "bpr", "l2": 0.01, "negatives": 4},
        {"objective": "margin", "margin": 0.5},
        {"objective": "ratings", "l2": 0.1, "bias_l2": 0.01, "global_bias": 3.5},
    ]
    for params in objectives:
        scores = build_scorer("dot", arrays, params).fold_in(history, fives, rated)
        assert set(np.argsort(-scores)[:5]) == {5, 6, 7, 8, 9}, params
    with pytest.raises(FoldInUnsupported, match="ratings only"):
        build_scorer("dot", arrays, objectives[-1]).fold_in(history, fives, clicks)
    popularity = build_scorer("popularity", {"item_scores": np.arange(10, dtype=np.float32)}, {})
    assert popularity.fold_in(history, fives, clicks).tolist() == list(range(10))
