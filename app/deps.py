"""Shared request dependencies as `Annotated` aliases (settings, store session, model, admin)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.serving.service import ModelService
from app.serving.state import ModelState


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


async def _state(request: Request) -> ModelState:
    return request.app.state.models


MODEL_HELP = "model name or bundle version (default: active)"


async def _model(
    request: Request,
    model: Annotated[str | None, Query(max_length=128, description=MODEL_HELP)] = None,
) -> ModelService:
    return served_model(request, model)


def served_model(request: Request, model: str | None) -> ModelService:
    """The model for this request, read once (a concurrent swap cannot change it); the
    store popularity fallback when no bundle is loaded."""
    service = request.app.state.models.get(model) or request.app.state.fallback
    counters = request.app.state.metrics.serving
    counters.model_requests.labels(service.name, service.version or "").inc()
    return service


# the admin key as an OpenAPI security scheme: /docs gets an Authorize button and generated
# clients a way to send it; auto_error=False leaves the 401/403 answers to _admin
_admin_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="AdminKey",
    description="The value of RECO_ADMIN_KEY; needed by the /admin routes and the deletions only.",
    auto_error=False,
)


async def _admin(
    request: Request, x_api_key: Annotated[str | None, Security(_admin_key)] = None
) -> None:
    """Admin routes need RECO_ADMIN_KEY in X-API-Key (compared in constant time): 401
    without the header, 403 with a wrong key or when no key is configured."""
    expected = request.app.state.settings.admin_key
    if not expected:
        raise Forbidden("admin routes are disabled: set RECO_ADMIN_KEY to enable them")
    if x_api_key is None:
        raise Unauthorized("missing X-API-Key header")
    if not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise Forbidden("wrong X-API-Key")


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
StateDep = Annotated[ModelState, Depends(_state)]
ModelDep = Annotated[ModelService, Depends(_model)]
AdminDep = Depends(_admin)
