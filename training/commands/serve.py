"""`reco serve`: run the API with uvicorn (uvloop + httptools); never imports TensorFlow."""

from __future__ import annotations

import argparse

from app.config import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the API", description=__doc__)
    parser.add_argument("--host", help="bind address (default RECO_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default RECO_PORT or 8000)")
    parser.add_argument("--workers", type=int, help="worker processes (default RECO_WORKERS or 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "app.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level,
        access_log=False,
    )
    return 0
