"""POST /interactions (one or a batch) and GET /users/{user_id}/interactions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from app.deps import SessionDep
from app.errors import NotFound, error_responses
from app.experiments.assignment import experiment_recommendations
from app.interaction_schemas import InteractionBatchIn, InteractionsBody
from app.schemas import StoredOut, UserIdPath, UserInteractionsOut
from app.store.experiments import attribute_events
from app.store.idempotency import KeyKeeper, first_answer
from app.store.repository import insert_interactions, retried, user_exists, user_interactions

router = APIRouter(tags=["interactions"])
REPLAYED_HEADER = "Idempotent-Replayed"
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[!-~]+$",
        description="any unique string per logical request (e.g. a UUID): a request resent "
        "with the same key within RECO_IDEMPOTENCY_RETENTION_SECONDS is answered with the "
        "first answer and stores nothing, so retrying a POST is safe",
    ),
]


@router.post(
    "/interactions",
    status_code=201,
    response_model=StoredOut,
    summary="Record interactions",
    operation_id="addInteractions",
    responses={
        201: {
            "headers": {
                REPLAYED_HEADER: {
                    "description": "present (`true`) when an earlier request with this "
                    "Idempotency-Key stored the events and this one stored nothing",
                    "schema": {"type": "string"},
                }
            }
        },
        **error_responses(400, 413, 422),
    },
)
def post_interactions(
    request: Request,
    response: Response,
    body: InteractionsBody,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict:
    """Store one event, or a batch (`{"interactions": [...]}`, up to 10,000); answers 201 only
    after the commit, when recommendations from every worker already take the events into
    account. Unknown users and items are created on the fly. With an `Idempotency-Key`, a
    request sent again (by the client or a load balancer) gets the first answer and stores
    nothing (`Idempotent-Replayed: true`)."""
    events = body.interactions if isinstance(body, InteractionBatchIn) else [body]
    quoted = experiment_recommendations(event.recommendation_id for event in events)
    keys: KeyKeeper = request.app.state.idempotency

    def store() -> tuple[int, list, bool]:
        """One transaction: the key, the attribution and the events, all or nothing."""
        if idempotency_key is not None:
            first = first_answer(session, idempotency_key)
            if first is not None:
                return first, [], True
        attributed = attribute_events(session, quoted)
        stored = insert_interactions(session, [event.row() for event in events])
        if idempotency_key is not None:
            keys.claim(session, idempotency_key, stored)
        session.commit()
        return stored, attributed, False

    stored, attributed, replayed = retried(session, store)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
        return {"stored": stored}
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
