"""What the /recommend routes ask of experiments: the model that answers each user, and the
`recommendation_id` and `arm` their answers carry.

The response cache keeps answers without these two fields; they are spliced in front of the
cached bytes for every request, so no answer ever repeats another request's id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from app.experiments.runtime import Assignment, ExperimentRuntime
from app.serving.records import History, Recommendation, RecommendOptions
from app.serving.service import ModelService


def _runtime(request: Request) -> ExperimentRuntime:
    return request.app.state.experiments


def _explicit(request: Request) -> bool:
    """Whether the request chose its model (`?model=`): then no experiment applies."""
    return bool(request.query_params.get("model"))


def tags(assignment: Assignment) -> dict[str, str | None]:
    """The fields that tie an answer to its experiment arm."""
    arm = assignment.arm.name if assignment.arm else None
    return {"recommendation_id": assignment.recommendation_id, "arm": arm}


def route_user(
    request: Request, user_id: str, model: ModelService
) -> tuple[ModelService, Assignment]:
    """The model that answers `user_id` (their arm's, while an experiment runs) and the
    assignment the answer carries."""
    return _runtime(request).route(user_id, model, _explicit(request))


def served_body(request: Request, user_id: str, body: bytes, assignment: Assignment) -> bytes:
    """Count the answer for its arm and give the rendered JSON object `body` its
    `recommendation_id` and `arm` (a few bytes copied, no serialising again)."""
    _runtime(request).served(user_id, assignment)
    return orjson.dumps(tags(assignment))[:-1] + b"," + body[1:]


async def recommend_routed(
    request: Request,
    users: Sequence[str],
    histories: Mapping[str, History],
    options: RecommendOptions,
    model: ModelService,
) -> tuple[list[Recommendation], dict[str, dict[str, str | None]]]:
    """Recommendations for many users, each group of users answered by its arm's model with
    one batched call; and each user's tags."""
    runtime, explicit = _runtime(request), _explicit(request)
    groups: dict[int, tuple[ModelService, list[str]]] = {}
    assignments: dict[str, Assignment] = {}
    for user in users:
        service, assignments[user] = runtime.route(user, model, explicit)
        groups.setdefault(id(service), (service, []))[1].append(user)
    results: list[Recommendation] = []
    for service, group in groups.values():
        results += await run_in_threadpool(service.recommend_many, group, histories, options)
    for user, assignment in assignments.items():
        runtime.served(user, assignment)
    return results, {user: tags(a) for user, a in assignments.items()}
