"""Explicit negatives (dislikes) in training data: apart from the rows, never a positive,
learned by als as preference 0 at confidence 1 + alpha, by the sampled models as label-0 rows
(pointwise) or triples against a positive (pairwise)."""

import numpy as np
import pandas as pd

from tests.conftest import block_interactions
from tests.training.epoch_arrays import whole
from training.datasets.prep import prepare
from training.interactions import Interactions
from training.models._implicit import positives
from training.models.base import create_model
from training.vocab import EncodedInteractions


def _with_dislikes(data: Interactions, pairs: list[tuple[str, str]]) -> Interactions:
    return Interactions(
        data.frame, data.name, data.items, pd.DataFrame(pairs, columns=["user", "item"])
    )


def test_negatives_travel_with_the_data_and_drop_their_pairs_rows():
    plain = block_interactions()
    liked = plain.frame.iloc[0]  # user 0's first row
    data = _with_dislikes(plain, [(liked["user"], liked["item"]), ("0", "15"), ("0", "15")])
    assert len(data.negatives) == 2 and data.fingerprint() != plain.fingerprint()
    assert _with_dislikes(plain, []).fingerprint() == plain.fingerprint()
    assert (
        len(prepare(data.with_rows(data.frame[:50]), {"min_user_interactions": 2}).negatives) == 2
    )
    encoded = EncodedInteractions.encode(data)
    assert len(encoded) == len(plain) - 1  # the disliked pair is no positive row
    user, item = encoded.user_map.get("0"), encoded.item_map.get("15")
    assert (user, item) in set(
        zip(encoded.negative_users.tolist(), encoded.negative_items.tolist(), strict=True)
    )
    assert len(encoded.subset(np.arange(5)).negative_users) == 2


def test_als_learns_a_dislike_as_an_explicit_negative():
    """The users of group A (0-9) who never touched item 3, which the others of their group
    like, dislike it: als scores it lower for them than without the dislikes."""
    plain = block_interactions()
    frame = plain.frame
    touched = set(frame.loc[frame["item"] == "3", "user"])
    pairs = [(str(u), "3") for u in range(10) if str(u) not in touched]
    assert pairs and touched & {str(u) for u in range(10)}
    scores = {}
    for name, data in (("plain", plain), ("negative", _with_dislikes(plain, pairs))):
        model = create_model("als", factors=4, iterations=10, reg=1.0)
        encoded = EncodedInteractions.encode(data)
        model.fit(encoded)
        users = np.array([encoded.user_map.get(u) for u, _ in pairs])
        scores[name] = model.score(users)[:, encoded.item_map.get("3")]
    assert (scores["negative"] < scores["plain"]).all()


def test_sampled_models_see_each_dislike_every_epoch():
    """Pointwise (imf): each dislike is one label-0 row of weight 1; pairwise (bpr): each is
    one triple (user, a positive of theirs, the disliked item) of weight 1."""
    plain = block_interactions()
    pairs = [("0", "15"), ("1", "16"), ("12", "2")]
    data = positives(EncodedInteractions.encode(_with_dislikes(plain, pairs)), None)
    wanted = {(data.user_map.get(u), data.item_map.get(i)) for u, i in pairs}
    liked = set(zip(data.users.tolist(), data.items.tolist(), strict=True))

    rows, labels, weights = whole(
        create_model("imf").epoch_sampler(data, np.random.default_rng(0))()
    )
    assert len(rows) == len(data) * (1 + create_model("imf").config.negatives) + len(pairs)
    assert {(int(u), int(i)) for u, i in rows[(labels == 0) & (weights == 1.0)]} >= wanted

    triples, triple_weights = whole(
        create_model("bpr").epoch_sampler(data, np.random.default_rng(0))()
    )
    disliking = [t for t in triples.tolist() if (t[0], t[2]) in wanted]
    assert {(u, d) for u, _, d in disliking} == wanted
    assert all((u, p) in liked for u, p, _ in disliking)
    assert len(triple_weights) == len(triples)

    # grouped (bpr at scale): each dislike is a row of its item `negatives` times, each
    # of those triples at 1/negatives of the weight
    bpr = create_model("bpr")
    grouped, row_weights = whole(bpr.epoch_sampler(data, np.random.default_rng(0), None, True)())
    k = bpr.config.negatives
    at = [i for i, r in enumerate(grouped.tolist())
          if (r[0], r[2]) in wanted and len(set(r[2:])) == 1]  # fmt: skip
    assert {(int(grouped[i, 0]), int(grouped[i, 2])) for i in at} == wanted and len(at) == 3
    assert all((int(grouped[i, 0]), int(grouped[i, 1])) in liked for i in at)
    np.testing.assert_allclose(row_weights[at], 1.0 / k)
