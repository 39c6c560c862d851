"""GET /models, and the admin routes that swap models: reload and activate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from app.deps import AdminDep, SettingsDep, StateDep
from app.errors import ApiError, error_responses
from app.schemas import ModelsOut, ReloadOut
from app.serving.bundle import BundleError, list_bundles, newest_bundle_manifest
from app.serving.state import ModelState

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


def _swap(request: Request, state: ModelState, version: str) -> dict:
    """Verify and activate bundle `version`; a damaged bundle is refused, nothing changes."""
    counters = request.app.state.metrics.serving
    previous = state.active_version
    try:
        service = state.load_version(request.app.state.settings.artifacts_dir, version)
    except BundleError as error:
        counters.reloads.labels("refused").inc()
        raise BundleRefused(f"bundle {version} refused: {error}") from None
    state.add(service, activate=True)
    request.app.state.metrics.set_model(service)
    counters.reloads.labels("swapped" if version != previous else "unchanged").inc()
    return {"active": version, "previous": previous, "changed": version != previous}


@router.post(
    "/admin/reload",
    response_model=ReloadOut,
    dependencies=[AdminDep],
    summary="Load the newest bundle and swap it in",
    operation_id="reloadModel",
    responses=error_responses(401, 403, 409),
)
def reload(request: Request, state: StateDep, settings: SettingsDep) -> dict:
    """Verifies the newest bundle completely before swapping; in-flight requests finish on
    the model they started with. A damaged newest bundle gets 409 and the old model stays."""
    manifest = newest_bundle_manifest(settings.artifacts_dir)
    if manifest is None:
        raise BundleRefused(f"no bundle in {settings.artifacts_dir}")
    return _swap(request, state, manifest["version"])


@router.post(
    "/admin/models/{version}/activate",
    response_model=ReloadOut,
    dependencies=[AdminDep],
    summary="Roll back or forward to a bundle",
    operation_id="activateModel",
    responses=error_responses(401, 403, 404, 409, 422),
)
def activate(request: Request, version: Version, state: StateDep) -> dict:
    return _swap(request, state, version)
