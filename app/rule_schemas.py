"""The business-rule fields of POST /recommend's body (boost, max_per_category, dither),
resolved against the service defaults (RECO_ settings); app/serving/rules.py applies them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from app.config import Settings
from app.ids import ExternalId
from app.request_body import RequestBody
from app.serving.rules import Rules, default_rules, resolve_rules

BOOST_HELP = (
    "added to a boosted item's score: weight x the model's score spread over the rules' pool "
    "(its first minus its last score), so 1 lifts an item from the pool's bottom to its top; "
    "negative demotes"
)
CAP_HELP = "at most this many items of one category in the list (0: no cap)"
DITHER_HELP = (
    "rank dithering: the list is ordered by log(rank) + N(0, log(dither)); 1 = none, 1.5-2 "
    "typical (fresher lists for some ranking quality)"
)
SEED_HELP = "dither seed, e.g. a refresh counter: the same seed gives the same list"
MAX_SEED = 2**31 - 1


class BoostIn(RequestBody):
    """Items to lift (or, with a negative weight, push down) in the list."""

    items: list[ExternalId] = Field(default_factory=list, max_length=1000)
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    weight: float | None = Field(None, ge=-10, le=10, description=BOOST_HELP)


class RulesIn(RequestBody):
    """The rules fields of a body; each one given overrides the service default."""

    boost: BoostIn | None = Field(None, description="boost these items or a category's")
    max_per_category: int | None = Field(None, ge=0, le=1000, description=CAP_HELP)
    dither: float | None = Field(None, ge=1, le=10, description=DITHER_HELP)
    dither_seed: int | None = Field(None, ge=0, le=MAX_SEED, description=SEED_HELP)

    def rules(self, settings: Settings) -> Rules:
        """These fields over the defaults of `settings`."""
        boost = self.boost or BoostIn()
        return resolve_rules(
            default_rules(settings),
            boost_items=boost.items or None,
            boost_category=boost.category,
            boost_weight=boost.weight,
            max_per_category=self.max_per_category,
            dither=self.dither,
            dither_seed=self.dither_seed,
        )
