"""Experiments: define one (admin), read their reports, stop one with the arm that won."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from app.deps import AdminDep, SessionDep, SettingsDep, StateDep
from app.errors import ApiError, ErrorResponse, NotFound, error_body, error_responses
from app.experiments.report import experiment_report
from app.experiments.runtime import ExperimentRuntime, resolve_model
from app.experiments.schemas import ExperimentIn, ExperimentOut, ExperimentsOut, StopIn
from app.routes.models import swap_fleet
from app.serving.bundle import BundleError
from app.store.experiments import (
    ArmSpec,
    create_experiment,
    experiment_ids,
    load_arms,
    running_experiment,
    stop_experiment,
)

router = APIRouter(tags=["experiments"])
ExperimentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="as POST returned it")]


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class InvalidArm(ApiError):
    status_code = 422
    code = "validation_error"


def _conflict(why: str, example: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry of a 409 that is about experiments, not bundles."""
    content = {"application/json": {"example": error_body("conflict", example)}}
    return {409: {"model": ErrorResponse, "description": why, "content": content}}


def _runtime(request: Request) -> ExperimentRuntime:
    return request.app.state.experiments


@router.post(
    "/admin/experiments",
    status_code=201,
    response_model=ExperimentOut,
    dependencies=[AdminDep],
    summary="Start an experiment",
    operation_id="createExperiment",
    responses={
        **error_responses(400, 401, 403, 413, 422),
        **_conflict("Another experiment is running", "experiment 1 is running: stop it first"),
    },
)
def create(
    request: Request,
    body: ExperimentIn,
    session: SessionDep,
    state: StateDep,
    settings: SettingsDep,
) -> dict:
    """Splits users among the arms by their weights, sticky by a hash of the user id; the
    first arm is the control. Each arm's model (a loaded model name or a bundle version)
    resolves to a bundle version now, which answers that arm until the experiment stops.
    One experiment runs at a time."""
    specs = []
    for position, arm in enumerate(body.arms):
        try:
            service = resolve_model(state, settings.artifacts_dir, arm.model)
        except (NotFound, BundleError) as error:
            raise InvalidArm(f"arms.{position}.model: {error}") from None
        specs.append(ArmSpec(arm.name, arm.model, service.version or "", arm.weight))
    experiment_id = create_experiment(session, body.name, specs)
    if experiment_id is None:
        running = running_experiment(session)
        raise Conflict(f"experiment {running} is running: stop it first")
    _runtime(request).refresh()
    return experiment_report(session, experiment_id)


@router.get(
    "/experiments",
    response_model=ExperimentsOut,
    summary="Every experiment's report, newest first",
    operation_id="listExperiments",
)
def list_experiments(session: SessionDep) -> dict:
    return {"experiments": [experiment_report(session, i) for i in experiment_ids(session)]}


@router.get(
    "/experiments/{experiment_id}",
    response_model=ExperimentOut,
    summary="An experiment's report: per arm users, impressions, events, CTR; the test",
    operation_id="getExperiment",
    responses=error_responses(404, 422),
)
def get_experiment(experiment_id: ExperimentId, session: SessionDep) -> dict:
    """Counts are the store's, summed over every worker and replica; impressions reach it
    within a second of being served."""
    return experiment_report(session, experiment_id)


@router.post(
    "/admin/experiments/{experiment_id}/stop",
    response_model=ExperimentOut,
    dependencies=[AdminDep],
    summary="Stop an experiment and route everyone to the chosen arm",
    operation_id="stopExperiment",
    responses={
        **error_responses(400, 401, 403, 404, 413, 422, 503),
        **_conflict(
            "The experiment is not running, or the chosen arm's bundle no longer loads",
            "experiment 1 is stopped already",
        ),
    },
)
def stop(
    request: Request,
    experiment_id: ExperimentId,
    body: StopIn,
    session: SessionDep,
    state: StateDep,
) -> dict:
    """Freezes the report and points the fleet at the chosen arm's bundle version, as
    `activate` does: every worker of every replica serves it from then on (409 if that
    bundle no longer loads; the experiment stays stopped, activate a version by hand)."""
    arms = {arm.name: arm for arm in load_arms(session, experiment_id)}
    if not arms:
        raise NotFound(f"no experiment {experiment_id}")
    if body.arm not in arms:
        raise InvalidArm(f"arm: no arm {body.arm!r}; arms: {', '.join(arms)}")
    if not stop_experiment(session, experiment_id, body.arm):
        raise Conflict(f"experiment {experiment_id} is stopped already")
    _runtime(request).refresh()
    swap_fleet(request, state, session, arms[body.arm].version, "experiment")
    return experiment_report(session, experiment_id)
