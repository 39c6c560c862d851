"""The `reco` command: one subcommand per module in training.commands.

Each module there defines `register(subparsers)`, which adds its parser and sets
`func(args) -> int`. Modules must stay light at import (no TensorFlow) so that
`reco --help` stays fast; `reco serve` is the app's own command (app.serve).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from training.interactions import DatasetError

COMMANDS = ("importer", "train", "evaluate", "download", "serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reco", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"training.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to start workers with
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (DatasetError, ValueError, FileNotFoundError) as error:
        print(f"reco {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
