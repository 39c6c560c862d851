"""`top_k_rows` (the batched top-k that evaluation and validation use) against a numpy full
sort, and against the one-row `top_k` that serving uses."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.serving.index import top_k, top_k_rows

SCORES = st.one_of(
    st.integers(-3, 3).map(float),  # many ties
    st.sampled_from([np.inf, -np.inf, np.nan]),
    st.floats(-1e6, 1e6, width=32),
)


def _reference(scores: np.ndarray, k: int, excluded: np.ndarray) -> list[int]:
    """The k best allowed indices by a stable full sort on the negated score (NaN as -inf):
    score descending, index ascending."""
    ranked = np.where(np.isnan(scores), -np.inf, scores)
    allowed = np.flatnonzero(~excluded)
    return allowed[np.argsort(-ranked[allowed], kind="stable")][:k].tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 30),
    st.integers(0, 35),
    st.data(),
)
def test_top_k_rows_match_a_full_sort_reference(n_rows, n_columns, k, data):
    cells = n_rows * n_columns
    values = data.draw(st.lists(SCORES, min_size=cells, max_size=cells))
    scores = np.array(values, np.float32).reshape(n_rows, n_columns)
    flags = data.draw(st.lists(st.booleans(), min_size=cells, max_size=cells))
    excluded = np.array(flags).reshape(n_rows, n_columns)
    indices, top = top_k_rows(scores, k, excluded)
    assert indices.shape == top.shape == (n_rows, min(k, n_columns))
    for row in range(n_rows):
        expected = _reference(scores[row], k, excluded[row])
        found = indices[row][indices[row] >= 0]
        assert found.tolist() == expected
        assert np.all(indices[row][len(expected) :] == -1)
        ranked = np.where(np.isnan(scores[row]), -np.inf, scores[row])
        np.testing.assert_array_equal(top[row][: len(expected)], ranked[expected])
        served, _ = top_k(scores[row], k, np.flatnonzero(excluded[row]))
        assert served.tolist() == expected  # serving's one-row top-k: the same lists


def test_top_k_rows_break_ties_by_lower_index_without_exclusions():
    scores = np.array([[1, 2, 2, 0, 2], [0, 0, 0, 0, 0]], np.float32)
    indices, _ = top_k_rows(scores, 2)
    assert indices.tolist() == [[1, 2], [0, 1]]
