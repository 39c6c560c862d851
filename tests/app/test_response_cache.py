"""Cached /recommend answers: reused while nothing they depend on changed, never after."""

from __future__ import annotations

from app.serving.response_cache import ENTRY_OVERHEAD, CachedAnswer, ResponseCache
from tests.app.conftest import make_client


def _answer(text: str) -> CachedAnswer:
    return CachedAnswer(text.encode(), "model", False)


def test_cache_misses_on_a_new_stamp_and_drops_the_least_recently_used():
    cache = ResponseCache(max_bytes=2 * (2 + ENTRY_OVERHEAD))  # room for two 2-byte bodies
    cache.put("a", 1, _answer("a1"))
    cache.put("b", 1, _answer("b1"))
    assert cache.get("a", 1).body == b"a1" and cache.get("a", 2) is None
    cache.put("c", 1, _answer("c1"))  # "b" is the least recently used now
    assert cache.get("b", 1) is None and len(cache) == 2
    assert cache.get("a", 1) is not None and cache.get("c", 1) is not None


def test_cache_bytes_stay_under_budget_with_large_answers():
    """k=1000 with explain is ~300 KB an answer: the budget counts bytes, not entries."""
    budget = 1_000_000
    cache = ResponseCache(max_bytes=budget)
    for n in range(20):
        cache.put(n, 0, CachedAnswer(b"x" * 300_000, "model", False))
        assert cache.bytes <= budget
    assert len(cache) == 3 and cache.get(19, 0) is not None and cache.get(16, 0) is None
    cache.put("huge", 0, CachedAnswer(b"x" * (budget + 1), "model", False))
    assert cache.get("huge", 0) is None and cache.bytes <= budget
    cache.put(19, 0, _answer("small"))  # a replaced entry gives its bytes back
    assert cache.bytes == 2 * (300_000 + ENTRY_OVERHEAD) + 5 + ENTRY_OVERHEAD


def test_size_zero_keeps_nothing():
    cache = ResponseCache(max_bytes=0)
    cache.put("a", 1, _answer("a1"))
    assert cache.get("a", 1) is None and len(cache) == 0


def test_served_cache_stays_under_its_byte_budget(mf_artifacts, tmp_path):
    budget = 20_000
    with make_client(mf_artifacts, tmp_path, response_cache_bytes=budget) as client:
        for user in range(20):
            params = {"k": 1000, "explain": "true", "exclude_seen": "false"}
            assert client.get(f"/recommend/{user}", params=params).status_code == 200
            assert client.app.state.responses.bytes <= budget
        assert 0 < len(client.app.state.responses) < 20


def _ids(response) -> list[str]:
    return [item["item_id"] for item in response.json()["items"]]


def _cached_count(client) -> float:
    line = next(
        line
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("reco_cached_answers_total")
    )
    return float(line.split()[-1])


def _same_list(answer, first) -> bool:
    """The same answer but for its recommendation_id, which is new every time."""
    one, other = answer.json(), first.json()
    assert one.pop("recommendation_id") != other.pop("recommendation_id")
    return one == other


def test_repeat_is_served_from_the_cache_until_the_history_or_hidden_items_change(
    mf_artifacts, tmp_path
):
    with make_client(mf_artifacts, tmp_path) as client:
        first = client.get("/recommend/4", params={"k": 5})
        assert _same_list(client.get("/recommend/4", params={"k": 5}), first)
        assert _cached_count(client) == 1
        top = _ids(first)[0]
        client.post("/interactions", json={"user_id": "4", "item_id": top, "kind": "click"})
        after_write = client.get("/recommend/4", params={"k": 5})
        assert top not in _ids(after_write) and after_write.json()["strategy"] == "fold_in"
        hidden = _ids(after_write)[0]
        client.put(f"/items/{hidden}", json={"title": "gone", "hidden": True})
        assert hidden not in _ids(client.get("/recommend/4", params={"k": 5}))
        assert _cached_count(client) == 1


def test_without_the_cache_every_answer_is_computed(mf_artifacts, tmp_path):
    with make_client(mf_artifacts, tmp_path, response_cache_bytes=0) as client:
        first = client.get("/recommend/4", params={"k": 5})
        assert _same_list(client.get("/recommend/4", params={"k": 5}), first)
        assert _cached_count(client) == 0
