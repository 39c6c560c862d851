"""Request and response bodies of the public API, with OpenAPI examples."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from app.ids import ExternalId as ExternalId
from app.ids import ItemIdPath as ItemIdPath
from app.ids import UserIdPath as UserIdPath
from app.request_body import RequestBody
from app.rule_schemas import RulesIn

K = Annotated[int, Query(ge=1, le=1000, description="how many items (1-1000)")]


class BecauseOut(BaseModel):
    item_id: str
    title: str
    similarity: float


class ScoredItemOut(BaseModel):
    item_id: str
    score: float
    title: str = ""
    because: list[BecauseOut] | None = Field(
        None, description="with explain=true: the user's items that most support this one"
    )


class RecommendOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "196",
                    "model": "mf",
                    "cold_start": False,
                    "items": [{"item_id": "50", "score": 4.61, "title": "Star Wars (1977)"}],
                    "recommendation_id": "e1a1-5f0c3a9e2b7d4c18",
                    "arm": "treatment",
                }
            ]
        }
    )
    user_id: str
    model: str
    version: str | None = Field(
        None, description="the bundle that answered (null: the store's popularity fallback)"
    )
    cold_start: bool
    strategy: str = Field(
        description="model (trained vector), fold_in (computed from the store now) or popularity"
    )
    items: list[ScoredItemOut]
    recommendation_id: str = Field(
        description="this list's id, new for every answer: send it with the interactions it "
        "caused (POST /interactions) to attribute them to the list's experiment arm"
    )
    arm: str | None = Field(
        description="the experiment arm that answered (null: no experiment, or `?model=` chose)"
    )


class RecommendBatchIn(RulesIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_ids": ["196", "186"], "k": 10}]},
    )
    user_ids: list[ExternalId] = Field(min_length=1, max_length=1000)
    k: int = Field(10, ge=1, le=1000)
    exclude: list[ExternalId] = Field(default_factory=list, max_length=1000)
    category: str | None = Field(None, min_length=1, max_length=64)
    exclude_seen: bool = True


class RecommendBatchOut(BaseModel):
    model: str = Field(
        description="the model asked for; while an experiment runs, each "
        "result names the arm's model that answered it"
    )
    version: str | None = None
    results: list[RecommendOut]


class SimilarOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"item_id": "242", "items": [{"item_id": "98", "score": 0.83, "title": "..."}]}
            ]
        }
    )
    item_id: str
    model: str
    version: str | None = None
    items: list[ScoredItemOut]


class ScoreIn(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "196", "item_ids": ["242", "302"]}]},
    )
    user_id: ExternalId
    item_ids: list[ExternalId] = Field(min_length=1, max_length=1000)


class ItemScoreOut(BaseModel):
    item_id: str
    score: float


class ScoreOut(BaseModel):
    user_id: str
    model: str
    version: str | None = None
    cold_start: bool
    strategy: str = Field(
        description="model, fold_in (the user's newer interactions folded in) or popularity"
    )
    scores: list[ItemScoreOut]


class StoredOut(BaseModel):
    stored: int


class InteractionOut(BaseModel):
    item_id: str
    title: str
    value: float
    kind: str
    timestamp: float


class UserInteractionsOut(BaseModel):
    user_id: str
    interactions: list[InteractionOut]


class HealthOut(BaseModel):
    status: str = "ok"


class StoreCountsOut(BaseModel):
    users: int
    items: int
    interactions: int


class RolloutOut(BaseModel):
    """This worker against the fleet's model pointer in the store."""

    revision: int = Field(description="the fleet's lifecycle revision applied (0: none yet)")
    wanted: str | None = Field(
        description="the version the fleet points at (null: no operator choice yet, so each "
        "worker serves the newest valid bundle it found at start-up)"
    )
    following: bool = Field(description="whether this worker serves the wanted version")
    problem: str | None = Field(
        None, description="a pointed-to bundle this worker cannot load (it keeps serving)"
    )


class ReadyOut(BaseModel):
    ready: bool
    model: str | None
    version: str | None = Field(description="the bundle version this worker serves")
    kind: str | None
    fallback: str | None = Field(None, description="what serves when no bundle is loaded")
    rollout: RolloutOut
    store: StoreCountsOut
    histories: str | None = Field(
        None,
        description="the bundle whose users' stored events answer the users it knows with no "
        "store query (null: every history is read from the store; README, Histories from the "
        "bundle)",
    )


class ItemIn(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Star Wars (1977)",
                    "categories": ["Action", "Sci-Fi"],
                    "metadata": {"year": 1977},
                    "hidden": False,
                }
            ]
        },
    )
    title: str = Field("", max_length=512)
    categories: list[
        Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^|\x00-\x1f]+$")]
    ] = Field(default_factory=list, max_length=50)
    metadata: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, max_length=100
    )
    hidden: bool = Field(False, description="hidden items are left out of every list at once")


class ItemOut(BaseModel):
    item_id: str
    title: str
    categories: list[str]
    metadata: dict[str, str | int | float | bool | None]
    hidden: bool
    interactions: int


class CategoryCount(BaseModel):
    category: str
    count: int


class UserOut(BaseModel):
    user_id: str
    interactions: int
    first_timestamp: float | None
    last_timestamp: float | None
    kinds: dict[str, int]
    top_categories: list[CategoryCount]
    known_to_model: bool


class ModelOut(BaseModel):
    version: str
    model: str
    kind: str | None
    created_at: str
    active: bool
    loaded: bool
    metrics: dict[str, float]
    dataset: dict[str, object]
    params: dict[str, object]


class ModelsOut(BaseModel):
    active: str | None
    models: list[ModelOut]


class ReloadOut(BaseModel):
    active: str
    previous: str | None = Field(description="the fleet's rollback target after this change")
    changed: bool = Field(description="whether this worker served another version before")
    revision: int = Field(description="the fleet's lifecycle revision this change wrote")
