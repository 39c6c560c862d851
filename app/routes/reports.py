"""GET /models/{version}/report: a bundle's training report as data (the curves the dashboard
draws), read-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.deps import SettingsDep
from app.errors import error_responses
from app.routes.models import Version
from app.serving.reports import bundle_report

router = APIRouter(tags=["models"])


class ModelReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": "20260101T000000000000Z-als",
                    "model": "als",
                    "kind": "dot",
                    "history": [{"val_ndcg@10": 0.31}, {"val_ndcg@10": 0.36}],
                    "selection": None,
                }
            ]
        }
    )
    version: str
    model: str
    kind: str | None
    history: list[dict[str, float | None]] = Field(
        description="per-epoch training figures, first epoch first (loss, val_ metrics); "
        "empty for a model fitted in one step or a bundle written before history.json"
    )
    selection: dict[str, Any] | None = Field(
        description="for a model chosen on validation (auto): the metric, the candidates "
        "with their scores, and the chosen one"
    )


@router.get(
    "/models/{version}/report",
    response_model=ModelReportOut,
    summary="A bundle's training report as data",
    operation_id="getModelReport",
    responses=error_responses(404, 422),
)
def get_model_report(version: Version, settings: SettingsDep) -> dict:
    """The training curves of any bundle on disk, loaded or not (the bundle's report.html
    draws the same figures as pictures)."""
    return bundle_report(settings.artifacts_dir, version)
