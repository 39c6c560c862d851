"""Defects of the serving core, each through real parts: /score and fold-in, timestamp 0,
the hidden set encoded once per version, costly work kept off the event loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.serving.bundle import Bundle
from app.serving.idmap import IdMap
from app.serving.records import History, RecommendOptions
from app.serving.scorers import DotScorer, ItemItemScorer, Scorer
from app.serving.service import ModelService


def _rating(user: str, item: str) -> dict:
    return {"user_id": user, "item_id": item, "value": 5, "kind": "rating"}


def _scores(body: dict) -> dict[str, float]:
    return {item["item_id"]: item["score"] for item in body["items"]}


@pytest.mark.parametrize("user", ["fresh", "0"])
def test_score_folds_in_newer_interactions_like_recommend(client, user):
    """Regression: /score answered a new user with popularity and a known user with their
    trained row, ignoring interactions that /recommend folds in."""
    events = [_rating(user, item) for item in ("11", "12", "13")]
    assert client.post("/interactions", json={"interactions": events}).status_code == 201
    recommended = client.get(f"/recommend/{user}", params={"k": 5}).json()
    assert recommended["strategy"] == "fold_in"
    wanted = _scores(recommended)
    body = client.post("/score", json={"user_id": user, "item_ids": list(wanted)}).json()
    assert body["strategy"] == "fold_in" and body["cold_start"] is False
    assert {s["item_id"]: s["score"] for s in body["scores"]} == pytest.approx(wanted, abs=1e-5)


def test_score_of_a_current_user_is_the_model_row(client):
    body = client.post("/score", json={"user_id": "0", "item_ids": ["2"]}).json()
    assert body["strategy"] == "model" and body["version"] == client.get("/ready").json()["version"]


def test_timestamp_zero_is_the_epoch_not_now(client):
    """Regression: `"timestamp": 0` was stored as the time of the request."""
    event = {"user_id": "epoch", "item_id": "1", "timestamp": 0}
    assert client.post("/interactions", json=event).status_code == 201
    stored = client.get("/users/epoch/interactions").json()["interactions"]
    assert [e["timestamp"] for e in stored] == [0.0]
    client.post("/interactions", json={"user_id": "epoch", "item_id": "2"})
    newest = client.get("/users/epoch/interactions").json()["interactions"][0]
    assert newest["item_id"] == "2" and newest["timestamp"] > 1e9  # missing still means now


def _bundle(scorer: Scorer, n_items: int) -> Bundle:
    ids = tuple(str(i) for i in range(n_items))
    return Bundle(
        path=Path("unused"),
        version="v1",
        manifest={},
        model_name="m",
        kind=scorer.kind,
        scorer=scorer,
        user_map=IdMap(("u",)),
        item_map=IdMap(ids),
        item_titles=list(ids),
        item_genres=["x"] * n_items,
        popularity=np.ones(n_items),
        metrics={},
        created_at="2026-01-01T00:00:00+00:00",
    )


def _dot(n_items: int) -> ModelService:
    rng = np.random.default_rng(0)
    arrays = {
        "user_factors": rng.standard_normal((1, 4)).astype(np.float32),
        "item_factors": rng.standard_normal((n_items, 4)).astype(np.float32),
    }
    return ModelService(_bundle(DotScorer(arrays, {}), n_items))


def test_hidden_set_is_encoded_once_per_hidden_version(monkeypatch):
    """Regression: every request re-encoded the whole hidden set with a Python loop."""
    service = _dot(500)
    hidden = frozenset(str(i) for i in range(0, 500, 2))
    calls: list[int] = []
    encode = IdMap.encode
    monkeypatch.setattr(
        IdMap, "encode", lambda self, values: calls.append(len(values)) or encode(self, values)
    )
    for _ in range(5):
        result = service.recommend(
            "u", History.empty(), RecommendOptions(k=5, hidden=hidden, hidden_version=7)
        )
        assert all(int(i.item_id) % 2 for i in result.items)
    assert calls.count(len(hidden)) == 1
    service.recommend(
        "u", History.empty(), RecommendOptions(k=5, hidden=frozenset(), hidden_version=8)
    )
    shown = service.recommend("u", History.empty(), RecommendOptions(k=500, hidden_version=8))
    assert len(shown.items) == 500  # a new version is a new set


def test_costly_scoring_leaves_the_event_loop_and_cheap_scoring_stays():
    """Regression: an EASE-like item x item product ran on the event loop whenever the catalog
    had at most 20,000 items. Now the work measured at load decides, against
    RECO_INLINE_MAX_MS, not the model kind or the catalog size. (No timing is asserted: the
    budget is set around each service's own measurement.)"""
    n = 3000
    weights = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    arrays = {
        "item_weights": weights,
        "history_indptr": np.array([0, 3]),
        "history_indices": np.array([0, 1, 2]),
    }
    for bundle in (_bundle(ItemItemScorer(arrays, {}), n), _dot(20).bundle):
        service = ModelService(bundle)
        measured = service.costs.seconds["user"]
        service.costs.budget_seconds = measured / 2
        assert not service.inline_for("u", History.empty())
        service.costs.budget_seconds = measured * 2
        assert service.inline_for("u", History.empty())
    strict = ModelService(_dot(20).bundle, Settings(inline_max_ms=0))
    assert not strict.inline_for("u", History.empty()) and not strict.inline_for(None)


def test_the_old_entry_count_setting_is_refused_not_ignored(monkeypatch):
    """RECO_RESPONSE_CACHE_SIZE=0 used to turn the cache off; silently ignoring it would
    turn the cache on."""
    monkeypatch.setenv("RECO_RESPONSE_CACHE_SIZE", "0")
    with pytest.raises(ValueError, match="RECO_RESPONSE_CACHE_BYTES"):
        Settings()
