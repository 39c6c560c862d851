import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.serving.index import normalise_rows, top_k


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=60),
    st.integers(1, 70),
    st.lists(st.integers(0, 59), max_size=10),
)
def test_top_k_matches_sorted_reference(values, k, excluded):
    scores = np.array(values, np.float32)
    exclude = np.array([e for e in excluded if e < len(scores)], np.int64)
    indices, top = top_k(scores, k, exclude)
    allowed = [i for i in range(len(scores)) if i not in set(exclude.tolist())]
    reference = sorted(allowed, key=lambda i: (-scores[i], i))[:k]
    assert indices.tolist() == reference
    np.testing.assert_array_equal(top, scores[reference])


def test_normalise_rows_unit_length_and_zero_rows():
    rows = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])
