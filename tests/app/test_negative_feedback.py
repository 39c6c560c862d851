"""Negative feedback (kind `dislike`, RECO_NEGATIVE_KINDS): never recommended to that user,
at once; no weight in fold-in; left out of the training data read from the store."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import make_client
from tests.conftest import block_interactions
from training.datasets.store import load_store
from training.models.base import create_model
from training.pipeline import train_and_export


@pytest.fixture(scope="module")
def als_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An implicit model (als): every event it folds in counts, so a dislike would too."""
    root = tmp_path_factory.mktemp("als-blocks")
    train_and_export(
        lambda: create_model("als", factors=4, iterations=10),
        block_interactions(),
        root / "20260101T000000000000Z-als",
        holdout=False,
        report=False,
    )
    return root


@pytest.fixture(scope="module")
def ease_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An item-item model (ease), whose fold-in has no notion of a negative."""
    root = tmp_path_factory.mktemp("ease-blocks")
    train_and_export(
        lambda: create_model("ease"),
        block_interactions(),
        root / "20260101T000000000000Z-ease",
        holdout=False,
        report=False,
    )
    return root


@pytest.fixture
def als_client(als_artifacts: Path, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(als_artifacts, tmp_path) as client:
        yield client


def _items(client: TestClient, user: str, **params: object) -> list[dict]:
    return client.get(f"/recommend/{user}", params={"k": 20, **params}).json()["items"]


def _post(client: TestClient, user: str, item: str, kind: str) -> None:
    body = {"user_id": user, "item_id": item, "kind": kind}
    assert client.post("/interactions", json=body).status_code == 201


def test_dislike_leaves_the_list_at_once_even_with_seen_items_allowed(als_client):
    top = _items(als_client, "0")[0]["item_id"]
    _post(als_client, "0", top, "dislike")
    assert top not in [i["item_id"] for i in _items(als_client, "0")]
    allowed = [i["item_id"] for i in _items(als_client, "0", exclude_seen="false")]
    assert top not in allowed and len(allowed) == 19  # every other item of the catalog


def _three_users(client: TestClient) -> None:
    """likes: clicked 10, 11, 12; likes_dislike: the same and disliked 13; likes_click: the
    same and clicked 13."""
    for user in ("likes", "likes_dislike", "likes_click"):
        for item in ("10", "11", "12"):
            _post(client, user, item, "click")
    _post(client, "likes_dislike", "13", "dislike")
    _post(client, "likes_click", "13", "click")


def test_dislike_carries_no_weight_in_a_fold_in_without_negatives(ease_artifacts, tmp_path):
    """ease has no explicit negatives: the disliking user is folded in exactly as one who
    only liked 10, 11, 12 (13 left out); a click on 13 instead would move them."""
    with make_client(ease_artifacts, tmp_path) as client:
        _three_users(client)
        likes = _items(client, "likes", exclude_seen="false")
        disliked = _items(client, "likes_dislike", exclude_seen="false")
        clicked = _items(client, "likes_click", exclude_seen="false")
    assert disliked == [i for i in likes if i["item_id"] != "13"]
    assert [i["score"] for i in clicked] != [i["score"] for i in likes]


def test_als_folds_a_dislike_in_as_an_explicit_negative(als_client):
    """als scores the disliked item lower than for the user who did not dislike it (the
    exact shrink is checked in test_negative_feedback_scorers)."""
    _three_users(als_client)

    def score(user: str) -> float:
        body = {"user_id": user, "item_ids": ["13"]}
        return als_client.post("/score", json=body).json()["scores"][0]["score"]

    assert 0 < score("likes_dislike") < score("likes") < score("likes_click")


def test_negative_kinds_are_configurable(als_artifacts, tmp_path):
    with make_client(als_artifacts, tmp_path, negative_kinds=["skip"]) as client:
        top = _items(client, "0")[0]["item_id"]
        _post(client, "0", top, "dislike")  # an ordinary event now: seen, not negative
        assert top in [i["item_id"] for i in _items(client, "0", exclude_seen="false")]
        _post(client, "0", top, "skip")
        assert top not in [i["item_id"] for i in _items(client, "0", exclude_seen="false")]


def test_training_from_the_store_holds_dislikes_apart_from_the_rows(als_client, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    before = len(load_store(url))
    _post(als_client, "0", "15", "dislike")
    _post(als_client, "0", "16", "click")
    data = load_store(url)
    assert len(data) == before + 1
    assert not ((data.frame["user"] == "0") & (data.frame["item"] == "15")).any()
    assert data.negatives.values.tolist() == [["0", "15"]]  # what als learns as a negative
    assert len(load_store(url, negative_kinds=[])) == before + 2
