"""DELETE /users/{id} and DELETE /items/{id} over real HTTP (ASGI) on a real SQLite store and
a real mf bundle: the user is a cold start at once, the item is in no list at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import make_client

KEY = "s3cret"
ADMIN = {"X-API-Key": KEY}
USERS = [str(user) for user in range(20)]


@pytest.fixture
def admin(mf_artifacts: Path, tmp_path: Path):
    with make_client(mf_artifacts, tmp_path, admin_key=KEY) as client:
        yield client


def _ids(body: dict) -> list[str]:
    return [item["item_id"] for item in body["items"]]


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_delete_needs_the_admin_key_and_a_known_id(admin):
    _error(admin.delete("/users/3"), 401, "unauthorized")
    _error(admin.delete("/items/3", headers={"X-API-Key": "wrong"}), 403, "forbidden")
    _error(admin.delete("/users/nobody", headers=ADMIN), 404, "not_found")
    _error(admin.delete("/items/nothing", headers=ADMIN), 404, "not_found")
    assert admin.get("/users/3").status_code == 200  # nothing was deleted


def test_deleted_user_is_a_cold_start_at_once(admin):
    before = admin.get("/recommend/3").json()
    assert before["strategy"] == "model" and not before["cold_start"]
    assert _ids(admin.get("/recommend/3").json()) == _ids(before)  # now in the response cache
    done = admin.delete("/users/3", headers=ADMIN)
    assert done.status_code == 200
    assert done.json()["kind"] == "user" and done.json()["interactions"] == 9
    _error(admin.get("/users/3"), 404, "not_found")
    _error(admin.get("/users/3/interactions"), 404, "not_found")
    after = admin.get("/recommend/3").json()
    stranger = admin.get("/recommend/stranger").json()
    assert after["cold_start"] and after["strategy"] == "popularity"
    assert _ids(after) == _ids(stranger)  # their trained vector is no longer used
    score = admin.post("/score", json={"user_id": "3", "item_ids": ["0", "15"]}).json()
    assert score["cold_start"] and score["strategy"] == "popularity"
    batch = admin.post("/recommend", json={"user_ids": ["3", "4"]}).json()["results"]
    assert batch[0]["cold_start"] and batch[0]["strategy"] == "popularity"
    assert batch[1]["strategy"] == "model"
    _error(admin.delete("/users/3", headers=ADMIN), 404, "not_found")


def test_user_posting_again_after_deletion_is_a_new_user(admin):
    admin.delete("/users/3", headers=ADMIN)
    posted = admin.post("/interactions", json={"user_id": "3", "item_id": "15", "kind": "click"})
    assert posted.status_code == 201
    assert admin.get("/users/3").json()["interactions"] == 1
    assert admin.get("/users/3").json()["known_to_model"] is False  # the model knew the old one
    # mf folds in ratings only: a user with only clicks gets their trained row, if it may
    # be used; the old user's may not
    clicked = admin.get("/recommend/3").json()
    assert clicked["strategy"] == "popularity" and not clicked["cold_start"]
    rating = {"user_id": "3", "item_id": "12", "kind": "rating", "value": 5}
    assert admin.post("/interactions", json=rating).status_code == 201
    rated = admin.get("/recommend/3").json()
    assert rated["strategy"] == "fold_in" and {"12", "15"}.isdisjoint(_ids(rated))


def _every_list(client: TestClient) -> list[list[str]]:
    """Every user's full list (with explanations), every item's similar items, the cold-start
    list, each answered twice (the second from the response cache)."""
    lists = []
    for _ in range(2):
        for user in USERS:
            body = client.get(f"/recommend/{user}", params={"k": 19, "explain": True}).json()
            lists.append(_ids(body))
            lists += [[b["item_id"] for b in item["because"]] for item in body["items"]]
        lists.append(_ids(client.get("/recommend/stranger", params={"k": 19}).json()))
        batch = client.post("/recommend", json={"user_ids": USERS, "k": 19}).json()
        lists += [_ids(result) for result in batch["results"]]
    for item in map(str, range(20)):
        similar = client.get(f"/similar/{item}", params={"k": 18})
        if similar.status_code == 200:
            lists.append(_ids(similar.json()))
    return lists


def _assert_item_gone(client: TestClient, item: str) -> None:
    assert all(item not in ids for ids in _every_list(client))
    _error(client.get(f"/items/{item}"), 404, "not_found")
    _error(client.get(f"/similar/{item}"), 404, "not_found")
    scored = client.post("/score", json={"user_id": "0", "item_ids": ["1", item]})
    _error(scored, 404, "not_found")
    assert repr(item) in scored.json()["error"]["message"]


def test_deleted_item_leaves_every_list_at_once(admin):
    item = _ids(admin.get("/recommend/0").json())[0]
    assert sum(item in ids for ids in _every_list(admin)) > 20  # it was everywhere
    done = admin.delete(f"/items/{item}", headers=ADMIN).json()
    assert done["kind"] == "item" and done["interactions"] > 0
    _assert_item_gone(admin, item)


def test_deleted_item_leaves_the_ivf_lists(mf_artifacts, tmp_path):
    """Above the ANN threshold the lists come from the IVF index: the deleted item is
    excluded through the same mask as hidden items."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(mf_artifacts, artifacts)
    with make_client(artifacts, tmp_path, admin_key=KEY, ann_threshold=1) as client:
        item = _ids(client.get("/recommend/0").json())[0]
        client.delete(f"/items/{item}", headers=ADMIN)
        _assert_item_gone(client, item)


def test_deleted_item_leaves_the_store_fallback(tmp_path):
    with make_client(tmp_path / "no-bundle", tmp_path, admin_key=KEY) as client:
        popular = _ids(client.get("/recommend/stranger", params={"k": 5}).json())
        client.delete(f"/items/{popular[0]}", headers=ADMIN)
        after = _ids(client.get("/recommend/stranger", params={"k": 5}).json())
        assert popular[0] not in after and after[:4] == popular[1:]


def test_a_bundle_trained_after_the_deletion_keeps_its_users(mf_artifacts, tmp_path):
    """A bundle whose training read the store after deletion 1 (its manifest says so) holds
    only what the id made afterwards: its row is used."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(mf_artifacts, artifacts)
    (manifest_path,) = artifacts.glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["dataset"]["latest_deletion_id"] = 1
    manifest_path.write_text(json.dumps(manifest))
    with make_client(artifacts, tmp_path, admin_key=KEY) as client:
        assert client.delete("/users/3", headers=ADMIN).json()["deletion_id"] == 1
        assert client.get("/recommend/3").json()["strategy"] == "model"
        assert client.delete("/users/4", headers=ADMIN).json()["deletion_id"] == 2
        assert client.get("/recommend/4").json()["strategy"] == "popularity"


def test_deletions_are_counted_in_metrics(admin):
    admin.delete("/users/3", headers=ADMIN)
    admin.delete("/users/4", headers=ADMIN)
    admin.delete("/items/5", headers=ADMIN)
    metrics = admin.get("/metrics", headers={"Accept": "application/json"}).json()
    counts = {s["labels"]["kind"]: s["value"] for s in metrics["reco_deletions_total"]}
    assert counts == {"user": 2.0, "item": 1.0}
    assert 'reco_deletions_total{kind="user"} 2.0' in admin.get("/metrics").text


def test_openapi_documents_the_deletions(admin):
    paths = admin.get("/openapi.json").json()["paths"]
    for path, operation_id in (
        ("/users/{user_id}", "deleteUser"),
        ("/items/{item_id}", "deleteItem"),
    ):
        operation = paths[path]["delete"]
        assert operation["operationId"] == operation_id
        assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
        assert operation["security"] == [{"AdminKey": []}]
