"""Prometheus metrics of one app instance: requests, latencies, model info, offline metrics.

With several worker processes (`reco-serve --workers N`) every value lives in files of
prometheus-client's multiprocess directory, so that one scrape, answered by any worker,
counts every worker."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.serving.service import ModelService

Labels = tuple[str, ...]


class Metrics:
    """The collectors, in a registry of their own so several apps can live in one process.
    `multiprocess_dir` (PROMETHEUS_MULTIPROC_DIR, set by reco-serve for several workers):
    the scrape merges the files every worker writes there instead of reading this process."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess_dir = multiprocess_dir
        self._exposed = self.registry
        if multiprocess_dir is not None:
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=str(multiprocess_dir))
            _forget_dead_workers(multiprocess_dir)
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
        # a gauge, not an Info (which multiprocess mode cannot share); the text exposition
        # is the same `reco_model_info{kind,name,version} 1.0`, with a pid per worker when
        # there are several (each worker's active model)
        self.model = Gauge(
            "reco_model_info",
            "the active model",
            ["kind", "name", "version"],
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.serving = ServingCounters(self.registry)
        self.offline = Gauge(
            "reco_model_offline_metric",
            "offline evaluation metric of the active model",
            ["metric"],
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )
        self._shown: dict[Gauge, set[Labels]] = {}
        self._watched: list[tuple[Gauge, Callable[[], int]]] = []
        self._last: list[float | None] = []

    def watch(self, loaded_models: Callable[[], int], cache_bytes: Callable[[], int]) -> None:
        """Gauges of models held in memory (bounded by model retention) and of the bytes the
        response cache holds (bounded by its budget). One process reads them at scrape time;
        several write them after each request (`sync`), since a scrape cannot call another
        process's functions: the most models any worker holds, the bytes all caches hold."""
        loaded = Gauge(
            "reco_loaded_models",
            "models held in memory",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        cached = Gauge(
            "reco_response_cache_bytes",
            "bytes of cached answers",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        if self.multiprocess_dir is None:
            loaded.set_function(loaded_models)
            cached.set_function(cache_bytes)
            return
        self._watched = [(loaded, loaded_models), (cached, cache_bytes)]
        self._last = [None] * len(self._watched)
        self.sync()

    def sync(self) -> None:
        """Write the watched gauges that changed (multiprocess mode; else nothing to do)."""
        for position, (gauge, read) in enumerate(self._watched):
            value = read()
            if value != self._last[position]:
                gauge.set(value)
                self._last[position] = value

    def set_model(self, service: ModelService | None) -> None:
        """Publish the active model's identity and offline metrics (none: the fallback)."""
        if service is None:
            self._show(self.model, {("", "none", ""): 1.0}, retired=0.0)
            self._show(self.offline, {}, retired=math.nan)
        else:
            identity = (service.bundle.kind, service.name, service.version)
            self._show(self.model, {identity: 1.0}, retired=0.0)
            metrics = {(name,): value for name, value in service.bundle.metrics.items()}
            self._show(self.offline, metrics, retired=math.nan)
        self.sync()

    def _show(self, gauge: Gauge, values: dict[Labels, float], retired: float) -> None:
        """Make `values` the gauge's only label sets. One process forgets the others; the
        files of multiprocess mode cannot forget a label set, so there they read `retired`
        (0: not the active model; NaN: the active model has no such offline metric)."""
        for labels in self._shown.get(gauge, set()) - set(values):
            gauge.labels(*labels).set(retired)
        if self.multiprocess_dir is None:
            gauge.clear()
        for labels, value in values.items():
            gauge.labels(*labels).set(value)
        self._shown[gauge] = set(values)

    def close(self) -> None:
        """At a worker's exit: drop its live gauges from the shared files (its counters
        stay counted), as prometheus-client asks of every process that ends."""
        if self.multiprocess_dir is not None:
            mark_process_dead(os.getpid(), str(self.multiprocess_dir))

    def text(self) -> bytes:
        self.sync()
        return generate_latest(self._exposed)

    def as_json(self) -> dict[str, Any]:
        """Every sample as {metric name: [{"labels": ..., "value": ...}]}, but NaN ones (a
        retired offline metric): JSON has no NaN."""
        self.sync()
        out: dict[str, list[dict[str, Any]]] = {}
        for family in self._exposed.collect():
            for sample in family.samples:
                if math.isnan(sample.value):
                    continue
                out.setdefault(sample.name, []).append(
                    {"labels": dict(sample.labels), "value": sample.value}
                )
        return out


def _forget_dead_workers(directory: Path) -> None:
    """Drop the live gauges of workers that died without their exit (SIGKILL, out of
    memory), which uvicorn then replaced: else their model and cache figures stay forever."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            mark_process_dead(pid, str(directory))
        except PermissionError:
            pass  # it exists, under another user


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
            self.metrics.sync()


class ServingCounters:
    """Live-serving figures: fold-ins, cold starts, reloads, requests per model version,
    experiment arms."""

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
        self.deletions = Counter(
            "reco_deletions", "users and items deleted", ["kind"], registry=registry
        )
        self.model_requests = Counter(
            "reco_model_requests",
            "requests answered per model",
            ["model", "version"],
            registry=registry,
        )
        # an experiment's lists and the events attributed to them, per worker since its start
        # (the store holds the totals of the report)
        self.experiment_impressions = Counter(
            "reco_experiment_impressions",
            "lists answered by an experiment arm",
            ["experiment", "arm"],
            registry=registry,
        )
        self.experiment_events = Counter(
            "reco_experiment_events",
            "events attributed to an experiment arm",
            ["experiment", "arm"],
            registry=registry,
        )
