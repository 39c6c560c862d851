"""GET /health, GET /ready, GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, RootModel
from sqlalchemy.exc import SQLAlchemyError

from app.deps import SessionDep, StateDep
from app.errors import ServiceUnavailable, error_responses
from app.schemas import HealthOut, ReadyOut
from app.serving.lifecycle import LifecycleFollower
from app.serving.state import ModelState
from app.store.counts import StoreCounts

router = APIRouter(tags=["operations"])


class MetricSampleOut(BaseModel):
    labels: dict[str, str]
    value: float


class MetricsOut(RootModel[dict[str, list[MetricSampleOut]]]):
    """/metrics as JSON: every sample by metric name (Accept: application/json)."""


_READY_EXAMPLE = {
    "ready": True,
    "model": "mf",
    "version": "20260101T000000000000Z-mf",
    "kind": "dot",
    "fallback": None,
    "rollout": {
        "revision": 3,
        "wanted": "20260101T000000000000Z-mf",
        "following": True,
        "problem": None,
    },
    "store": {"users": 943, "items": 1682, "interactions": 100000},
    "histories": "20260101T000000000000Z-mf",
}
_METRICS_TEXT_EXAMPLE = (
    'reco_requests_total{method="GET",route="/recommend/{user_id}",status="200"} 42.0\n'
    'reco_model_offline_metric{metric="ndcg@10"} 0.39\n'
)
_METRICS_JSON_EXAMPLE = {
    "reco_requests_total": [
        {"labels": {"route": "/recommend/{user_id}", "method": "GET", "status": "200"}, "value": 42}
    ]
}


def _example(value: object) -> dict:
    return {"content": {"application/json": {"example": value}}}


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Liveness",
    operation_id="health",
    responses={200: _example({"status": "ok"})},
)
async def health() -> dict:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadyOut,
    summary="Readiness: model and store",
    operation_id="ready",
    responses={200: _example(_READY_EXAMPLE), **error_responses(503)},
)
def ready(request: Request, state: StateDep, session: SessionDep) -> Response:
    """200 while the store answers, with or without a model bundle (`fallback` says what
    serves without one); 503 when the store does not answer. `rollout` compares what this
    worker serves with the fleet's pointer (a bundle it cannot load is named there, while
    it keeps serving its version). `store` holds row counts taken at most a minute ago;
    `histories` names the bundle whose users' histories answer without a store query.
    """
    try:
        counts: StoreCounts = request.app.state.store_counts
        stats = counts.get(session)
    except SQLAlchemyError as error:
        raise ServiceUnavailable(f"store unavailable: {type(error).__name__}") from None
    model = state.active
    body = {
        "ready": True,
        "model": model.name if model else None,
        "version": model.version if model else None,
        "kind": model.bundle.kind if model else None,
        "fallback": None if model else f"popularity from the store ({state.problem})",
        "rollout": _rollout(request.app.state.lifecycle, state),
        "store": stats,
        "histories": request.app.state.view.trained_version,
    }
    return JSONResponse(body)


def _rollout(follower: LifecycleFollower, state: ModelState) -> dict:
    wanted = follower.pointers.active
    return {
        "revision": follower.pointers.revision,
        "wanted": wanted,
        "following": wanted is None or wanted == state.active_version,
        "problem": follower.problem,
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics (JSON with Accept: application/json)",
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "model": MetricsOut,  # the application/json variant
            "description": "Prometheus text exposition, or the same samples as JSON",
            "content": {
                "text/plain": {"schema": {"type": "string"}, "example": _METRICS_TEXT_EXAMPLE},
                "application/json": {"example": _METRICS_JSON_EXAMPLE},
            },
        }
    },
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(registry.as_json())
    return Response(registry.text(), media_type=CONTENT_TYPE_LATEST)
