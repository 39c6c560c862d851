import numpy as np
import pytest

from training.models.base import create_model
from training.vocab import EncodedInteractions

FAST = {
    "epochs": 30,
    "factors": 8,
    "learning_rate": 0.05,
    "l2": 0.001,
    "validation_fraction": 0.0,
    "batch_size": 64,
    "ensemble": 1,
}


@pytest.fixture(scope="module")
def fitted():
    from tests.conftest import block_interactions

    data = EncodedInteractions.encode(block_interactions())
    model = create_model("mf", **FAST)
    model.fit(data)
    return model, data


def test_mf_ranks_in_group_items_first(fitted):
    model, data = fitted
    scores = model.score(np.arange(data.n_users))
    group_of_item = np.array([int(i) >= 10 for i in data.item_map.ids])
    for user in range(data.n_users):
        scores[user, data.items[data.users == user]] = -np.inf  # unseen items only
        top = int(np.argmax(scores[user]))
        assert group_of_item[top] == (int(data.user_map.ids[user]) >= 10)


def test_mf_numpy_scores_equal_keras(fitted):
    model, data = fitted
    pairs = np.stack([data.users[:50], data.items[:50]], axis=1)
    keras_scores = np.asarray(model.keras_model().predict(pairs, verbose=0))
    numpy_scores = model.scorer.predict_pairs(data.users[:50], data.items[:50])
    np.testing.assert_allclose(numpy_scores, keras_scores, atol=1e-5)


def test_mf_same_seed_same_tables(fitted):
    model, data = fitted
    again = create_model("mf", **FAST)
    again.fit(data)
    for name, array in model.export().arrays.items():
        np.testing.assert_array_equal(array, again.export().arrays[name])


def test_mf_config_round_trips_json():
    model = create_model("mf", factors=16, output="sigmoid_range")
    config = type(model.config).model_validate_json(model.config.model_dump_json())
    assert config == model.config


def test_mf_ensemble_predicts_the_mean_of_its_seeds(fitted):
    """ensemble=2 from seed s is one model whose predictions are the mean of the models
    trained alone from seeds s and s + 1 (and it is still one Keras model)."""
    _, data = fitted
    alone = [create_model("mf", **FAST, seed=s) for s in (5, 6)]
    both = create_model("mf", **(FAST | {"ensemble": 2}), seed=5)
    for model in (*alone, both):
        model.fit(data)
    users, items = data.users[:50], data.items[:50]
    mean = np.mean([m.scorer.predict_pairs(users, items) for m in alone], axis=0)
    np.testing.assert_allclose(both.scorer.predict_pairs(users, items), mean, atol=1e-5)
    assert both.export().arrays["user_factors"].shape[1] == 2 * FAST["factors"]
    keras_scores = both.keras_model().predict(np.stack([users, items], axis=1), verbose=0)
    np.testing.assert_allclose(np.asarray(keras_scores).reshape(-1), mean, atol=1e-5)
