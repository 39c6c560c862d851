"""The FastAPI application: `create_app(settings)`, and `app` for `uvicorn app.main:app`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.collector import settle_collector
from app.config import Settings, get_settings
from app.docs import install_docs
from app.errors import install_error_handlers
from app.experiments.runtime import ExperimentRuntime
from app.limits import BodyLimitMiddleware
from app.memory import fix_mmap_threshold
from app.metrics import Metrics, MetricsMiddleware
from app.openapi import install_openapi
from app.routes import (
    catalog,
    dashboard,
    deletions,
    interactions,
    models,
    ops,
    recommendations,
    reports,
)
from app.routes import experiments as experiment_routes
from app.serving.fallback import StoreFallback
from app.serving.lifecycle import LifecycleFollower
from app.serving.response_cache import ResponseCache
from app.serving.signal import ChangeSignal, signal_path
from app.serving.state import ModelState
from app.serving.store_view import StoreView
from app.store.counts import StoreCounts
from app.store.idempotency import KeyKeeper
from app.store.session import create_store_engine, init_schema, make_sessionmaker

log = logging.getLogger(__name__)

DESCRIPTION = """Recommendations from a trained model bundle, over an interaction store.

Ids are the external string ids of your data. Errors are JSON:
`{"error": {"code": ..., "message": ...}}`."""

TAGS = [
    {"name": "recommendations", "description": "Top-k items, similar items, scores."},
    {"name": "interactions", "description": "Record events; read a user's history."},
    {"name": "catalog", "description": "Items and user summaries."},
    {"name": "models", "description": "Loaded model bundles; admin reload and activation."},
    {"name": "operations", "description": "Liveness, readiness, Prometheus metrics."},
    {"name": "experiments", "description": "A/B tests of models: arms, reports, stop."},
]


def _version() -> str:
    try:
        return metadata.version("recoserve")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def load_models(app: FastAPI) -> None:
    """Load the newest valid bundle into the app's model state (popularity fallback if none)."""
    settings: Settings = app.state.settings
    state: ModelState = app.state.models
    state.load_startup(settings.artifacts_dir)
    if state.active is None:
        log.warning("%s; serving popularity from the store", state.problem)
    else:
        log.info("serving %s (%s)", state.active.name, state.active.version)
    app.state.metrics.set_model(state.active)


def follow_lifecycle(app: FastAPI) -> LifecycleFollower:
    """Serve what the fleet's pointers in the store name, from the start (when an operator
    chose a version) and from then on."""
    settings: Settings = app.state.settings
    follower = LifecycleFollower(
        app.state.sessionmaker,
        app.state.models,
        settings.artifacts_dir,
        app.state.metrics.set_model,
        settings.lifecycle_poll_seconds,
    )
    follower.sync()
    return follower


def start_experiments(app: FastAPI) -> ExperimentRuntime:
    """Route users to the running experiment's arms (state in the store, polled)."""
    serving = app.state.metrics.serving
    runtime = ExperimentRuntime(
        app.state.sessionmaker,
        app.state.models,
        app.state.settings.artifacts_dir,
        (serving.experiment_impressions, serving.experiment_events),
    )
    runtime.refresh()
    return runtime


def load_store_view(app: FastAPI) -> StoreView:
    """The store's deletions and hidden items, and users' histories read as they are asked
    for and kept current, so most /recommend calls need no database round trip."""
    settings: Settings = app.state.settings
    signal = ChangeSignal.open(signal_path(settings.database_url))
    view = StoreView(
        app.state.sessionmaker,
        signal,
        settings.store_refresh_seconds,
        settings.store_gap_patience_seconds,
        settings.history_cache_events,
    )
    start = time.perf_counter()
    view.refresh()
    log.info("store view: ready in %.2f s", time.perf_counter() - start)
    return view


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_store_engine(settings.database_url)
    init_schema(engine)
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.fallback = StoreFallback(app.state.sessionmaker)
    app.state.store_counts = StoreCounts()
    app.state.view = load_store_view(app)
    app.state.models.on_add = lambda service: app.state.view.adopt(service.bundle.histories)
    load_models(app)
    app.state.lifecycle = follow_lifecycle(app)
    app.state.experiments = start_experiments(app)
    tasks = [
        asyncio.create_task(app.state.experiments.keep_current()),
        asyncio.create_task(app.state.view.keep_current()),
        asyncio.create_task(app.state.lifecycle.keep_following()),
    ]
    settle_collector()
    yield
    for task in tasks:
        task.cancel()
    await app.state.experiments.flush()  # nothing counted is lost at shutdown
    engine.dispose()
    app.state.metrics.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application; the store and the model load when its lifespan starts."""
    app = FastAPI(
        title="RecoServe",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from app/docs.py, with assets of this host
        redoc_url=None,
        # the hot recommendation routes write their JSON with orjson themselves (routes/
        # recommendations.py); the others let Pydantic serialise their response_model
    )
    settings = settings or get_settings()
    fix_mmap_threshold(settings.mmap_threshold_bytes)
    app.state.settings = settings
    app.state.models = ModelState(settings=settings)
    app.state.metrics = Metrics(settings.metrics_dir)
    app.state.responses = ResponseCache(settings.response_cache_bytes)
    app.state.idempotency = KeyKeeper(settings.idempotency_retention_seconds)
    app.state.metrics.watch(lambda: len(app.state.models.loaded), lambda: app.state.responses.bytes)
    install_error_handlers(app)
    for module in (
        recommendations,
        interactions,
        catalog,
        deletions,
        models,
        reports,
        ops,
        dashboard,
    ):
        app.include_router(module.router)
    app.include_router(experiment_routes.router)
    install_docs(app)
    install_openapi(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["*"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


app = create_app()
