"""An epoch sampler's parts joined into whole arrays, for tests that look at every row."""

from __future__ import annotations

import numpy as np

from training.models._epochs import Epoch


def whole(epoch: Epoch) -> tuple[np.ndarray, ...]:
    """The epoch's parts concatenated; checks that they hold the `rows` it announced."""
    parts = list(epoch.parts)
    arrays = tuple(np.concatenate(column) for column in zip(*parts, strict=True))
    assert len(arrays[0]) == epoch.rows
    return arrays
