"""POST /interactions (one or a batch) and GET /users/{user_id}/interactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.deps import SessionDep
from app.errors import NotFound, error_responses
from app.experiments.assignment import experiment_recommendations
from app.interaction_schemas import InteractionBatchIn, InteractionsBody
from app.schemas import StoredOut, UserIdPath, UserInteractionsOut
from app.store.experiments import attribute_events
from app.store.repository import add_interactions, user_exists, user_interactions

router = APIRouter(tags=["interactions"])


@router.post(
    "/interactions",
    status_code=201,
    response_model=StoredOut,
    summary="Record interactions",
    operation_id="addInteractions",
    responses=error_responses(400, 413, 422),
)
def post_interactions(request: Request, body: InteractionsBody, session: SessionDep) -> dict:
    """Store one event, or a batch (`{"interactions": [...]}`, up to 10,000); answers 201 only
    after the commit, when recommendations from every worker already take the events into
    account. Unknown users and items are created on the fly."""
    events = body.interactions if isinstance(body, InteractionBatchIn) else [body]
    quoted = experiment_recommendations(event.recommendation_id for event in events)
    attributed = attribute_events(session, quoted)  # committed with the events
    stored = add_interactions(session, [event.row() for event in events])
    request.app.state.experiments.attributed(attributed)
    request.app.state.view.changed()
    return {"stored": stored}


@router.get(
    "/users/{user_id}/interactions",
    response_model=UserInteractionsOut,
    summary="A user's interactions, newest first",
    operation_id="getUserInteractions",
    responses=error_responses(404, 422),
)
def get_user_interactions(
    user_id: UserIdPath,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    if not user_exists(session, user_id):
        raise NotFound(f"unknown user {user_id!r}")
    return {"user_id": user_id, "interactions": user_interactions(session, user_id, limit, offset)}
