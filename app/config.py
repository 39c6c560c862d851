"""Service settings: the only place that reads the environment (variables prefixed RECO_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.limits import DEFAULT_MAX_BATCH_ITEMS, DEFAULT_MAX_BODY_BYTES


class Settings(BaseSettings):
    """Everything the service can be configured with; validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="RECO_", extra="ignore")

    database_url: str = Field(
        "sqlite:///data/reco.db", description="SQLAlchemy URL of the interaction store"
    )
    artifacts_dir: Path = Field(Path("artifacts"), description="folder of model bundles")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    metrics_dir: Path | None = Field(
        None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="prometheus-client's multiprocess directory; reco-serve makes a fresh "
        "one for several workers, so that one scrape of /metrics counts every worker",
    )
    log_level: str = "info"
    admin_key: str | None = Field(None, description="X-API-Key for /admin routes; unset = off")
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        description="request bodies above -> 413; the default fits the largest batch of "
        "interactions the schema accepts, pretty-printed (app/limits.py)",
    )
    max_batch_items: int = Field(
        DEFAULT_MAX_BATCH_ITEMS,
        ge=1,
        description="POST /recommend: at most users x k items in one answer (422 above)",
    )
    ann_threshold: int = Field(
        15_000,
        ge=0,
        description="catalogs with at least this many items use the ANN index (where it "
        "answers faster than the exact scan: benchmarks/ann_threshold.py)",
    )
    ann_nprobe: int = Field(
        64,
        ge=1,
        le=65_536,
        description="IVF lists scanned per /similar query: more is more exact, slower (users' "
        "index scans the fewest lists that keep recall@10 >= 0.95 on the bundle's users)",
    )
    ranking_candidates: int = Field(
        1000, ge=1, description="items that mlp/neumf rank after the retrieval stage proposes them"
    )
    idempotency_retention_seconds: float = Field(
        86_400.0,
        gt=0,
        description="how long an Idempotency-Key of POST /interactions is remembered",
    )
    worker_healthcheck_seconds: float = Field(
        60.0,
        gt=0,
        description="how long a new worker process may take to answer uvicorn's health ping "
        "before it is restarted (start-up imports numpy and loads bundles: slow on a busy host)",
    )
    lifecycle_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="how often each worker reads the fleet's model pointers in the store "
        "(activate, reload and rollback reach every worker of every replica within one poll)",
    )
    store_refresh_seconds: float = Field(
        1.0, gt=0, le=3600, description="how often the in-memory store view looks for writes"
    )
    history_cache_events: int = Field(
        2_000_000,
        ge=1_000,
        description="users' histories each worker keeps in memory, in events (about 40 "
        "bytes each, least recently used out): a worker's memory whatever the store's size",
    )
    store_gap_patience_seconds: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="how long the store view waits for an interaction id that a concurrent "
        "writer allocated but had not committed (PostgreSQL)",
    )
    response_cache_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="bytes of rendered /recommend answers kept, least recently used go first "
        "(0 = no cache)",
    )
    inline_max_ms: float = Field(
        1.0,
        ge=0,
        description="work measured at load to take at most this many milliseconds runs on the "
        "event loop; anything slower runs in a worker thread",
    )
    explanations_per_item: int = Field(
        3, ge=1, le=50, description="history items named per recommended item with explain=true"
    )
    model_retention: int = Field(
        2,
        ge=0,
        le=100,
        description="loaded models kept besides the active one and the one activated before it "
        "(the rollback target); older ones are evicted from memory and reload from disk",
    )
    category_cache_size: int = Field(
        256, ge=1, description="category filters whose item masks each loaded model keeps"
    )
    mmap_threshold_bytes: int = Field(
        1 << 20,
        ge=0,
        description="allocations at least this large are returned to the OS when freed, so "
        "that model swaps do not leave memory in allocator arenas (0 = allocator default)",
    )
    cors_origins: list[str] = Field(default_factory=list, description="CORS closed when empty")
    negative_kinds: list[str] = Field(
        default_factory=lambda: ["dislike"],
        description="interaction kinds that are negative feedback: the item is never "
        "recommended to that user, fold-in and training do not count it as a positive",
    )
    boost_items: list[str] = Field(
        default_factory=list, description="default boost: these item ids (see boost_weight)"
    )
    boost_category: str | None = Field(None, description="default boost: this category's items")
    boost_weight: float = Field(
        0.5,
        ge=-10,
        le=10,
        description="boost of the boosted items, in units of the model's score spread over "
        "the rules' pool (app/serving/rules.py)",
    )
    max_per_category: int = Field(
        0, ge=0, le=1000, description="default cap of items of one category per list (0: none)"
    )
    dither: float = Field(
        1.0, ge=1, le=10, description="default rank dithering strength (1: none; 1.5-2 typical)"
    )
    rules_head: int = Field(
        100,
        ge=1,
        le=10_000,
        description="the model's best items that boost, dither and max_per_category re-rank",
    )
    train_memory_bytes: int | None = Field(
        None,
        ge=1,
        description="bytes a training fit may add to the loaded data; a model planned to need "
        "more is refused before it starts (unset: the machine's available memory)",
    )
    response_cache_size: int | None = Field(
        None, exclude=True, description="replaced by response_cache_bytes; refused if set"
    )

    @model_validator(mode="after")
    def _no_entry_count_cache(self) -> Settings:
        """The cache is bounded by bytes now: an old entry count must not pass unnoticed
        (RECO_RESPONSE_CACHE_SIZE=0 used to turn the cache off)."""
        if self.response_cache_size is not None:
            raise ValueError(
                "RECO_RESPONSE_CACHE_SIZE was replaced by RECO_RESPONSE_CACHE_BYTES, a byte "
                f"budget (0 turns the cache off); got {self.response_cache_size}"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
