"""`reco download ml-100k|ml-1m`: fetch a MovieLens archive, verify its checksum, unpack it."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from training.datasets.download import ARCHIVES

    parser = subparsers.add_parser("download", help="download MovieLens", description=__doc__)
    parser.add_argument("name", choices=sorted(ARCHIVES))
    parser.add_argument("--dest", type=Path, default=Path("data"), help="folder (default data/)")
    parser.add_argument("--url", help="download from this URL instead (a mirror)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.datasets.download import download_movielens

    folder = download_movielens(args.name, args.dest, url=args.url)
    print(f"{args.name} is in {folder}; try: reco import {folder}")
    return 0
