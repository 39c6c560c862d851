"""GET and POST /recommend, GET /similar/{item_id}, POST /score."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from app.deps import ModelDep, SessionDep
from app.schemas import (
    ItemIdPath,
    K,
    RecommendBatchIn,
    RecommendBatchOut,
    RecommendOut,
    ScoreIn,
    ScoreOut,
    SimilarOut,
    UserIdPath,
)
from app.serving.service import HistoryEvent, Recommendation, RecommendOptions
from app.store.repository import user_histories

router = APIRouter(tags=["recommendations"])

Offset = Annotated[int, Query(ge=0, le=10_000, description="skip this many (paging)")]
Exclude = Annotated[
    list[str] | None,
    Query(max_length=1000, description="item ids to leave out (repeat, or comma-separated)"),
]
Category = Annotated[
    str | None, Query(min_length=1, max_length=64, description="only items of this category")
]


def _ids(values: list[str] | None) -> list[str]:
    return [v for value in values or [] for v in value.split(",") if v]


@router.get(
    "/recommend/{user_id}",
    response_model=RecommendOut,
    response_model_exclude_none=True,
    summary="Top-k items for a user",
)
async def recommend(
    request: Request,
    user_id: UserIdPath,
    model: ModelDep,
    k: K = 10,
    offset: Offset = 0,
    exclude: Exclude = None,
    category: Category = None,
    exclude_seen: Annotated[bool, Query(description="leave out items already seen")] = True,
    explain: Annotated[bool, Query(description="add the history items behind each")] = False,
) -> dict:
    """Items for the user, best first. Items the user interacted with (also after training)
    are left out unless `exclude_seen=false`. A user the model has not seen but who has
    interactions in the store gets a vector folded in from them at once (`strategy:
    fold_in`); a user with no interactions at all gets popular items (`cold_start: true`)."""

    def read_and_rank() -> Recommendation:
        """The blocking part (one store query, numpy), in one threadpool hop."""
        with request.app.state.sessionmaker() as session:
            history = _histories(session, [user_id])[user_id]
            hidden = request.app.state.hidden.get(session)
        options = RecommendOptions(
            k=k,
            offset=offset,
            exclude=_ids(exclude),
            category=category,
            exclude_seen=exclude_seen,
            explain=explain,
            hidden=hidden,
        )
        return model.recommend(user_id, history, options)

    return _count_and_render(request, await run_in_threadpool(read_and_rank), explain)


def _histories(session: Session, user_ids: list[str]) -> dict[str, list[HistoryEvent]]:
    stored = user_histories(session, user_ids)
    return {user: [HistoryEvent(*row) for row in rows] for user, rows in stored.items()}


def _count_and_render(request: Request, result: Recommendation, explain: bool) -> dict:
    counters = request.app.state.metrics.serving
    counters.strategies.labels(result.strategy).inc()
    if result.cold_start:
        counters.cold_starts.inc()
    return {
        "user_id": result.user_id,
        "model": result.model,
        "cold_start": result.cold_start,
        "strategy": result.strategy,
        "items": [_item(i, explain) for i in result.items],
    }


@router.post(
    "/recommend",
    response_model=RecommendBatchOut,
    response_model_exclude_none=True,
    summary="Top-k items for many users in one request",
)
def recommend_batch(
    request: Request, body: RecommendBatchIn, model: ModelDep, session: SessionDep
) -> dict:
    """The same as GET /recommend for up to 1,000 users; the model scores every user it
    knows with one matrix product."""
    users = list(dict.fromkeys(body.user_ids))
    options = RecommendOptions(
        k=body.k,
        exclude=body.exclude,
        category=body.category,
        exclude_seen=body.exclude_seen,
        hidden=request.app.state.hidden.get(session),
    )
    results = model.recommend_many(users, _histories(session, users), options)
    rendered = {r.user_id: _count_and_render(request, r, False) for r in results}
    return {"model": model.name, "results": [rendered[user] for user in body.user_ids]}


def _item(item: object, explain: bool) -> dict:
    out = {"item_id": item.item_id, "score": item.score, "title": item.title}
    if explain:
        out["because"] = [b.__dict__ for b in item.because or []]
    return out


@router.get(
    "/similar/{item_id}",
    response_model=SimilarOut,
    response_model_exclude_none=True,
    summary="Items similar to an item",
)
def similar(
    request: Request,
    item_id: ItemIdPath,
    model: ModelDep,
    session: SessionDep,
    k: K = 10,
    offset: Offset = 0,
    exclude: Exclude = None,
    category: Category = None,
) -> dict:
    """Nearest items by cosine similarity of the model's item embeddings (never the item)."""
    items = model.similar(
        item_id,
        k,
        offset=offset,
        exclude=_ids(exclude),
        category=category,
        hidden=request.app.state.hidden.get(session),
    )
    return {"item_id": item_id, "model": model.name, "items": [_item(i, False) for i in items]}


@router.post("/score", response_model=ScoreOut, summary="Score given items for a user")
def score(body: ScoreIn, model: ModelDep) -> dict:
    """Model scores in the order asked; unknown items are a 404 naming them."""
    cold, scores = model.score(body.user_id, body.item_ids)
    pairs = zip(body.item_ids, scores, strict=True)
    return {
        "user_id": body.user_id,
        "model": model.name,
        "cold_start": cold,
        "scores": [{"item_id": i, "score": s} for i, s in pairs],
    }
