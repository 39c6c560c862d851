"""The business rules of a GET /recommend (boost, max_per_category, dither) as query
parameters, resolved against the service defaults (RECO_ settings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import StringConstraints

from app.ids import ID_LENGTH
from app.rule_schemas import BOOST_HELP, CAP_HELP, DITHER_HELP, MAX_SEED, SEED_HELP
from app.serving.rules import Rules, default_rules, resolve_rules

# The widest GET must still fit uvicorn's ~64 KiB request line beside `exclude`'s 49 KB (see
# recommendations.py): 4 boosted ids of 128 four-byte characters, percent-encoded, take 6 KB.
# Longer lists go in POST /recommend's body.
MAX_QUERY_BOOST_IDS = 4


def ids_of(values: list[str] | None) -> list[str]:
    """Ids from a query parameter given repeated and/or comma-separated."""
    return [v for value in values or [] for v in value.split(",") if v]


async def _query_rules(
    request: Request,
    boost_items: Annotated[
        list[Annotated[str, StringConstraints(max_length=ID_LENGTH)]] | None,
        Query(
            max_length=MAX_QUERY_BOOST_IDS,
            description=f"item ids to boost (repeat, or comma-separated), at most "
            f"{MAX_QUERY_BOOST_IDS}; POST /recommend takes more",
        ),
    ] = None,
    boost_category: Annotated[
        str | None, Query(min_length=1, max_length=64, description="boost this category's items")
    ] = None,
    boost_weight: Annotated[float | None, Query(ge=-10, le=10, description=BOOST_HELP)] = None,
    max_per_category: Annotated[int | None, Query(ge=0, le=1000, description=CAP_HELP)] = None,
    dither: Annotated[float | None, Query(ge=1, le=10, description=DITHER_HELP)] = None,
    dither_seed: Annotated[int | None, Query(ge=0, le=MAX_SEED, description=SEED_HELP)] = None,
) -> Rules:
    """The rules of a GET /recommend: its query parameters over the service defaults."""
    return resolve_rules(
        default_rules(request.app.state.settings),
        boost_items=ids_of(boost_items) or None,
        boost_category=boost_category,
        boost_weight=boost_weight,
        max_per_category=max_per_category,
        dither=dither,
        dither_seed=dither_seed,
    )


RulesDep = Annotated[Rules, Depends(_query_rules)]
