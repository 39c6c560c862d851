"""Prometheus metrics of one app instance: requests, latencies, model info, offline metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.serving.service import ModelService


class Metrics:
    """The collectors, in a registry of their own so several apps can live in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reco_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "reco_request_seconds",
            "HTTP request latency",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.model = Info("reco_model", "the active model", registry=self.registry)
        self.serving = ServingCounters(self.registry)
        self.offline = Gauge(
            "reco_model_offline_metric",
            "offline evaluation metric of the active model",
            ["metric"],
            registry=self.registry,
        )

    def watch(self, loaded_models: Callable[[], int], cache_bytes: Callable[[], int]) -> None:
        """Gauges read at scrape time: models held in memory (bounded by model retention)
        and the bytes the response cache holds (bounded by its budget)."""
        loaded = Gauge("reco_loaded_models", "models held in memory", registry=self.registry)
        loaded.set_function(loaded_models)
        cached = Gauge(
            "reco_response_cache_bytes", "bytes of cached answers", registry=self.registry
        )
        cached.set_function(cache_bytes)

    def set_model(self, service: ModelService | None) -> None:
        """Publish the active model's identity and offline metrics (none: the fallback)."""
        self.offline.clear()
        if service is None:
            self.model.info({"name": "none", "version": "", "kind": ""})
            return
        self.model.info(
            {"name": service.name, "version": service.version, "kind": service.bundle.kind}
        )
        for name, value in service.bundle.metrics.items():
            self.offline.labels(name).set(value)

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def as_json(self) -> dict[str, Any]:
        """Every sample as {metric name: [{"labels": ..., "value": ...}]}."""
        out: dict[str, list[dict[str, Any]]] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                out.setdefault(sample.name, []).append(
                    {"labels": dict(sample.labels), "value": sample.value}
                )
        return out


class MetricsMiddleware:
    """Pure ASGI middleware (cheap on the hot path): counts and times requests per route."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            labels = (template, scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)


class ServingCounters:
    """Live-serving figures: fold-ins, cold starts, reloads, requests per model version."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.strategies = Counter(
            "reco_recommendations",
            "recommendations by strategy (model, fold_in, popularity)",
            ["strategy"],
            registry=registry,
        )
        self.cold_starts = Counter(
            "reco_cold_starts", "users with no interactions at all", registry=registry
        )
        self.reloads = Counter("reco_model_reloads", "model swaps", ["outcome"], registry=registry)
        self.cached_answers = Counter(
            "reco_cached_answers", "/recommend answers served from the cache", registry=registry
        )
        self.model_requests = Counter(
            "reco_model_requests",
            "requests answered per model",
            ["model", "version"],
            registry=registry,
        )
