import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.serving.index import normalise_rows, top_k

SCORES = st.one_of(
    st.integers(-5, 5).map(float),  # many ties
    st.sampled_from([np.inf, -np.inf, np.nan]),
    st.floats(-1e6, 1e6, width=32),
)


def _reference(scores: np.ndarray, k: int, exclude: np.ndarray) -> list[int]:
    """The k best allowed indices by a full sort: score descending (NaN last), index ascending."""
    ranked = np.where(np.isnan(scores), -np.inf, scores)
    allowed = [i for i in range(len(scores)) if i not in set(exclude.tolist())]
    return sorted(allowed, key=lambda i: (-ranked[i], i))[:k]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(SCORES, min_size=1, max_size=60),
    st.integers(1, 70),
    st.lists(st.integers(0, 59), max_size=10),
)
def test_top_k_matches_sorted_reference(values, k, excluded):
    scores = np.array(values, np.float32)
    exclude = np.array([e for e in excluded if e < len(scores)], np.int64)
    indices, top = top_k(scores, k, exclude)
    reference = _reference(scores, k, exclude)
    assert indices.tolist() == reference
    np.testing.assert_array_equal(top, np.where(np.isnan(scores), -np.inf, scores)[reference])


def test_top_k_ties_broken_by_lower_index():
    indices, _ = top_k(np.zeros(10, np.float32), 3, np.array([0, 2]))
    assert indices.tolist() == [1, 3, 4]


def test_top_k_everything_excluded_is_empty():
    indices, top = top_k(np.ones(3, np.float32), 5, np.array([0, 1, 2]))
    assert indices.size == 0 and top.size == 0


def test_top_k_does_not_modify_the_scores():
    scores = np.array([3.0, np.nan, 1.0], np.float32)
    top_k(scores, 2, np.array([0]))
    assert scores[0] == 3.0 and np.isnan(scores[1])


def test_normalise_rows_unit_length_and_zero_rows():
    rows = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
