"""DELETE /users/{user_id} and DELETE /items/{item_id} (admin): erase an id from the store and
from what every worker serves."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.deps import AdminDep, SessionDep
from app.errors import NotFound, error_responses
from app.schemas import ItemIdPath, UserIdPath
from app.store.deletions import Kind, delete_entity

router = APIRouter(tags=["catalog"])


class DeletionOut(BaseModel):
    """What a deletion removed, and its place in the deletion log."""

    kind: Literal["user", "item"]
    id: str = Field(description="the deleted user or item id")
    interactions: int = Field(description="interactions removed with it")
    deletion_id: int = Field(description="its id in the deletion log")
    deleted_at: float = Field(description="unix seconds")


def _delete(request: Request, session: SessionDep, kind: Kind, external_id: str) -> dict:
    """Delete in one transaction, apply it to this worker's view now and signal the host's
    other workers (other replicas apply it within their store refresh)."""
    done = delete_entity(session, kind, external_id)
    if done is None:
        raise NotFound(f"unknown {kind} {external_id!r}")
    request.app.state.view.changed()
    request.app.state.metrics.serving.deletions.labels(kind).inc()
    return {
        "kind": kind,
        "id": external_id,
        "interactions": done.interactions,
        "deletion_id": done.id,
        "deleted_at": done.deleted_at,
    }


@router.delete(
    "/users/{user_id}",
    response_model=DeletionOut,
    dependencies=[AdminDep],
    summary="Delete a user and their history",
    operation_id="deleteUser",
    responses=error_responses(401, 403, 404, 422),
)
def delete_user(request: Request, user_id: UserIdPath, session: SessionDep) -> dict:
    """Removes the user's interactions and record from the store in one transaction. At once
    on every worker of this host (within the store refresh on other replicas) the user is
    answered as a cold start: no model made before the deletion uses their vector again.
    Events posted later under the same id make a new user."""
    return _delete(request, session, "user", user_id)


@router.delete(
    "/items/{item_id}",
    response_model=DeletionOut,
    dependencies=[AdminDep],
    summary="Delete an item and its interactions",
    operation_id="deleteItem",
    responses=error_responses(401, 403, 404, 422),
)
def delete_item(request: Request, item_id: ItemIdPath, session: SessionDep) -> dict:
    """Removes the item's interactions and record from the store in one transaction. At once
    on every worker of this host (within the store refresh on other replicas) it leaves every
    list: recommendations, similar items, the popularity fallback, explanations; /score and
    /similar answer 404 for it."""
    return _delete(request, session, "item", item_id)
