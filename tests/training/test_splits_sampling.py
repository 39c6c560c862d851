import numpy as np
import pandas as pd

from training import sampling
from training.datasets.synthetic import make_synthetic
from training.interactions import Interactions
from training.models._implicit import recency_weights
from training.sampling import positive_codes, sample_negatives, sample_pairs
from training.splits import (
    leave_one_out,
    random_split,
    recency_rank,
    stratified_split,
)
from training.vocab import EncodedInteractions, pair_codes


def _data() -> EncodedInteractions:
    return EncodedInteractions.encode(make_synthetic(50, 200, 1500, seed=3))


def test_random_split_partitions_rows(rng):
    data = _data()
    train, test = random_split(data, 0.2, rng)
    assert len(train) + len(test) == len(data) and len(test) == 300


def test_stratified_split_keeps_every_user_in_train(rng):
    data = _data()
    train, test = stratified_split(data, 0.25, rng)
    assert set(np.unique(train.users)) == set(np.unique(data.users))
    per_user = np.bincount(test.users, minlength=data.n_users)
    total = np.bincount(data.users, minlength=data.n_users)
    assert np.all(per_user == np.clip(np.floor(0.25 * total + 0.5), 1, total - 1))


def test_leave_one_out_holds_out_one_latest_row_per_user():
    data = _data()
    train, test = leave_one_out(data)
    assert len(test) == data.n_users
    for user, stamp in zip(test.users[:10], test.timestamps[:10], strict=True):
        assert stamp >= train.timestamps[train.users == user].max()


def test_negatives_are_never_positives_with_bitmap_or_binary_search(monkeypatch):
    data = _data()
    codes = positive_codes(data.users, data.items, data.n_items)
    with_bitmap = sample_negatives(data.users, data.n_items, codes, np.random.default_rng(5))
    monkeypatch.setattr(sampling, "BITMAP_CELLS", 0)  # every grid too big: binary search
    searched = sample_negatives(data.users, data.n_items, codes, np.random.default_rng(5))
    hits = np.isin(pair_codes(data.users, with_bitmap, data.n_items), codes)
    assert not hits.any()
    np.testing.assert_array_equal(with_bitmap, searched)  # same answers, same seeded draws


def test_negatives_of_user_sorted_queries_are_tested_a_block_of_users_at_a_time(monkeypatch):
    """A grid too big for one bitmap, queries sorted by user (every user, then a redrawn
    subset): blocks of 3 users give the answers and seeded draws of the single bitmap."""
    data = _data()
    users = np.sort(np.repeat(data.users, 4))
    codes = positive_codes(data.users, data.items, data.n_items)
    whole = sample_negatives(users, data.n_items, codes, np.random.default_rng(7))
    monkeypatch.setattr(sampling, "BITMAP_CELLS", 0)
    monkeypatch.setattr(sampling, "BLOCK_CELLS", 3 * data.n_items)
    blocked = sample_negatives(users, data.n_items, codes, np.random.default_rng(7))
    np.testing.assert_array_equal(whole, blocked)
    assert not np.isin(pair_codes(users, blocked, data.n_items), codes).any()
    lookup = sampling._membership(codes, users, data.n_items)
    some = np.sort(np.random.default_rng(0).choice(len(data), 50, replace=False))
    expected = np.isin(pair_codes(data.users, data.items, data.n_items)[some], codes)
    order = np.argsort(data.users[some], kind="stable")
    assert lookup(data.users[some][order], data.items[some][order]).all() and expected.all()


def test_sampling_same_seed_same_samples():
    data = _data()
    first = sample_pairs(data.users, data.items, data.n_items, 2, np.random.default_rng(1))
    second = sample_pairs(data.users, data.items, data.n_items, 2, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert first[2].sum() == len(data)  # one label-1 row per positive


def test_negatives_for_nearly_saturated_user(rng):
    users = np.zeros(9, np.int64)
    items = np.arange(9)
    codes = positive_codes(users, items, 10)
    assert set(sample_negatives(users, 10, codes, rng).tolist()) == {9}


def test_recency_rank_counts_newer_rows_of_the_same_user():
    frame = pd.DataFrame({"user": ["a", "a", "a", "b", "b"], "item": ["1", "2", "3", "1", "2"],
                          "rating": 1.0, "timestamp": [30, 10, 10, 5, 9]})  # fmt: skip
    data = EncodedInteractions.encode(Interactions(frame, "tiny"))
    # user a: row 0 is newest; rows 1 and 2 tie, and the later row counts as newer
    assert recency_rank(data).tolist() == [0, 2, 1, 1, 0]


def test_recency_weights_favour_latest_rows_and_average_one():
    data = _data()
    weights = recency_weights(data, 5.0)
    assert weights.dtype == np.float32 and abs(weights.mean() - 1) < 1e-5
    rank = recency_rank(data)
    for user in range(5):
        mine = data.users == user
        assert weights[mine][np.argmin(rank[mine])] == weights[mine].max()
        assert np.all(np.diff(weights[mine][np.argsort(rank[mine])]) <= 0)
    assert np.all(recency_weights(data, 0) == 1)
