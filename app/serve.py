"""`reco-serve` (also `python -m app` and `reco serve`): run the API with uvicorn.

The serving command lives with the app so that the serving image, which carries neither
`training/` nor pandas nor TensorFlow, can start it.
"""

from __future__ import annotations

import argparse
import sys

from app.config import get_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The serve flags, shared by `reco-serve` and `reco serve`."""
    parser.add_argument("--host", help="bind address (default RECO_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default RECO_PORT or 8000)")
    parser.add_argument("--workers", type=int, help="worker processes (default RECO_WORKERS or 1)")


def run(args: argparse.Namespace) -> int:
    """Serve `app.main:app` with uvloop and httptools until interrupted."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reco-serve", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
