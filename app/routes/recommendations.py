"""GET and POST /recommend, GET /similar/{item_id}, POST /score."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, TypeVar

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import StringConstraints

from app.deps import ModelDep, served_model
from app.errors import error_responses
from app.experiments.routing import recommend_routed, route_user, served_body
from app.ids import ID_LENGTH
from app.limits import check_batch_items
from app.routes.hand_query import ids_of
from app.routes.list_params import (
    CATEGORY_HELP,
    EXCLUDE_HELP,
    LIST_PARAMETERS,
    MAX_QUERY_EXCLUDE,
    OFFSET_HELP,
    list_query,
)
from app.routes.rule_params import RULE_PARAMETERS, query_rules
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
from app.serving.deletions import refuse_deleted
from app.serving.records import Recommendation, RecommendOptions
from app.serving.response_cache import CachedAnswer, ResponseCache
from app.serving.store_view import StoreView

T = TypeVar("T")
router = APIRouter(tags=["recommendations"])

# /similar's; GET /recommend validates the same parameters by hand (app/routes/list_params.py)
Offset = Annotated[int, Query(ge=0, le=10_000, description=OFFSET_HELP)]
Exclude = Annotated[
    list[Annotated[str, StringConstraints(max_length=ID_LENGTH)]] | None,
    Query(max_length=MAX_QUERY_EXCLUDE, description=EXCLUDE_HELP),
]
Category = Annotated[str | None, Query(min_length=1, max_length=64, description=CATEGORY_HELP)]


MODEL_VERSION_HEADER = "X-Model-Version"


def _answered(*errors: int) -> dict[int | str, dict]:
    """`responses=` of an operation a model answers: its error statuses, and on 200 the
    header naming the bundle version that answered (the body's `version`)."""
    header = {
        "description": "the bundle version that answered, as the body's `version`; absent "
        "when the store's popularity fallback answers (no bundle loaded)",
        "schema": {"type": "string"},
    }
    return {200: {"headers": {MODEL_VERSION_HEADER: header}}, **error_responses(*errors)}


async def _current_view(request: Request) -> StoreView:
    """The store view, first brought up to date if another worker signalled a write."""
    view: StoreView = request.app.state.view
    if view.is_stale():
        await run_in_threadpool(view.catch_up)
    return view


async def _compute(inline: bool, work: Callable[[], T]) -> T:
    """Run `work` on the event loop when the model measured it as small (a threadpool hop
    would cost more than the numpy work itself), else in the threadpool so the loop never
    waits on it."""
    if inline:
        return work()
    return await run_in_threadpool(work)


@router.get(
    "/recommend/{user_id}",
    response_model=RecommendOut,
    response_model_exclude_none=True,
    summary="Top-k items for a user",
    operation_id="recommend",
    responses=_answered(404, 422),
    openapi_extra={"parameters": LIST_PARAMETERS + RULE_PARAMETERS},
)
async def recommend(request: Request, user_id: UserIdPath) -> Response:
    """Items for the user, best first. Items the user interacted with (also after training)
    are left out unless `exclude_seen=false`. A user the model has not seen but who has
    interactions in the store gets a vector folded in from them at once (`strategy:
    fold_in`); a user with no interactions at all gets popular items (`cold_start: true`).
    Rules (see README) reorder the list. Answers are cached until the user's history, the
    hidden items or the model change."""
    page, rules = list_query(request), query_rules(request)
    view = await _current_view(request)
    model, assignment = route_user(request, user_id, served_model(request, page.model))
    excluded = ids_of(page.exclude)
    key = (model.version, user_id, page.k, page.offset, tuple(excluded), page.category)
    key += (page.exclude_seen, page.explain, rules)
    # one read: the set and its version agree; deleted items by this bundle's cutoff
    hidden, hidden_version = view.hidden_for(model.cutoff)
    history = await view.fetch(user_id, partial(model.folds_in, user_id))
    stamp = (history.version, hidden_version)
    cache: ResponseCache = request.app.state.responses
    answer = cache.get(key, stamp) if model.version else None  # the fallback reads the store
    if answer is None:
        options = RecommendOptions(
            k=page.k,
            offset=page.offset,
            exclude=excluded,
            category=page.category,
            exclude_seen=page.exclude_seen,
            explain=page.explain,
            hidden=hidden,
            hidden_version=hidden_version,
            rules=rules,
        )
        result = await _compute(
            model.inline_for(user_id, history), lambda: model.recommend(user_id, history, options)
        )
        body = orjson.dumps(_render(result, page.explain))
        answer = CachedAnswer(body, result.strategy, result.cold_start)
        if model.version:
            cache.put(key, stamp, answer)
    else:
        request.app.state.metrics.serving.cached_answers.inc()
    _count(request, answer.strategy, answer.cold_start)
    return _json(served_body(request, user_id, answer.body, assignment), model.version)


def _json(body: bytes, version: str | None) -> Response:
    """An already serialised JSON answer (the route's response_model documents its shape),
    naming the bundle version that answered in X-Model-Version (none: the fallback)."""
    headers = {MODEL_VERSION_HEADER: version} if version else None
    return Response(body, media_type="application/json", headers=headers)


def _count(request: Request, strategy: str, cold_start: bool) -> None:
    counters = request.app.state.metrics.serving
    counters.strategies.labels(strategy).inc()
    if cold_start:
        counters.cold_starts.inc()


def _render(result: Recommendation, explain: bool) -> dict:
    return {
        "user_id": result.user_id,
        "model": result.model,
        "version": result.version,
        "cold_start": result.cold_start,
        "strategy": result.strategy,
        "items": [_item(i, explain) for i in result.items],
    }


@router.post(
    "/recommend",
    response_model=RecommendBatchOut,
    response_model_exclude_none=True,
    summary="Top-k items for many users in one request",
    operation_id="recommendBatch",
    responses=_answered(400, 404, 413, 422),
)
async def recommend_batch(request: Request, body: RecommendBatchIn, model: ModelDep) -> Response:
    """The same as GET /recommend for up to 1,000 users; the model scores every user it
    knows with one matrix product. The answer holds at most RECO_MAX_BATCH_ITEMS (100,000)
    items: more users x k is a 422."""
    check_batch_items(len(body.user_ids), body.k, request.app.state.settings.max_batch_items)
    view = await _current_view(request)
    users = list(dict.fromkeys(body.user_ids))
    # every deletion: the users may be answered by several models (experiment arms)
    hidden, hidden_version = view.hidden_state
    options = RecommendOptions(
        k=body.k,
        exclude=body.exclude,
        category=body.category,
        exclude_seen=body.exclude_seen,
        hidden=hidden,
        hidden_version=hidden_version,
        rules=body.rules(request.app.state.settings),
    )
    histories = await view.fetch_many(users)
    results, tags = await recommend_routed(request, users, histories, options, model)
    for result in results:
        _count(request, result.strategy, result.cold_start)
    rendered = {r.user_id: {**tags[r.user_id], **_render(r, False)} for r in results}
    answer = {
        "model": model.name,
        "version": model.version,
        "results": [rendered[user] for user in body.user_ids],
    }
    return _json(orjson.dumps(answer), model.version)


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
    operation_id="similarItems",
    responses=_answered(404, 409, 422, 503),
)
async def similar(
    request: Request,
    item_id: ItemIdPath,
    model: ModelDep,
    k: K = 10,
    offset: Offset = 0,
    exclude: Exclude = None,
    category: Category = None,
) -> Response:
    """Nearest items by cosine similarity of the model's item embeddings (never the item)."""
    view = await _current_view(request)
    excluded = ids_of(exclude)
    refuse_deleted([item_id], view.deletions, model.cutoff)
    hidden, hidden_version = view.hidden_for(model.cutoff)
    items = await _compute(
        model.inline_for(None),
        lambda: model.similar(
            item_id,
            k,
            offset=offset,
            exclude=excluded,
            category=category,
            hidden=hidden,
            hidden_version=hidden_version,
        ),
    )
    answer = {
        "item_id": item_id,
        "model": model.name,
        "version": model.version,
        "items": [_item(i, False) for i in items],
    }
    return _json(orjson.dumps(answer), model.version)


@router.post(
    "/score",
    response_model=ScoreOut,
    summary="Score given items for a user",
    operation_id="scoreItems",
    responses=_answered(400, 404, 413, 422, 503),
)
async def score(request: Request, body: ScoreIn, model: ModelDep) -> Response:
    """Model scores in the order asked; unknown items are a 404 naming them. A user's
    interactions that the model was not trained on are folded in, as /recommend does."""
    view = await _current_view(request)
    refuse_deleted(body.item_ids, view.deletions, model.cutoff)
    history = await view.fetch(body.user_id, partial(model.folds_in, body.user_id))
    result = await _compute(
        model.inline_for(body.user_id, history),
        lambda: model.score(body.user_id, body.item_ids, history),
    )
    pairs = zip(body.item_ids, result.scores, strict=True)
    answer = {
        "user_id": body.user_id,
        "model": model.name,
        "version": model.version,
        "cold_start": result.cold_start,
        "strategy": result.strategy,
        "scores": [{"item_id": i, "score": s} for i, s in pairs],
    }
    return _json(orjson.dumps(answer), model.version)
