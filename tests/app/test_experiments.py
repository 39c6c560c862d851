"""Experiments through the HTTP API of real apps over a real SQLite store: defining arms,
sticky routing, recommendation ids, attribution, counts shared by workers, stopping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.api_server import ADMIN_KEY
from tests.app.conftest import make_client
from tests.conftest import block_interactions

ADMIN = {"X-API-Key": ADMIN_KEY}
POPULARITY, ALS = "20260101T000000000000Z-popularity", "20260101T000001000000Z-als"
AB = {
    "name": "als vs popularity",
    "arms": [
        {"name": "control", "model": "popularity", "weight": 1},
        {"name": "treatment", "model": "als", "weight": 1},
    ],
}


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A popularity and an als bundle of the block fixture."""
    from training.models.base import create_model
    from training.pipeline import train_and_export

    artifacts = tmp_path_factory.mktemp("experiments") / "artifacts"
    makers = {
        POPULARITY: lambda: create_model("popularity"),
        ALS: lambda: create_model("als", factors=4, iterations=3, reg=0.1),
    }
    for version, make in makers.items():
        train_and_export(
            make, block_interactions(), artifacts / version, report=False, holdout=False
        )
    return artifacts


@pytest.fixture
def client(two_models: Path, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(two_models, tmp_path, admin_key=ADMIN_KEY) as test_client:
        yield test_client


def flush(client: TestClient) -> None:
    """Add the worker's buffered counts to the store now (it does so every second)."""
    client.portal.call(client.app.state.experiments.flush)


def start(client: TestClient, body: dict = AB) -> int:
    created = client.post("/admin/experiments", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_every_answer_has_a_fresh_recommendation_id_and_no_arm_without_experiment(client):
    first, again = (client.get("/recommend/0", params={"k": 3}).json() for _ in range(2))
    assert first["arm"] is None and again["arm"] is None
    assert first["recommendation_id"] != again["recommendation_id"]  # the second was cached
    assert first["items"] == again["items"]
    batch = client.post("/recommend", json={"user_ids": ["0", "11"], "k": 2}).json()
    ids = {r["recommendation_id"] for r in batch["results"]}
    assert len(ids) == 2 and first["recommendation_id"] not in ids


def test_create_reports_arms_resolved_to_versions(client):
    created = client.post("/admin/experiments", json=AB, headers=ADMIN)
    assert created.status_code == 201
    report = created.json()
    assert (report["status"], report["control"], report["winner"]) == ("running", "control", None)
    assert [(a["name"], a["model"], a["version"]) for a in report["arms"]] == [
        ("control", "popularity", POPULARITY),
        ("treatment", "als", ALS),
    ]
    assert report["arms"][0]["ctr_ci95"] == [0.0, 1.0]
    assert report["comparison"] == {
        "arm": "treatment",
        "control": "control",
        "lift": None,
        "z": None,
        "p_value": None,
    }
    assert client.get(f"/experiments/{report['id']}").json() == report
    assert [e["id"] for e in client.get("/experiments").json()["experiments"]] == [report["id"]]


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ([("a", "nosuch", 1), ("b", "als", 1)], "arms.0.model: no loaded model 'nosuch'"),
        ([("a", "als", 1), ("a", "als", 1)], "arm names must be unique"),
        ([("a", "als", 0), ("b", "als", 1)], "greater than 0"),
        ([("a", "als", 1)], "at least 2 items"),
        ([("a b", "als", 1), ("b", "als", 1)], "should match pattern"),
    ],
)
def test_bad_arms_are_a_422_naming_the_problem(client, arms, message):
    body = {"name": "x", "arms": [{"name": n, "model": m, "weight": w} for n, m, w in arms]}
    refused = client.post("/admin/experiments", json=body, headers=ADMIN)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    assert message in refused.json()["error"]["message"]


def test_one_experiment_runs_at_a_time_and_admin_key_is_needed(client):
    assert client.post("/admin/experiments", json=AB).status_code == 401
    experiment = start(client)
    second = client.post("/admin/experiments", json=AB, headers=ADMIN)
    assert second.status_code == 409
    assert second.json()["error"]["message"] == f"experiment {experiment} is running: stop it first"


def test_users_stay_on_their_arm_which_answers_them(client):
    experiment = start(client)
    models = {"control": "popularity", "treatment": "als"}
    arms = {}
    for user in map(str, range(20)):
        answers = [client.get(f"/recommend/{user}", params={"k": 3}).json() for _ in range(3)]
        assert len({a["arm"] for a in answers}) == 1
        arms[user] = answers[0]["arm"]
        assert answers[0]["model"] == models[arms[user]]
        assert answers[0]["recommendation_id"].startswith(f"e{experiment}a")
    assert set(arms.values()) == {"control", "treatment"}
    chosen = client.get("/recommend/0", params={"model": "als"}).json()
    assert chosen["arm"] is None and chosen["model"] == "als"
    batch = client.post("/recommend", json={"user_ids": list(arms), "k": 3}).json()
    assert {r["user_id"]: r["arm"] for r in batch["results"]} == arms
    assert all(r["model"] == models[r["arm"]] for r in batch["results"])


def test_events_with_a_recommendation_id_are_attributed_and_counted(client):
    experiment = start(client)
    answers = {
        u: client.get(f"/recommend/{u}", params={"k": 2}).json() for u in map(str, range(20))
    }
    client.get("/recommend/0", params={"k": 2})  # a second list for user 0
    clicked = [answers[u] for u in map(str, range(0, 20, 2))]
    events = [
        {
            "user_id": a["user_id"],
            "item_id": item["item_id"],
            "kind": "click",
            "recommendation_id": a["recommendation_id"],
        }
        for a in clicked
        for item in a["items"]  # two events on each clicked list
    ]
    events.append({"user_id": "1", "item_id": "3", "recommendation_id": "e999a0-00"})
    events.append({"user_id": "1", "item_id": "3", "recommendation_id": "plain-id"})
    assert client.post("/interactions", json={"interactions": events}).status_code == 201
    flush(client)
    report = client.get(f"/experiments/{experiment}").json()
    by_arm = {a["name"]: a for a in report["arms"]}
    served = {name: [a for a in answers.values() if a["arm"] == name] for name in by_arm}
    for name, arm in by_arm.items():
        users = len(served[name])
        clicks = sum(1 for a in clicked if a["arm"] == name)
        extra = int(answers["0"]["arm"] == name)
        assert (arm["users"], arm["impressions"]) == (users, users + extra)
        assert (arm["events"], arm["clicked"]) == (2 * clicks, clicks)
        assert arm["ctr"] == pytest.approx(clicks / (users + extra))
        assert arm["ctr_ci95"][0] < arm["ctr"] < arm["ctr_ci95"][1]
    assert 0 <= report["comparison"]["p_value"] <= 1
    metrics = client.get("/metrics").text
    arm = answers["0"]["arm"]
    line = f'reco_experiment_impressions_total{{arm="{arm}",experiment="{experiment}"}}'
    assert f"{line} {float(by_arm[arm]['impressions'])}" in metrics
    assert "reco_experiment_events_total{" in metrics


def test_a_malformed_recommendation_id_is_a_422(client):
    event = {"user_id": "1", "item_id": "3", "recommendation_id": "a b"}
    refused = client.post("/interactions", json=event)
    assert refused.status_code == 422
    assert "interaction.recommendation_id" in refused.json()["error"]["message"]


def test_counts_of_two_workers_add_up_in_the_store_and_survive_shutdown(two_models, tmp_path):
    with make_client(two_models, tmp_path, admin_key=ADMIN_KEY) as first:
        experiment = start(first)
        settings = first.app.state.settings
        with TestClient(create_app(Settings(**settings.model_dump()))) as second:
            for user in map(str, range(20)):
                (first if int(user) % 2 else second).get(f"/recommend/{user}")
    # both apps exit before a periodic flush: the shutdown flush writes their counts
    with TestClient(create_app(Settings(**settings.model_dump()))) as reader:
        report = reader.get(f"/experiments/{experiment}").json()
    assert sum(a["users"] for a in report["arms"]) == 20
    assert sum(a["impressions"] for a in report["arms"]) == 20


def test_stop_routes_everyone_to_the_chosen_arm(client):
    experiment = start(client)
    missing = client.post("/admin/experiments/999/stop", json={"arm": "x"}, headers=ADMIN)
    assert missing.status_code == 404
    wrong = client.post(f"/admin/experiments/{experiment}/stop", json={"arm": "x"}, headers=ADMIN)
    assert wrong.status_code == 422
    assert "no arm 'x'; arms: control, treatment" in wrong.json()["error"]["message"]
    stopped = client.post(
        f"/admin/experiments/{experiment}/stop", json={"arm": "treatment"}, headers=ADMIN
    )
    assert stopped.status_code == 200
    assert (stopped.json()["status"], stopped.json()["winner"]) == ("stopped", "treatment")
    for user in map(str, range(20)):
        answer = client.get(f"/recommend/{user}").json()
        assert (answer["arm"], answer["version"]) == (None, ALS)
    again = client.post(
        f"/admin/experiments/{experiment}/stop", json={"arm": "control"}, headers=ADMIN
    )
    assert again.status_code == 409
    assert start(client) > experiment  # a new one may start


def test_a_deleted_user_leaves_the_experiment_users(client):
    experiment = start(client)
    for user in map(str, range(20)):
        client.get(f"/recommend/{user}")
    flush(client)
    assert client.delete("/users/3", headers=ADMIN).status_code == 200
    arms = client.get(f"/experiments/{experiment}").json()["arms"]
    assert sum(a["users"] for a in arms) == 19
    assert sum(a["impressions"] for a in arms) == 20
