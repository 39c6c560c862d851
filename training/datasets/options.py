"""Dataset options shared by `reco import`, `reco train` and `reco evaluate`."""

from __future__ import annotations

import argparse

from training.datasets.resolve import load_dataset
from training.interactions import Interactions


def parse_columns(text: str) -> dict[str, str]:
    """'user=reviewerID,item=asin' -> {'user': 'reviewerID', 'item': 'asin'}."""
    mapping = {}
    for part in filter(None, text.split(",")):
        role, sep, name = part.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise argparse.ArgumentTypeError(f"expected role=column, got {part!r}")
        mapping[role.strip()] = name.strip()
    return mapping


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dataset options")
    group.add_argument("--synthetic-users", type=int, default=1000, metavar="N")
    group.add_argument("--synthetic-items", type=int, default=1700, metavar="N")
    group.add_argument("--synthetic-ratings", type=int, default=100_000, metavar="N")
    group.add_argument("--synthetic-seed", type=int, default=42, metavar="N")
    group.add_argument(
        "--columns",
        type=parse_columns,
        default=None,
        help="map a table's columns, e.g. user=reviewerID,item=asin,rating=overall",
    )
    group.add_argument("--sep", default=None, help="field separator of a CSV-like file")
    group.add_argument("--database-url", default=None, help="store URL (default from env)")


def dataset_from_args(spec: str, args: argparse.Namespace) -> Interactions:
    return load_dataset(
        spec,
        synthetic={
            "n_users": args.synthetic_users,
            "n_items": args.synthetic_items,
            "n_ratings": args.synthetic_ratings,
            "seed": args.synthetic_seed,
        },
        columns=args.columns,
        sep=args.sep,
        database_url=args.database_url,
    )
