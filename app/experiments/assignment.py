"""Sticky weighted assignment, and recommendation ids that carry their experiment and arm.

A user's arm is a pure function of (experiment id, user id): the first 8 bytes of their
BLAKE2b hash, read as a fraction of 2**64, fall into one arm's share of the cumulative
weights. Every worker and replica assigns alike, with no lookup and no shared state, and a
new experiment reshuffles users (its id is in the hash). A recommendation id is
`e<experiment>a<arm>-<random hex>` inside an experiment (a plain random hex outside one), so
an event that quotes it is attributed to its arm without looking the list up.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence

TOKEN_BYTES = 8
RECOMMENDATION_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_EXPERIMENT_ID = re.compile(r"e([1-9][0-9]{0,9})a([0-9]{1,3})-[0-9a-f]+")


def cumulative_bounds(weights: Sequence[float]) -> tuple[float, ...]:
    """Each arm's upper bound in [0, 1): the running sums of the normalised weights (the
    last one is 1 exactly, so every fraction lands in an arm)."""
    total = float(sum(weights))
    bounds, running = [], 0.0
    for weight in weights:
        running += weight
        bounds.append(running / total)
    bounds[-1] = 1.0
    return tuple(bounds)


def user_fraction(experiment_id: int, user_id: str) -> float:
    """A uniform number in [0, 1) fixed by the experiment and the user."""
    digest = hashlib.blake2b(f"{experiment_id}\x00{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def assign(experiment_id: int, user_id: str, bounds: Sequence[float]) -> int:
    """The arm position of `user_id` in the experiment whose arms end at `bounds`."""
    return bisect.bisect_right(bounds, user_fraction(experiment_id, user_id))


def new_recommendation_id(experiment_id: int | None = None, arm: int = 0) -> str:
    """A fresh id for one answered list; it names the experiment and arm, if any."""
    token = secrets.token_hex(TOKEN_BYTES)
    return f"e{experiment_id}a{arm}-{token}" if experiment_id else token


def parse_recommendation_id(recommendation_id: str) -> tuple[int, int] | None:
    """(experiment id, arm position) that a recommendation id names; None for any other."""
    match = _EXPERIMENT_ID.fullmatch(recommendation_id)
    return (int(match[1]), int(match[2])) if match else None


def experiment_recommendations(ids: Iterable[str | None]) -> list[tuple[int, int, str]]:
    """(experiment, arm, recommendation id) of each id that names an experiment arm."""
    quoted = ((rid, parse_recommendation_id(rid)) for rid in ids if rid)
    return [(parsed[0], parsed[1], rid) for rid, parsed in quoted if parsed]
