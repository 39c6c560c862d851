import numpy as np

from training.datasets.synthetic import make_synthetic
from training.sampling import positive_codes, sample_negatives, sample_pairs
from training.splits import chronological_split, leave_one_out, random_split, stratified_split
from training.vocab import EncodedInteractions


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


def test_chronological_split_tests_the_latest_rows():
    data = _data()
    train, test = chronological_split(data, 0.2)
    for user in range(5):
        assert (
            train.timestamps[train.users == user].max() <= test.timestamps[test.users == user].min()
        )


def test_leave_one_out_holds_out_one_latest_row_per_user():
    data = _data()
    train, test = leave_one_out(data)
    assert len(test) == data.n_users
    for user, stamp in zip(test.users[:10], test.timestamps[:10], strict=True):
        assert stamp >= train.timestamps[train.users == user].max()


def test_negatives_are_never_positives(rng):
    data = _data()
    codes = positive_codes(data.users, data.items, data.n_items)
    negatives = sample_negatives(data.users, data.n_items, codes, rng)
    hits = np.isin(data.users.astype(np.int64) * data.n_items + negatives, codes)
    assert not hits.any()


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
