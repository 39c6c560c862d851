"""`reco serve`: the app's own serve command (app.serve), reachable from `reco` too."""

from __future__ import annotations

import argparse

from app.serve import add_arguments, run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the API", description=__doc__)
    add_arguments(parser)
    parser.set_defaults(func=run)
