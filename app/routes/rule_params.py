"""The business rules of a GET /recommend (boost, max_per_category, dither) as query
parameters, resolved against the service defaults (RECO_ settings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, Field, StringConstraints

from app.ids import ID_LENGTH
from app.routes.hand_query import declared, ids_of, parsed
from app.rule_schemas import BOOST_HELP, CAP_HELP, DITHER_HELP, MAX_SEED, SEED_HELP
from app.serving.rules import Rules, default_rules, resolve_rules

# The widest GET must still fit uvicorn's ~64 KiB request line beside `exclude`'s 49 KB (see
# recommendations.py): 4 boosted ids of 128 four-byte characters, percent-encoded, take 6 KB.
# Longer lists go in POST /recommend's body.
MAX_QUERY_BOOST_IDS = 4


class RuleQuery(BaseModel):
    """The rule parameters of a GET /recommend, validated by hand (app/routes/hand_query.py);
    `RULE_PARAMETERS` declares them in the OpenAPI document."""

    boost_items: list[Annotated[str, StringConstraints(max_length=ID_LENGTH)]] | None = Field(
        None,
        max_length=MAX_QUERY_BOOST_IDS,
        description=f"item ids to boost (repeat, or comma-separated), at most "
        f"{MAX_QUERY_BOOST_IDS}; POST /recommend takes more",
    )
    boost_category: str | None = Field(
        None, min_length=1, max_length=64, description="boost this category's items"
    )
    boost_weight: float | None = Field(None, ge=-10, le=10, description=BOOST_HELP)
    max_per_category: int | None = Field(None, ge=0, le=1000, description=CAP_HELP)
    dither: float | None = Field(None, ge=1, le=10, description=DITHER_HELP)
    dither_seed: int | None = Field(None, ge=0, le=MAX_SEED, description=SEED_HELP)


RULE_PARAMETERS = declared(RuleQuery)


def query_rules(request: Request) -> Rules:
    """The rules of a GET /recommend: its query parameters over the service defaults
    (called by the route itself: a FastAPI dependency costs more than the parsing)."""
    defaults = default_rules(request.app.state.settings)
    rules = parsed(request, RuleQuery, frozenset({"boost_items"}))
    if rules is None:
        return defaults
    return resolve_rules(
        defaults,
        boost_items=ids_of(rules.boost_items) or None,
        boost_category=rules.boost_category,
        boost_weight=rules.boost_weight,
        max_per_category=rules.max_per_category,
        dither=rules.dither,
        dither_seed=rules.dither_seed,
    )
