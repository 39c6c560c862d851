"""ModelService on hand-made bundles: exact answers that a trained model cannot promise."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.errors import NotFound
from app.serving.bundle import Bundle
from app.serving.idmap import IdMap
from app.serving.records import FoldInColumns, History, RecommendOptions
from app.serving.scorers import DotScorer, NCFScorer, PopularityScorer, Scorer
from app.serving.service import ModelService, NoEmbeddings
from tests.app.conftest import neumf_lifting_d

ITEMS = ("a", "b", "c", "d")
ITEM_FACTORS = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]], np.float32)
TRAINED = datetime(2026, 1, 1, tzinfo=UTC)


def _service(scorer: Scorer, name: str, settings: Settings | None = None) -> ModelService:
    bundle = Bundle(
        path=Path("unused"),
        version=f"v-{name}",
        manifest={},
        model_name=name,
        kind=scorer.kind,
        scorer=scorer,
        user_map=IdMap(("u",)),
        item_map=IdMap(ITEMS),
        item_titles=[f"Title {i}" for i in ITEMS],
        item_genres=["x"] * len(ITEMS),
        popularity=np.array([1, 50, 20, 5]),
        metrics={},
        created_at=TRAINED.isoformat(),
    )
    return ModelService(bundle, settings or Settings())


@pytest.fixture
def dot() -> ModelService:
    arrays = {"user_factors": np.array([[1.0, 0.2]], np.float32), "item_factors": ITEM_FACTORS}
    return _service(DotScorer(arrays, {}), "mf")


def _seen(item_id: str) -> History:
    """One imported 5-star rating of `item_id`, stored before the bundle was made."""
    stored = datetime(2025, 6, 1, tzinfo=UTC).timestamp()
    return History(
        np.array([0], np.int32),
        [item_id],
        np.array([True]),
        np.array([1]),
        fold_in=FoldInColumns(np.array([5.0], np.float32), np.array([stored])),
    )


def test_recommend_known_user_ranks_by_dot_and_skips_seen(dot):
    result = dot.recommend("u", _seen("a"), RecommendOptions(k=3))
    assert [i.item_id for i in result.items] == ["b", "c", "d"]
    assert result.cold_start is False and result.items[0].title == "Title b"
    assert result.items[0].score == pytest.approx(0.92)


def test_recommend_unknown_user_without_history_gets_popular_items(dot):
    result = dot.recommend("stranger", History.empty(), RecommendOptions(k=2))
    assert result.cold_start is True and [i.item_id for i in result.items] == ["b", "c"]


def test_similar_nearest_by_cosine_never_the_item(dot):
    assert [i.item_id for i in dot.similar("a", 3)] == ["b", "c", "d"]
    assert dot.similar("a", 1)[0].score == pytest.approx(0.9 / np.hypot(0.9, 0.1), rel=1e-5)


def test_similar_unknown_item_is_not_found(dot):
    with pytest.raises(NotFound, match="'zz'"):
        dot.similar("zz", 3)


def test_similar_without_embeddings_names_the_model():
    service = _service(PopularityScorer({"item_scores": np.arange(4.0)}, {}), "popularity")
    with pytest.raises(NoEmbeddings, match="'popularity' has no item embeddings"):
        service.similar("a", 3)
    assert NoEmbeddings.status_code == 409


def test_score_keeps_order_and_names_unknown_items(dot):
    answer = dot.score("u", ["d", "a"])
    assert not answer.cold_start and answer.scores == pytest.approx([-1.0, 1.0])
    with pytest.raises(NotFound, match=r"'x1'.*'x2'"):
        dot.score("u", ["a", "x1", "x2"])


def test_score_unknown_user_uses_popularity_baseline(dot):
    answer = dot.score("stranger", ["a", "b"])
    assert answer.cold_start and answer.strategy == "popularity"
    assert answer.scores == pytest.approx(np.log1p([1, 50]).tolist(), rel=1e-6)


def _neumf(candidates: int) -> ModelService:
    """GMF part ranks a > b > c > d; the MLP part lifts d above everything (full: d, a, b, c)."""
    arrays = neumf_lifting_d()
    return _service(NCFScorer(arrays, {}), "neumf", Settings(ranking_candidates=candidates))


def test_dense_head_ranks_only_what_retrieval_proposes():
    def top(service: ModelService) -> list[str]:
        result = service.recommend("u", History.empty(), RecommendOptions(k=2))
        return [item.item_id for item in result.items]

    assert top(_neumf(candidates=10)) == ["d", "a"]  # catalog within the count: exact
    two_stage = _neumf(candidates=2)
    assert two_stage.plan.route == "two_stage" and top(two_stage) == [
        "a",
        "b",
    ]  # d was never proposed
    scores = [
        item.score
        for item in two_stage.recommend("u", History.empty(), RecommendOptions(k=2)).items
    ]
    assert scores == [4.0, 3.0]  # ranked by the full model's scores


def test_two_stage_returns_k_items_when_k_exceeds_the_candidates():
    """Regression: retrieval proposed `ranking_candidates` items, so k above it came back
    short; now it proposes max(candidates, k)."""
    result = _neumf(candidates=2).recommend("u", History.empty(), RecommendOptions(k=4))
    assert [item.item_id for item in result.items] == ["d", "a", "b", "c"]
