"""Items (PUT/GET /items/{item_id}) and user summaries (GET /users/{user_id})."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.deps import ModelDep, SessionDep
from app.errors import NotFound, error_responses
from app.schemas import ItemIdPath, ItemIn, ItemOut, UserIdPath, UserOut
from app.store.repository import item_details, upsert_item, user_summary

router = APIRouter(tags=["catalog"])


@router.put(
    "/items/{item_id}",
    response_model=ItemOut,
    summary="Create or update an item",
    operation_id="putItem",
    responses=error_responses(400, 413, 422),
)
def put_item(request: Request, item_id: ItemIdPath, body: ItemIn, session: SessionDep) -> dict:
    """Title, categories and metadata; `hidden: true` removes it from every list at once."""
    item = upsert_item(
        session,
        item_id,
        title=body.title,
        categories=body.categories,
        metadata=body.metadata,
        hidden=body.hidden,
    )
    request.app.state.view.changed()
    return item


@router.get(
    "/items/{item_id}",
    response_model=ItemOut,
    summary="An item",
    operation_id="getItem",
    responses=error_responses(404, 422),
)
def get_item(item_id: ItemIdPath, session: SessionDep) -> dict:
    item = item_details(session, item_id)
    if item is None:
        raise NotFound(f"unknown item {item_id!r}")
    return item


@router.get(
    "/users/{user_id}",
    response_model=UserOut,
    summary="A user's history in summary",
    operation_id="getUser",
    responses=error_responses(404, 422),
)
def get_user(request: Request, user_id: UserIdPath, session: SessionDep, model: ModelDep) -> dict:
    """Interaction count, time span, kinds, top categories, and whether the model knows them
    (not a user made again under the id of one deleted after the model was trained)."""
    summary = user_summary(session, user_id)
    if summary is None:
        raise NotFound(f"unknown user {user_id!r}")
    bundle = getattr(model, "bundle", None)
    deleted = model.cutoff.applies(request.app.state.view.deletions.users.get(user_id))
    known = bool(bundle and user_id in bundle.user_map and not deleted)
    return {**summary, "known_to_model": known}
