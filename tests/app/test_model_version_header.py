"""X-Model-Version: every answer a model gives names the bundle version that answered (the
body's `version`, what /ready reports), the OpenAPI document says so, the fallback has none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.app.conftest import make_client

HEADER = "X-Model-Version"
OPERATIONS = [
    ("get", "/recommend/{user_id}"),
    ("post", "/recommend"),
    ("get", "/similar/{item_id}"),
    ("post", "/score"),
]


def _answers(client: TestClient) -> list:
    return [
        client.get("/recommend/0", params={"k": 3}),
        client.get("/recommend/0", params={"k": 3}),  # the second from the response cache
        client.post("/recommend", json={"user_ids": ["0", "1"], "k": 2}),
        client.get("/similar/0", params={"k": 2}),
        client.post("/score", json={"user_id": "0", "item_ids": ["0", "1"]}),
    ]


def test_model_version_header_equals_body_version_and_ready(client):
    ready = client.get("/ready").json()["version"]
    assert ready
    for response in _answers(client):
        assert response.status_code == 200, response.text
        assert response.headers.get(HEADER) == response.json()["version"] == ready


def test_model_version_header_absent_for_store_fallback(tmp_path):
    with make_client(tmp_path / "empty", tmp_path) as client:
        assert client.get("/ready").json()["version"] is None
        response = client.get("/recommend/0")
    assert response.status_code == 200 and response.json().get("version") is None
    assert HEADER not in response.headers


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_model_version_header_documented(tmp_path, method, path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}", artifacts_dir=tmp_path)
    ok = create_app(settings).openapi()["paths"][path][method]["responses"]["200"]
    assert ok["headers"][HEADER]["schema"] == {"type": "string"}
    assert "application/json" in ok["content"]  # the body schema is still documented
