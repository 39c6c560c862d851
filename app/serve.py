"""`reco-serve` (also `python -m app` and `reco serve`): run the API with uvicorn.

The serving command lives with the app so that the serving image, which carries neither
`training/` nor pandas nor TensorFlow, can start it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import get_settings

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The serve flags, shared by `reco-serve` and `reco serve`."""
    parser.add_argument("--host", help="bind address (default RECO_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default RECO_PORT or 8000)")
    parser.add_argument("--workers", type=int, help="worker processes (default RECO_WORKERS or 1)")


def run(args: argparse.Namespace) -> int:
    """Serve `app.main:app` with uvloop and httptools until interrupted."""
    import uvicorn

    from app.wire import OneSendHttpProtocol

    settings = get_settings()
    workers = args.workers or settings.workers
    with _shared_metrics(workers):
        uvicorn.run(
            "app.main:app",
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=workers,
            loop="uvloop",
            http=OneSendHttpProtocol,  # app/wire.py: a response leaves in one send
            log_level=settings.log_level,
            access_log=False,
            timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        )
    return 0


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh private directory for prometheus-client's multiprocess
    mode, named in the environment the workers inherit (it must be set before they import
    prometheus-client, and must not hold a previous run's counts); removed at exit. One
    worker keeps its metrics in memory: nothing to do."""
    if workers <= 1:
        yield
        return
    directory = tempfile.mkdtemp(prefix="reco-metrics-")
    previous = os.environ.get(METRICS_DIR_VARIABLE)
    os.environ[METRICS_DIR_VARIABLE] = directory
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(METRICS_DIR_VARIABLE, None)
        else:
            os.environ[METRICS_DIR_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reco-serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
