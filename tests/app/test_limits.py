"""Limits that agree: the largest valid batch fits under the body cap pretty-printed, one more
row is one 422 naming the limit, a body is read as one shape and its errors name it, and a
batch /recommend is bounded in users x k."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.limits import (
    DEFAULT_MAX_BATCH_ITEMS,
    DEFAULT_MAX_BODY_BYTES,
    MAX_BATCH_INTERACTIONS,
    batch_body_bytes,
    widest_interaction,
)
from tests.app.conftest import make_client

FULL_ROW = {
    "user_id": "user-000000000042",
    "item_id": "item-000000000042",
    "value": 4.5,
    "kind": "rating",
    "timestamp": "2024-05-01T10:00:00.123456+00:00",
}


def _post_json(client: TestClient, path: str, body: object, **dumps: object):
    """POST `body` written by json.dumps with `dumps` options, as a client library would."""
    content = json.dumps(body, **dumps).encode()
    return client.post(path, content=content, headers={"content-type": "application/json"})


def _message(response) -> str:
    assert response.status_code == 422, response.text[:500]
    assert response.json()["error"]["code"] == "validation_error"
    return response.json()["error"]["message"]


def test_limits_default_body_cap_is_the_widest_full_batch_pretty_printed() -> None:
    assert Settings().max_body_bytes == DEFAULT_MAX_BODY_BYTES
    assert batch_body_bytes(MAX_BATCH_INTERACTIONS) == DEFAULT_MAX_BODY_BYTES
    widest = {"interactions": [widest_interaction()] * 3}
    assert len(json.dumps(widest, indent=2)) == batch_body_bytes(3)
    ordinary = {"interactions": [FULL_ROW] * MAX_BATCH_INTERACTIONS}
    assert len(json.dumps(ordinary, indent=4)) < DEFAULT_MAX_BODY_BYTES


def test_limits_widest_batch_pretty_printed_is_accepted(client: TestClient) -> None:
    body = {"interactions": [widest_interaction()] * MAX_BATCH_INTERACTIONS}
    response = _post_json(client, "/interactions", body, indent=2)
    assert response.status_code == 201, response.text[:500]
    assert response.json() == {"stored": MAX_BATCH_INTERACTIONS}


def test_limits_full_batch_pretty_printed_is_accepted(client: TestClient) -> None:
    rows = [{**FULL_ROW, "user_id": f"user-{i:012d}"} for i in range(MAX_BATCH_INTERACTIONS)]
    response = _post_json(client, "/interactions", {"interactions": rows}, indent=2)
    assert response.status_code == 201, response.text[:500]
    assert response.json() == {"stored": MAX_BATCH_INTERACTIONS}


@pytest.mark.parametrize(
    ("field", "longer"),
    [
        ("user_id", "x" * 129),
        ("item_id", "\U0001f600" * 129),
        ("kind", "k" * 33),
        ("timestamp", "2099-12-31T23:59:59.9999999999+14:00"),
        ("value", -1e6 - 1),
    ],
)
def test_limits_widest_row_is_the_widest_the_schema_accepts(
    client: TestClient, field: str, longer: object
) -> None:
    """A field wider than widest_interaction() assumes is refused, so the derived cap holds."""
    assert client.post("/interactions", json=widest_interaction()).status_code == 201
    message = _message(client.post("/interactions", json={**widest_interaction(), field: longer}))
    assert message.startswith(f"interaction.{field}")


def test_limits_batch_over_the_limit_is_one_error_naming_it(client: TestClient) -> None:
    rows = [{**FULL_ROW, "user_id": "x/y"}] * (MAX_BATCH_INTERACTIONS + 1)  # bad rows as well
    response = _post_json(client, "/interactions", {"interactions": rows}, indent=2)
    assert _message(response) == (
        "batch.interactions: Value error, a batch holds at most 10,000 interactions "
        "(got 10,001); split it"
    )


def test_limits_over_the_cap_is_413(client: TestClient) -> None:
    response = client.post(
        "/interactions",
        content=b" " * (DEFAULT_MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_limits_streamed_body_over_the_cap_is_413(mf_artifacts: Path, tmp_path: Path) -> None:
    """Regression: a chunked body (no Content-Length) over the cap got FastAPI's 400 'error
    parsing the body', not the documented 413."""
    with make_client(mf_artifacts, tmp_path, max_body_bytes=4096) as small:
        chunks = iter([b"[" + b" " * 3000, b" " * 3000, b"]"])
        response = small.post(
            "/interactions", content=chunks, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"interactions": [{"item_id": "1"}]}, "batch.interactions.0.user_id: Field required"),
        ({"interactions": []}, "batch.interactions: List should have at least 1 item"),
        ({"interactions": [FULL_ROW], "user_id": "1"}, "batch.user_id: Extra inputs are not"),
        ({"item_id": "1"}, "interaction.user_id: Field required"),
        ({"user_id": "1", "item_id": "1", "kind": "Bad"}, "interaction.kind: String should"),
        ([{"user_id": "1", "item_id": "1"}], "interaction: Input should be a valid dictionary"),
    ],
)
def test_limits_body_is_read_as_one_shape_and_its_errors_name_it(
    client: TestClient, body: object, message: str
) -> None:
    got = _message(client.post("/interactions", json=body))
    assert got.startswith(message), got
    shape = message.split(".")[0].split(":")[0]
    assert all(part.startswith(shape) for part in got.split("; ")), got
    assert "InteractionIn" not in got and "InteractionBatchIn" not in got


def test_limits_timestamp_text_is_bounded(client: TestClient) -> None:
    long = "2024-05-01T10:00:00." + "1" * 40 + "Z"
    message = _message(client.post("/interactions", json={**FULL_ROW, "timestamp": long}))
    assert "at most 35 characters (got 61)" in message


def test_limits_batch_recommend_is_bounded_in_users_times_k(client: TestClient) -> None:
    users = [str(u % 20) for u in range(1000)]
    response = client.post("/recommend", json={"user_ids": users, "k": 1000})
    message = _message(response)
    assert "at most 100,000 items per answer (RECO_MAX_BATCH_ITEMS)" in message
    assert "1,000 users x k=1,000 = 1,000,000" in message
    at_limit = client.post("/recommend", json={"user_ids": users[:100], "k": 1000})
    assert at_limit.status_code == 200 and len(at_limit.json()["results"]) == 100
    assert DEFAULT_MAX_BATCH_ITEMS == 100 * 1000


def test_limits_batch_items_follow_the_setting(mf_artifacts: Path, tmp_path: Path) -> None:
    with make_client(mf_artifacts, tmp_path, max_batch_items=20) as client:
        assert client.post("/recommend", json={"user_ids": ["0"] * 4, "k": 5}).status_code == 200
        message = _message(client.post("/recommend", json={"user_ids": ["0"] * 3, "k": 7}))
        assert "at most 20 items" in message and "3 users x k=7 = 21" in message


@pytest.mark.parametrize(
    "stamp",
    [0, 4_102_444_800, "1971-01-01T00:00:00+14:00", "2098-12-31T23:59:59.999999999-12:00"],
)
def test_limits_timestamps_the_schema_allows_are_accepted(client: TestClient, stamp) -> None:
    """The schema's bounds (numbers) and year pattern (ISO text, any offset) lie inside the
    range the server takes, so no schema-valid timestamp is refused."""
    body = {"user_id": "edge", "item_id": "1", "timestamp": stamp}
    assert client.post("/interactions", json=body).status_code == 201


def test_limits_widest_query_fits_the_request_line(mf_artifacts: Path, tmp_path: Path) -> None:
    """The longest GET the schema allows (ids, exclusions, boosted items, categories and model
    of four-byte characters, percent-encoded, and every rule) reaches the app and gets a
    JSON answer, not uvicorn's plain text 400 for a request line past ~64 KiB; one
    exclusion more is a JSON 422."""
    import httpx

    from tests.serve import running_server

    wide = "\U0001d11e" * 128
    env = {"RECO_ARTIFACTS_DIR": str(mf_artifacts),
           "RECO_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}  # fmt: skip
    with running_server(env) as server:
        params = {"exclude": [wide] * 32, "category": wide[:64], "k": 1000, "offset": 10_000,
                  "boost_items": [wide] * 4, "boost_category": wide[:64], "boost_weight": -0.5,
                  "max_per_category": 1000, "dither": 1.5, "dither_seed": 2**31 - 1}  # fmt: skip
        widest = httpx.get(f"{server.base}/recommend/{wide}", params=params, timeout=30)
        assert widest.status_code == 200 and "items" in widest.json()
        params["exclude"] = [wide] * 33
        over = httpx.get(f"{server.base}/recommend/{wide}", params=params, timeout=30)
        assert over.status_code == 422 and "exclude" in over.json()["error"]["message"]


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to New York for one test."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_limits_iso_timestamp_without_offset_is_utc(client: TestClient, new_york: None) -> None:
    """Regression: a naive ISO-8601 time was read in the server's own time zone."""
    body = {"user_id": "naive", "item_id": "1", "timestamp": "2020-01-01T00:00:00"}
    assert client.post("/interactions", json=body).status_code == 201
    events = client.get("/users/naive/interactions").json()["interactions"]
    assert [event["timestamp"] for event in events] == [1_577_836_800.0]
