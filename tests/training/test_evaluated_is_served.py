"""What is evaluated is what is served: RANK's lists are the serving contract's top-k lists,
ties included (popularity scores are counts, so ties are the rule, not the exception)."""

import numpy as np
import pandas as pd
import pytest

from app.serving.index import top_k
from tests.conftest import options_for
from training.interactions import Interactions
from training.metrics import ranking_metrics
from training.models.base import create_model
from training.ranked import evaluate_ranking
from training.vocab import EncodedInteractions


def _tied(seed: int = 0) -> tuple[EncodedInteractions, pd.DataFrame]:
    """300 users over 400 items whose counts take few values (many tied scores), and a test
    set of 3 items per user drawn from the same items."""
    rng = np.random.default_rng(seed)
    rows = [(f"u{u}", f"i{i}") for u in range(300) for i in rng.choice(400, 8, replace=False)]
    frame = pd.DataFrame(rows, columns=["user", "item"]).assign(rating=1.0, timestamp=0)
    train = EncodedInteractions.encode(Interactions(frame, "tied"))
    test = pd.DataFrame(
        [(f"u{u}", f"i{i}") for u in range(300) for i in rng.choice(400, 3, replace=False)],
        columns=["user", "item"],
    )
    return train, test[~test.set_index(["user", "item"]).index.isin(frame.set_index(
        ["user", "item"]).index)]  # fmt: skip


def _served_metrics(model, train: EncodedInteractions, test: pd.DataFrame, k: int) -> dict:
    """Mean RANK metrics of the lists that serving's `top_k` gives, user by user."""
    in_train = train.item_counts() > 0
    per_user = []
    for user, items in test.groupby("user")["item"]:
        u = train.user_map.get(user)
        seen = train.items[train.users == u]
        exclude = np.union1d(seen, np.flatnonzero(~in_train))
        served, _ = top_k(model.score(np.array([u]))[0], k, exclude)
        relevant = {int(i) for i in train.item_map.encode(items.to_numpy()) if i >= 0}
        per_user.append(ranking_metrics(served, relevant, len(items), k))
    return pd.DataFrame(per_user).mean().to_dict()


NUMPY_MODELS = {
    "popularity": {},
    "ease": {},
    "als": {"factors": 8, "iterations": 2},
    "bias": {"reg_item": 1e4},  # item biases shrunk until many tie
}


@pytest.mark.parametrize("name", NUMPY_MODELS)
def test_rank_lists_are_the_served_lists_under_ties(name):
    train, test = _tied()
    model = create_model(name, **NUMPY_MODELS[name])
    model.fit(train)
    evaluated, _ = evaluate_ranking(model, train, test, 10)
    served = _served_metrics(model, train, test, 10)
    for metric, value in served.items():
        assert evaluated[metric] == pytest.approx(value, abs=1e-12), metric


def test_validation_ranker_ranks_as_serving_under_ties():
    from training.models._implicit import ValidationRanker
    from training.splits import stratified_split

    train, _ = _tied()
    fit, valid = stratified_split(train, 0.25, np.random.default_rng(1))
    model = create_model("popularity")
    model.fit(fit)
    ranker = ValidationRanker(fit, valid, np.random.default_rng(2))
    gains = []
    for user in ranker.users:
        seen = fit.items[fit.users == user]
        served, _ = top_k(model.score(np.array([user]))[0], 10, seen)
        relevant = np.setdiff1d(valid.items[valid.users == user], seen)
        discounts = 1 / np.log2(np.arange(10) + 2)
        dcg = discounts[np.isin(served, relevant)].sum()
        gains.append(dcg / discounts[: min(len(relevant), 10)].sum())
    assert ranker(model.scorer) == pytest.approx(np.mean(gains), abs=1e-12)


def _ranking_models() -> list[str]:
    from training.models.base import MODELS, model_class

    model_class("popularity")  # registers every model
    return sorted(name for name, cls in MODELS.items() if "ranking" in cls.tasks)


QUICK = {"epochs": 3, "factors": 8, "batch_size": 256, "validation_fraction": 0.0,
         "iterations": 2, "layers": (16, 8), "finish_epochs": 0}  # fmt: skip


def _served_lists(model, train: EncodedInteractions, folder) -> dict[str, list[str]]:
    """Every user's top-10 through the serving path: the exported bundle, loaded and
    verified by the server's loader, answered by ModelService with the user's history."""
    from app.serving.bundle import load_bundle
    from app.serving.records import History, RecommendOptions
    from app.serving.service import ModelService
    from training.export import export_bundle

    no_titles = pd.DataFrame(columns=["item", "title", "genres"])
    path = export_bundle(model, train, out_dir=folder / "bundle", dataset_name="tied",
                         dataset_fingerprint="tied", items=no_titles, metrics={})  # fmt: skip
    service = ModelService(load_bundle(path, check_name=False))
    names = list(train.item_map.ids)
    histories = {}
    for user_id in train.user_map.ids:
        codes = train.items[train.users == train.user_map.get(user_id)].astype(np.int32)
        n = len(codes)
        histories[user_id] = History(codes, names, np.ones(n, bool), np.zeros(n, np.int64))
    answers = service.recommend_many(list(histories), histories, RecommendOptions(k=10))
    assert {answer.strategy for answer in answers} == {"model"}
    return {answer.user_id: [item.item_id for item in answer.items] for answer in answers}


@pytest.mark.parametrize("candidates", [1000, 50])
@pytest.mark.parametrize("name", _ranking_models())
def test_every_model_evaluates_exactly_the_lists_it_serves(name, candidates, tmp_path, monkeypatch):
    """For every ranking model, RANK's top-10 of every user (ties included) equals what
    the server answers from the model's bundle; with 50 ranking candidates for 400 items the
    dense-head models (mlp, neumf) are served by retrieval -> ranking, and so evaluated."""
    from training.ranked import ranked_lists

    monkeypatch.setenv("RECO_RANKING_CANDIDATES", str(candidates))

    train, _ = _tied()
    model = create_model(name, **options_for(name, QUICK))
    model.fit(train)
    users = np.arange(train.n_users)
    evaluated = ranked_lists(model, train, users, 10)
    served = _served_lists(model, train, tmp_path)
    for user in users.tolist():
        user_id = train.user_map.ids[user]
        assert train.item_map.decode(evaluated[user].tolist()) == served[user_id], user_id
