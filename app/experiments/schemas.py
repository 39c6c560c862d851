"""Request and response bodies of the experiment routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.request_body import RequestBody
from app.store.tables import ID_LENGTH

ArmName = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="1-64 of A-Za-z0-9_.-")
]
EXAMPLE = {
    "name": "als vs popularity",
    "arms": [
        {"name": "control", "model": "popularity", "weight": 0.5},
        {"name": "treatment", "model": "als", "weight": 0.5},
    ],
}


class ArmIn(RequestBody):
    name: ArmName
    model: str = Field(
        min_length=1, max_length=ID_LENGTH, description="a loaded model name, or a bundle version"
    )
    weight: float = Field(gt=0, le=1e6, description="share of users: weight / sum of weights")


class ExperimentIn(RequestBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})
    name: str = Field(min_length=1, max_length=128)
    arms: list[ArmIn] = Field(
        min_length=2, max_length=16, description="the first arm is the control"
    )

    @field_validator("arms")
    @classmethod
    def _unique_names(cls, arms: list[ArmIn]) -> list[ArmIn]:
        names = [arm.name for arm in arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique (got {', '.join(names)})")
        return arms


class StopIn(RequestBody):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"arm": "treatment"}]}
    )
    arm: ArmName = Field(description="the arm everyone is routed to from now on")


class ArmOut(BaseModel):
    name: str
    model: str = Field(description="the model as asked: a name or a bundle version")
    version: str = Field(description="the bundle version that answers this arm")
    weight: float
    users: int = Field(description="distinct users the arm answered")
    impressions: int = Field(description="lists the arm answered")
    events: int = Field(description="events attributed to the arm's lists")
    clicked: int = Field(description="lists with at least one attributed event")
    ctr: float = Field(description="clicked / impressions (0 before any impression)")
    ctr_ci95: tuple[float, float] = Field(description="Wilson 95 % interval of ctr")


class ComparisonOut(BaseModel):
    arm: str
    control: str
    lift: float | None = Field(description="ctr / control ctr - 1 (null: control ctr is 0)")
    z: float | None
    p_value: float | None = Field(
        description="two-sided, pooled two-proportion z-test (null: an arm has no impressions)"
    )


class ExperimentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": 1, **EXAMPLE}]})
    id: int
    name: str
    status: str = Field(description="running or stopped")
    winner: str | None = Field(description="the arm chosen when stopped")
    created_at: float
    stopped_at: float | None
    control: str
    arms: list[ArmOut]
    comparison: ComparisonOut | None = Field(
        description="the first arm after the control against the control"
    )
    comparisons: list[ComparisonOut] = Field(description="every other arm against the control")


class ExperimentsOut(BaseModel):
    experiments: list[ExperimentOut]
