"""Shared request dependencies as `Annotated` aliases (settings, a store session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.serving.service import ModelService
from app.serving.state import ModelState


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]


def _state(request: Request) -> ModelState:
    return request.app.state.models


def _model(request: Request) -> ModelService:
    """The active model, read once for this request (a concurrent swap cannot change it)."""
    service = request.app.state.models.active
    if service is None:
        service = request.app.state.fallback
    return service


StateDep = Annotated[ModelState, Depends(_state)]
ModelDep = Annotated[ModelService, Depends(_model)]
