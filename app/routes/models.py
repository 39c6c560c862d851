"""GET /models, and the admin routes that swap models fleet-wide: reload, activate, rollback.

Each verifies the bundle on the worker that takes the request, writes the fleet's pointer in
the store (app/store/lifecycle.py) and applies it there at once; every other worker of every
replica follows within one poll (app/serving/lifecycle.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.deps import AdminDep, SessionDep, SettingsDep, StateDep
from app.errors import ApiError, NotFound, ServiceUnavailable, error_responses
from app.schemas import ModelsOut, ReloadOut
from app.serving.bundle import BundleError, list_bundles, newest_bundle_manifest
from app.serving.lifecycle import LifecycleFollower
from app.serving.state import ModelState
from app.store.lifecycle import point_to, read_pointers

router = APIRouter(tags=["models"])
Version = Annotated[
    str,
    Path(
        max_length=128,
        description="a bundle version, as GET /models lists them",
        examples=["20260101T000000000000Z-mf"],
    ),
]


class BundleRefused(ApiError):
    status_code = 409
    code = "bundle_invalid"


@router.get(
    "/models",
    response_model=ModelsOut,
    summary="Bundles on disk and the active one",
    operation_id="listModels",
)
def get_models(state: StateDep, settings: SettingsDep) -> dict:
    models = [
        {
            "version": m["version"],
            "model": m["model"]["name"],
            "kind": m["model"].get("kind"),
            "created_at": m["created_at"],
            "active": m["version"] == state.active_version,
            "loaded": m["version"] in state.loaded,
            "metrics": m.get("metrics", {}),
            "dataset": m.get("dataset", {}),
            "params": m["model"].get("params", {}),
        }
        for m in list_bundles(settings.artifacts_dir)
    ]
    return {"active": state.active_version, "models": models}


def swap_fleet(
    request: Request, state: ModelState, session: Session, version: str, changed_by: str
) -> dict:
    """Verify bundle `version` here, point the fleet at it and apply that here; a damaged
    bundle is refused (409) and nothing changes, here or in the store."""
    counters = request.app.state.metrics.serving
    previous = state.active_version
    try:
        service = state.load_version(request.app.state.settings.artifacts_dir, version)
    except BundleError as error:
        counters.reloads.labels("refused").inc()
        raise BundleRefused(f"bundle {version} refused: {error}") from None
    try:
        pointers = point_to(session, version, service.name, changed_by, serving=previous)
    except SQLAlchemyError as error:
        raise ServiceUnavailable(f"store unavailable: {type(error).__name__}") from None
    follower: LifecycleFollower = request.app.state.lifecycle
    state.add(service, activate=False)  # already verified: the follower need not load it again
    follower.apply(pointers)
    counters.reloads.labels("swapped" if version != previous else "unchanged").inc()
    return {
        "active": version,
        "previous": pointers.previous,
        "changed": version != previous,
        "revision": pointers.revision,
    }


@router.post(
    "/admin/reload",
    response_model=ReloadOut,
    dependencies=[AdminDep],
    summary="Load the newest bundle and swap it in",
    operation_id="reloadModel",
    responses=error_responses(401, 403, 409, 503),
)
def reload(request: Request, state: StateDep, settings: SettingsDep, session: SessionDep) -> dict:
    """Verifies the newest bundle completely before swapping; in-flight requests finish on
    the model they started with. A damaged newest bundle gets 409 and the old model stays.
    Every worker of every replica follows within RECO_LIFECYCLE_POLL_SECONDS."""
    manifest = newest_bundle_manifest(settings.artifacts_dir)
    if manifest is None:
        raise BundleRefused(f"no bundle in {settings.artifacts_dir}")
    return swap_fleet(request, state, session, manifest["version"], "reload")


@router.post(
    "/admin/models/{version}/activate",
    response_model=ReloadOut,
    dependencies=[AdminDep],
    summary="Roll back or forward to a bundle",
    operation_id="activateModel",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def activate(request: Request, version: Version, state: StateDep, session: SessionDep) -> dict:
    """Verifies the bundle, then points the whole fleet at it (see reload)."""
    return swap_fleet(request, state, session, version, "activate")


@router.post(
    "/admin/rollback",
    response_model=ReloadOut,
    dependencies=[AdminDep],
    summary="Roll the fleet back to the version served before the last change",
    operation_id="rollbackModel",
    responses=error_responses(401, 403, 409, 503),
)
def rollback(request: Request, state: StateDep, session: SessionDep) -> dict:
    """The fleet's previous version becomes active again (and the one it replaces becomes
    the previous: a second rollback undoes the first). 409 when there is nothing to roll
    back to or its bundle no longer loads."""
    target = read_pointers(session).previous or state.previous_version
    if target is None:
        raise BundleRefused("nothing to roll back to: no version was served before this one")
    try:
        return swap_fleet(request, state, session, target, "rollback")
    except NotFound:
        raise BundleRefused(f"cannot roll back to {target}: its bundle is gone") from None
