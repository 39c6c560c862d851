"""Placeholder registration (filled in below)."""

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    pass
