"""Business rules (boost, max_per_category, dither) with exact expectations: on a hand-made
popularity bundle whose scores are known, and through the HTTP API of a trained bundle."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.serving.bundle import Bundle
from app.serving.idmap import IdMap
from app.serving.records import History, RecommendOptions
from app.serving.rules import Rules, resolve_rules
from app.serving.scorers import NCFScorer, PopularityScorer
from app.serving.service import ModelService
from tests.app.conftest import neumf_lifting_d

ITEMS = tuple("abcdefghij")  # model scores 10, 9, ..., 1: the list is the alphabet
GENRES = ["x", "x", "x", "y", "y", "y|x", "", "z", "z", "z"]


def _service(**settings: object) -> ModelService:
    scorer = PopularityScorer({"item_scores": np.arange(10, 0, -1, dtype=np.float32)}, {})
    bundle = Bundle(
        path=Path("unused"),
        version="v-popularity",
        manifest={},
        model_name="popularity",
        kind=scorer.kind,
        scorer=scorer,
        user_map=IdMap(("u",)),
        item_map=IdMap(ITEMS),
        item_titles=list(ITEMS),
        item_genres=GENRES,
        popularity=np.arange(10, 0, -1),
        metrics={},
        created_at="2026-01-01T00:00:00+00:00",
    )
    return ModelService(bundle, Settings(**settings))


def _top(service: ModelService, k: int, user: str = "u", **rules: object) -> list[str]:
    options = RecommendOptions(k=k, rules=Rules(**rules))
    return [item.item_id for item in service.recommend(user, History.empty(), options).items]


def test_rules_none_is_the_model_list():
    assert _top(_service(), 5) == list("abcde")


def test_boost_adds_weight_times_the_pools_spread():
    """The pool is the whole eligible catalog (10 items): spread 10 - 1 = 9; h (3) + 0.5 x 9
    = 7.5 lands between c (8) and d (7)."""
    service = _service()
    options = RecommendOptions(k=5, rules=Rules(boost_items=("h",), boost_weight=0.5))
    items = service.recommend("u", History.empty(), options).items
    assert [i.item_id for i in items] == ["a", "b", "c", "h", "d"]
    assert [i.score for i in items] == [10.0, 9.0, 8.0, 7.5, 7.0]


def test_boost_reaches_items_retrieval_did_not_propose():
    """With a pool of 4 (a..d: spread 10 - 7 = 3) h, ranked 8th, is scored by the model and
    lifted to 3 + 2.5 x 3 = 10.5, first."""
    service = _service(rules_head=4)
    assert _top(service, 4, boost_items=("h",), boost_weight=2.5) == ["h", "a", "b", "c"]


def test_boost_of_a_category_and_a_demotion():
    service = _service()
    # z (h, i, j: 3, 2, 1) + 1 x 9: 12, 11, 10; a ties with j and wins on the lower index
    assert _top(service, 5, boost_category="z", boost_weight=1.0) == ["h", "i", "a", "j", "b"]
    # a (10) - 0.25 x 9 = 7.75: below c (8), above d (7)
    assert _top(service, 4, boost_items=("a",), boost_weight=-0.25) == ["b", "c", "a", "d"]


def test_demotion_with_a_partial_pool_keeps_the_exact_order():
    """Pool of 6 (a..f, spread 10 - 5 = 5): a - 1.2 x 5 = 4 falls below the pool's last, so
    the pool grows until the order is exact: a ties g (4) and wins on the lower index."""
    service = _service(rules_head=3)
    assert _top(service, 6, boost_items=("a",), boost_weight=-1.2) == list("bcdefa")


def test_boost_enters_a_two_stage_list_that_retrieval_never_proposed():
    """neumf over a..d: retrieval (the GMF part: 4, 3, 2, 1) proposes 2 candidates, a and b;
    the full model scores d at 11. Boosting d (spread 4 - 3 = 1) scores it 11 + 0.5."""
    arrays = neumf_lifting_d()
    service = _service(ranking_candidates=2, rules_head=2)
    bundle = replace(service.bundle, scorer=NCFScorer(arrays, {}), item_map=IdMap(ITEMS[:4]),
                     item_genres=GENRES[:4], item_titles=list(ITEMS[:4]))  # fmt: skip
    service = ModelService(bundle, Settings(ranking_candidates=2, rules_head=2))
    assert service.plan.route == "two_stage" and _top(service, 2) == ["a", "b"]
    options = RecommendOptions(k=2, rules=Rules(boost_items=("d",), boost_weight=0.5))
    items = service.recommend("u", History.empty(), options).items
    assert [(i.item_id, i.score) for i in items] == [("d", 11.5), ("a", 4.0)]


def test_max_per_category_caps_and_fills_the_list():
    """At most 2 of x (a, b, c, f), y (d, e, f) and z (h, i, j); g has no category. f is
    both y and x: x is full by then."""
    service = _service(rules_head=2)  # the pool has to grow to fill the list
    assert _top(service, 7, max_per_category=2) == ["a", "b", "d", "e", "g", "h", "i"]
    assert _top(service, 7, max_per_category=1) == ["a", "d", "g", "h"]  # all the catalog has


def test_dither_same_seed_same_list_other_seed_other_list_within_the_head():
    service = _service(rules_head=6)
    first = _top(service, 5, dither=3.0, dither_seed=1)
    assert first == _top(service, 5, dither=3.0, dither_seed=1)
    others = [_top(service, 5, dither=3.0, dither_seed=seed) for seed in range(2, 12)]
    assert any(other != first for other in others)
    assert all(set(other) <= set("abcdef") for other in [first, *others])  # the head of 6


def test_dither_differs_per_user_and_one_is_no_noise():
    service = _service()
    assert _top(service, 10, dither=1.0) == list(ITEMS)
    lists = {tuple(_top(service, 10, user=u, dither=2.0)) for u in ("u", "v", "w", "x")}
    assert len(lists) > 1


def test_resolve_rules_request_values_replace_defaults():
    defaults = Rules(boost_category="z", boost_weight=0.5, dither=1.5)
    assert resolve_rules(defaults) == defaults
    assert resolve_rules(defaults, boost_items=["h", "h"]) == Rules(
        boost_items=("h",), boost_weight=0.5, dither=1.5
    )
    assert resolve_rules(defaults, dither=1.0, max_per_category=2).max_per_category == 2


def test_http_rules_by_query_and_body_agree_and_are_cached_apart(client):
    plain = client.get("/recommend/0", params={"k": 1000}).json()["items"]
    ids, scores = [i["item_id"] for i in plain], [i["score"] for i in plain]
    spread = scores[0] - scores[-1]  # the pool: every eligible item (20-item catalog)
    last = ids[-1]
    weight = 1.01  # from the pool's bottom to just above its top
    boosted = client.get(
        "/recommend/0", params={"k": 3, "boost_items": last, "boost_weight": weight}
    ).json()
    assert [i["item_id"] for i in boosted["items"]] == [last, ids[0], ids[1]]
    assert boosted["items"][0]["score"] == pytest.approx(scores[-1] + weight * spread, abs=1e-4)
    body = {"user_ids": ["0"], "k": 3, "boost": {"items": [last], "weight": weight}}
    batch = client.post("/recommend", json=body).json()["results"][0]
    assert batch["items"] == boosted["items"]
    capped = client.get("/recommend/0", params={"k": 6, "max_per_category": 2}).json()
    categories = [int(i["item_id"]) >= 10 for i in capped["items"]]  # genres A (0-9), B
    assert len(categories) == 4 and sum(categories) == 2  # only two categories exist
    dither = {"k": 5, "dither": 2.0}
    once = client.get("/recommend/0", params={**dither, "dither_seed": 1}).json()["items"]
    again = client.get("/recommend/0", params={**dither, "dither_seed": 1}).json()["items"]
    other = [
        client.get("/recommend/0", params={**dither, "dither_seed": s}).json()["items"]
        for s in range(2, 8)
    ]
    assert once == again and any(o != once for o in other)


def test_http_rule_bounds_are_422(client):
    for params in ({"dither": 0.5}, {"boost_weight": 11}, {"max_per_category": -1},
                   {"boost_items": ["1"] * 5}, {"dither_seed": -1}):  # fmt: skip
        answer = client.get("/recommend/0", params=params)
        assert answer.status_code == 422, params
    body = {"user_ids": ["0"], "boost": {"weight": 20}}
    assert client.post("/recommend", json=body).status_code == 422


def test_service_defaults_apply_and_a_request_overrides_them(mf_artifacts, tmp_path):
    from tests.app.conftest import make_client

    with make_client(mf_artifacts, tmp_path, max_per_category=1) as client:
        assert len(client.get("/recommend/0", params={"k": 5}).json()["items"]) == 2
        uncapped = client.get("/recommend/0", params={"k": 5, "max_per_category": 0})
        assert len(uncapped.json()["items"]) == 5


def test_rules_over_ivf_retrieval_equal_the_exact_route(mf_artifacts, tmp_path):
    """With a pool of 3 of the catalog, the IVF route (ann_threshold=1) fetches, grows and
    boosts exactly as the exact scan does."""
    import shutil

    from tests.app.conftest import make_client

    artifacts = tmp_path / "artifacts"
    shutil.copytree(mf_artifacts, artifacts)
    with (
        make_client(artifacts, tmp_path / "exact", rules_head=3) as exact,
        make_client(artifacts, tmp_path / "ann", ann_threshold=1, rules_head=3) as ann,
    ):
        last = exact.get("/recommend/7", params={"k": 1000}).json()["items"][-1]["item_id"]
        for params in (
            {"k": 5, "boost_items": last, "boost_weight": 2.0},
            {"k": 5, "boost_category": "A", "boost_weight": -0.5},
            {"k": 6, "max_per_category": 3},
            {"k": 5, "dither": 2.0, "dither_seed": 3},
        ):
            want = exact.get("/recommend/7", params=params).json()["items"]
            got = ann.get("/recommend/7", params=params).json()["items"]
            assert [i["item_id"] for i in got] == [i["item_id"] for i in want], params
            assert [i["score"] for i in got] == [pytest.approx(i["score"], abs=1e-4) for i in want]
