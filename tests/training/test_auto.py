"""`auto`: candidates compared on a validation slice of the training data, the best refitted
on all of it and served; every score and the choice recorded."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from pydantic import ValidationError

from tests.conftest import block_interactions
from training.models.auto import AutoRecommender, user_sample
from training.models.base import create_model, model_class
from training.vocab import EncodedInteractions

NUMPY_CANDIDATES = ("popularity", "als", "ease")


@pytest.fixture(scope="module")
def blocks_encoded() -> EncodedInteractions:
    return EncodedInteractions.encode(block_interactions(40, 30, 10, 3))


def _auto(**params: object) -> AutoRecommender:
    model = create_model("auto", candidates=NUMPY_CANDIDATES, **params)
    assert isinstance(model, AutoRecommender)
    return model


def test_auto_keeps_the_best_validation_score_and_serves_its_refit(blocks_encoded) -> None:
    model = _auto()
    model.fit(blocks_encoded)
    selection = model.selection
    scores = {c["name"]: c["val_ndcg@10"] for c in selection["candidates"]}
    assert list(scores) == list(NUMPY_CANDIDATES)
    assert selection["chosen"] == max(scores, key=scores.get) != "popularity"
    assert scores[selection["chosen"]] > scores["popularity"]
    assert 0 < selection["validation"]["validation_rows"] < len(blocks_encoded)
    # the served arrays are the chosen model refitted on all the training data
    refit = create_model(selection["chosen"])
    refit.fit(blocks_encoded)
    assert model.export().kind == refit.export().kind
    for name, array in refit.export().arrays.items():
        np.testing.assert_array_equal(model.export().arrays[name], array, err_msg=name)
    params = model.fitted_params()
    assert params["chosen"] == selection["chosen"]
    assert params["chosen_params"] == refit.fitted_params() == selection["chosen_params"]


def test_auto_logs_one_line_per_candidate(blocks_encoded, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="training.models.auto"):
        _auto().fit(blocks_encoded)
    lines = [r.getMessage() for r in caplog.records if r.name == "training.models.auto"]
    for name in NUMPY_CANDIDATES:
        assert sum(line.startswith(f"candidate={name} val_ndcg@10=") for line in lines) == 1


def test_auto_skips_ease_over_its_memory_budget(blocks_encoded, caplog) -> None:
    model = _auto(ease_memory_mb=0.01)
    with caplog.at_level(logging.WARNING, logger="training.models.auto"):
        model.fit(blocks_encoded)
    ease = next(c for c in model.selection["candidates"] if c["name"] == "ease")
    assert "ease_memory_mb=0.01" in ease["skipped"] and "val_ndcg@10" not in ease
    assert "candidate=ease skipped" in caplog.text
    assert model.selection["chosen"] != "ease"


def test_auto_without_validation_takes_the_first_candidate(blocks_encoded) -> None:
    model = create_model("auto", candidates=("ease", "als"), validation_fraction=0.0)
    model.fit(blocks_encoded)
    assert model.selection["chosen"] == "ease"
    assert all("val_ndcg@10" not in c for c in model.selection["candidates"])


def test_auto_refits_the_next_best_when_the_best_fails_on_all_rows(
    blocks_encoded, monkeypatch
) -> None:
    probe = _auto()
    probe.fit(blocks_encoded)
    best = probe.selection["chosen"]
    cls = model_class(best)
    original = cls.fit

    def fit_part_only(self, train):  # e.g. imf: a user with every item has no negatives
        if len(train) == len(blocks_encoded):
            raise ValueError("cannot fit all rows")
        return original(self, train)

    monkeypatch.setattr(cls, "fit", fit_part_only)
    model = _auto()
    model.fit(blocks_encoded)
    rows = {c["name"]: c for c in model.selection["candidates"]}
    assert rows[best]["refit_failed"] == "cannot fit all rows"
    others = {name: row["val_ndcg@10"] for name, row in rows.items() if name != best}
    assert model.selection["chosen"] == max(others, key=others.get) == model.chosen.name


def test_auto_records_a_candidate_that_cannot_fit(blocks_encoded, monkeypatch) -> None:
    def refuse(self, train):
        raise ValueError("no such data")

    monkeypatch.setattr(model_class("ease"), "fit", refuse)
    model = _auto()
    model.fit(blocks_encoded)
    rows = {c["name"]: c for c in model.selection["candidates"]}
    assert rows["ease"] == {"name": "ease", "failed": "no such data"}
    assert model.selection["chosen"] != "ease"


@pytest.mark.parametrize(
    ("candidates", "message"),
    [(("auto",), "not a ranking model"), (("als", "als"), "must not repeat"),
     (("bprr",), "unknown model 'bprr'")],
)  # fmt: skip
def test_auto_refuses_bad_candidates(candidates, message) -> None:
    with pytest.raises(ValidationError, match=message):
        create_model("auto", candidates=candidates)


def test_auto_is_not_fitted_before_fit() -> None:
    with pytest.raises(RuntimeError, match="not been fitted"):
        create_model("auto").export()


def test_auto_compares_candidates_on_a_user_sample_and_refits_on_all(blocks_encoded) -> None:
    """Over `selection_rows`, the trials see whole histories of a random set of users only;
    the served model is still the winner refitted on every row."""
    rows = len(blocks_encoded)
    model = _auto(selection_rows=rows // 3)
    model.fit(blocks_encoded)
    validation = model.selection["validation"]
    assert rows // 3 <= validation["sample_rows"] < rows // 2
    assert validation["sample_users"] < blocks_encoded.n_users
    assert validation["fit_rows"] + validation["validation_rows"] == validation["sample_rows"]
    refit = create_model(model.selection["chosen"])
    refit.fit(blocks_encoded)
    for name, array in refit.export().arrays.items():
        np.testing.assert_array_equal(model.export().arrays[name], array, err_msg=name)


def test_user_sample_keeps_whole_histories_renumbered(blocks_encoded) -> None:
    sample = user_sample(blocks_encoded, 100, np.random.default_rng(0))
    assert 100 <= len(sample) < 100 + np.bincount(blocks_encoded.users).max()
    assert sample.n_users == len(np.unique(sample.users)) == sample.users.max() + 1
    original = {blocks_encoded.user_map.ids[u]: u for u in range(blocks_encoded.n_users)}
    for code, user in enumerate(sample.user_map.ids):  # every row of each chosen user, no other
        mine = np.sort(sample.items[sample.users == code])
        theirs = np.sort(blocks_encoded.items[blocks_encoded.users == original[user]])
        np.testing.assert_array_equal(mine, theirs)
    assert user_sample(blocks_encoded, len(blocks_encoded), np.random.default_rng(0)) is (
        blocks_encoded
    )
