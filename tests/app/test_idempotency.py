"""POST /interactions with an Idempotency-Key: sent again (by a client or a load balancer
whose replica died mid-request) it is answered and stores nothing, also when the copies race,
on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import popularity_artifacts

EVENTS = {"interactions": [{"user_id": "u1", "item_id": "1"}, {"user_id": "u1", "item_id": "2"}]}


def _client(tmp_path, store_url) -> TestClient:
    settings = Settings(database_url=store_url, artifacts_dir=popularity_artifacts(tmp_path))
    return TestClient(create_app(settings))


def _stored_for(client: TestClient, user: str) -> int:
    return len(client.get(f"/users/{user}/interactions").json()["interactions"])


def test_a_resent_request_is_answered_and_stores_nothing(tmp_path, store_url):
    with _client(tmp_path, store_url) as client:
        key = {"Idempotency-Key": "7f3c2a9e-0001"}
        first = client.post("/interactions", json=EVENTS, headers=key)
        again = client.post("/interactions", json=EVENTS, headers=key)
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json() == {"stored": 2}
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        assert _stored_for(client, "u1") == 2
        other = client.post("/interactions", json=EVENTS, headers={"Idempotency-Key": "other"})
        unkeyed = client.post("/interactions", json=EVENTS)
        assert other.status_code == unkeyed.status_code == 201
        assert _stored_for(client, "u1") == 6


def test_racing_copies_store_once(tmp_path, store_url):
    with _client(tmp_path, store_url) as client:
        key = {"Idempotency-Key": "race"}
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda _: client.post("/interactions", json=EVENTS, headers=key), range(8))
            )
        assert [a.status_code for a in answers] == [201] * 8
        assert {a.json()["stored"] for a in answers} == {2}
        assert sum("Idempotent-Replayed" in a.headers for a in answers) == 7
        assert _stored_for(client, "u1") == 2


def test_a_malformed_key_is_a_validation_error(tmp_path, store_url):
    with _client(tmp_path, store_url) as client:
        for bad in ("x" * 129, "has space", ""):
            answer = client.post("/interactions", json=EVENTS, headers={"Idempotency-Key": bad})
            assert answer.status_code == 422, bad
            assert answer.json()["error"]["code"] == "validation_error"
        assert client.get("/users/u1/interactions").status_code == 404  # nothing stored
