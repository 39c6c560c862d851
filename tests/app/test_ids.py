"""One id rule at every door: an id that POST /interactions accepts is addressable in every
path route; an id it refuses gets one 422 naming the rule, and `reco import` refuses it too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.ids import ID_RULE, is_valid_id
from app.store.session import create_store_engine, init_schema
from app.store.tables import Interaction
from tests.conftest import block_interactions
from tests.serve import running_server
from training.importer import import_interactions
from training.interactions import DatasetError, Interactions

EDGE_IDS = [
    "a/b",
    "a%2Fb",
    "a,b",
    ".",
    "..",
    "...",
    ".a",
    "a.",
    "a\\b",
    "?x#y&z=1",
    "%",
    " ",
    "+",
    "é😀",
    "x" * 128,
    "x" * 129,
    "😀" * 128,
    "",
    "a\x00",
    "a\x1f",
    "a\x7f",
    "a\x85",
    "a\u2028b",
]
# "" and dot segments never reach an id route: /items/ and /items/.. are other paths
UNROUTABLE = {"", ".", ".."}
ids = st.one_of(
    st.sampled_from(EDGE_IDS),
    st.text(st.characters(codec="utf-8"), max_size=130),
    st.text(st.sampled_from("./,%?#&=+ \\a\x00"), max_size=4),
)


@pytest.fixture(scope="module")
def server_client(
    mf_artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A client of a real server (uvicorn decodes a path once; Starlette's TestClient decodes
    it twice, which would turn the id 'a%2Fb' into 'a/b'), shared by every generated id."""
    store = tmp_path_factory.mktemp("ids") / "store.db"
    engine = create_store_engine(f"sqlite:///{store}")
    init_schema(engine)
    import_interactions(engine, block_interactions(), progress=False)
    engine.dispose()
    env = {"RECO_DATABASE_URL": f"sqlite:///{store}", "RECO_ARTIFACTS_DIR": str(mf_artifacts)}
    with running_server(env) as server, httpx.Client(base_url=server.base) as client:
        yield client


def _at(route: str, external_id: str) -> str:
    """The URL of `route` for an id, percent-encoded as a client library writes it."""
    return route.format(quote(external_id, safe=""))


def _assert_addressable(client: httpx.Client, external_id: str) -> None:
    user = client.get(_at("/users/{}", external_id))
    assert user.status_code == 200 and user.json()["user_id"] == external_id, user.text
    history = client.get(_at("/users/{}/interactions", external_id)).json()
    assert history["user_id"] == external_id
    assert external_id in {row["item_id"] for row in history["interactions"]}
    recommended = client.get(_at("/recommend/{}", external_id), params={"k": 2})
    assert recommended.status_code == 200 and recommended.json()["user_id"] == external_id
    put = client.put(_at("/items/{}", external_id), json={"title": "t"})
    assert put.status_code == 200 and put.json()["item_id"] == external_id, put.text
    item = client.get(_at("/items/{}", external_id)).json()
    assert item["item_id"] == external_id and item["interactions"] >= 1
    similar = client.get(_at("/similar/{}", external_id))
    if similar.status_code == 200:  # an id of the block fixture, which the model knows
        assert similar.json()["item_id"] == external_id
    else:  # an item the model has not seen: a 404 naming it
        assert similar.status_code == 404
        assert repr(external_id) in similar.json()["error"]["message"]


def _assert_refused(client: httpx.Client, response: httpx.Response, external_id: str) -> None:
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert ID_RULE in message and "batch" not in message, message
    put = client.put(_at("/items/{}", external_id), json={"title": "t"})
    if "/" in external_id or external_id in UNROUTABLE:  # no URL reaches a route with it
        assert put.status_code in (307, 404)  # 307: "a/" is "a" with a trailing slash
    else:
        assert put.status_code == 422 and ID_RULE in put.json()["error"]["message"]


def _check_id(client: httpx.Client, external_id: str) -> None:
    """POST the id as user and item; then every route finds it, or it was refused."""
    posted = client.post("/interactions", json={"user_id": external_id, "item_id": external_id})
    if posted.status_code == 201:
        assert is_valid_id(external_id)
        _assert_addressable(client, external_id)
    else:
        assert not is_valid_id(external_id)
        _assert_refused(client, posted, external_id)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(external_id=ids)
def test_ids_post_accepts_are_addressable_everywhere_and_refusals_name_the_rule(
    server_client: httpx.Client, external_id: str
) -> None:
    _check_id(server_client, external_id)


@pytest.mark.parametrize("external_id", EDGE_IDS)
def test_ids_edge_cases_round_trip_or_are_refused(
    server_client: httpx.Client, external_id: str
) -> None:
    _check_id(server_client, external_id)


def test_ids_slash_is_refused_at_ingestion(client: TestClient) -> None:
    response = client.post("/interactions", json={"user_id": "a/b", "item_id": "1"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (f"interaction.user_id: {ID_RULE} (got 'a/b')")


def test_ids_lone_surrogate_is_refused_not_a_500(client: TestClient) -> None:
    body = b'{"user_id": "\\ud800", "item_id": "1"}'
    response = client.post(
        "/interactions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and ID_RULE in response.json()["error"]["message"]


def test_ids_in_batch_bodies_follow_the_rule(client: TestClient) -> None:
    for path, body in [
        ("/recommend", {"user_ids": ["a,b"]}),
        ("/recommend", {"user_ids": ["1"], "exclude": ["."]}),
        ("/score", {"user_id": "a/b", "item_ids": ["1"]}),
        ("/score", {"user_id": "1", "item_ids": ["x\n"]}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert ID_RULE in response.json()["error"]["message"]


def test_ids_import_refuses_ids_the_api_cannot_address(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "user": ["1", "a/b", "2", ".."],
            "item": ["x", "y", "z,w", "x"],
            "rating": [5.0, 4.0, 3.0, 2.0],
            "timestamp": [1, 2, 3, 4],
        }
    )
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    init_schema(engine)
    with pytest.raises(DatasetError, match=r"2 user id\(s\) break the rule .*'a/b', '\.\.'"):
        import_interactions(engine, Interactions(frame, "odd.csv"), progress=False)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count(Interaction.id))) == 0
    with pytest.raises(DatasetError, match=r"1 item id\(s\) break the rule .*'z,w'"):
        import_interactions(engine, Interactions(frame.iloc[[0, 2]], "odd.csv"), progress=False)
    engine.dispose()
