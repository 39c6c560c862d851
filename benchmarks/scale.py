"""Issue 14 at full size: a 20M-interaction log generated, imported, trained, served.

    .venv/bin/python benchmarks/scale.py                        # every stage, 20M rows
    .venv/bin/python benchmarks/scale.py --rows 2000000         # a trial run
    .venv/bin/python benchmarks/scale.py --stages import-sqlite,train-popularity

The log (benchmarks/scale_data.py: seeded, 300,000 users, 60,000 items, power-law activity
and popularity, time-ordered, with a kind column) is written once to --data-dir (outside the
repository) and reused. Each stage runs its command as a child process and reports wall
time and the child's peak resident memory (`wait4`'s ru_maxrss), one line per stage, then
all figures as JSON. Stages run in the order given; add one with the `@stage` decorator.

- `import-sqlite`: `reco import` into a fresh SQLite file in --data-dir.
- `import-postgres`: the same into a fresh database `reco_scale` on the server of
  RECO_TEST_POSTGRES_URL (skipped when unset); the test database is left alone.
- `reimport-sqlite`: the same file again into the filled SQLite store (adds nothing).
- `train-popularity`: `reco train --model popularity --dataset store --no-holdout
  --no-report` on the SQLite store: reading the store back is most of its cost.
- `train-default`: `reco train --dataset store` with every default (the `auto` model, the
  holdout evaluation, the report), plus any --default-param.
- `train-als`: als (64 factors, 2 iterations) on the SQLite store, the bundle `serve` serves.
- `train-bpr`: one epoch of bpr (the Keras model) on the SQLite store.
- `serve`: `reco-serve` (one worker) on the SQLite store and that bundle: seconds to ready,
  the worker's RSS, then `/health` and `/recommend` with wrk at 16 connections for
  --serve-seconds each, every /recommend for a user not asked before (caches cold), with
  req/s, the ratio to /health, p50 and p99 (benchmarks/scale_serve.py; needs wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_data import USERS, generate  # sibling scripts, not a package
from scale_serve import serve_at_scale

REPO = Path(__file__).resolve().parents[1]
RECO = [sys.executable, "-m", "training"]
SCALE_DATABASE = "reco_scale"


@dataclass
class Run:
    """What every stage sees: the options, the data file and the stores it may fill."""

    args: argparse.Namespace
    data: Path
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{self.args.data_dir / f'scale-{self.args.rows}.db'}"


STAGES: dict[str, Callable[[Run], dict[str, Any] | None]] = {}


def stage(name: str) -> Callable:
    """Register a stage under `name` (selectable with --stages)."""

    def register(function: Callable[[Run], dict[str, Any] | None]) -> Callable:
        STAGES[name] = function
        return function

    return register


def measure(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `command`; its wall seconds, peak RSS (MB, of that child alone) and last line."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    lines = output.strip().splitlines()
    return {
        "seconds": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "output": lines[-1] if lines else "",
    }


def _import(run: Run, url: str) -> dict[str, Any]:
    figures = measure([*RECO, "import", str(run.data), "--database-url", url, "--no-progress"])
    figures["rows_per_second"] = round(run.args.rows / figures["seconds"])
    return figures


@stage("import-sqlite")
def import_sqlite(run: Run) -> dict[str, Any]:
    database = Path(run.sqlite_url.removeprefix("sqlite:///"))
    for leftover in database.parent.glob(f"{database.name}*"):
        leftover.unlink()
    return _import(run, run.sqlite_url)


@stage("reimport-sqlite")
def reimport_sqlite(run: Run) -> dict[str, Any]:
    return _import(run, run.sqlite_url)


@stage("import-postgres")
def import_postgres(run: Run) -> dict[str, Any] | None:
    server = os.environ.get("RECO_TEST_POSTGRES_URL")
    if not server:
        return None
    import sqlalchemy as sa

    url = sa.engine.make_url(server)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCALE_DATABASE}")
        connection.exec_driver_sql(f"CREATE DATABASE {SCALE_DATABASE}")
    admin.dispose()
    target = url.set(database=SCALE_DATABASE).render_as_string(hide_password=False)
    return _import(run, target)


@stage("train-popularity")
def train_popularity(run: Run) -> dict[str, Any]:
    out = run.args.data_dir / "artifacts" / f"popularity-{run.args.rows}"
    shutil.rmtree(out, ignore_errors=True)  # a bundle folder is never overwritten
    command = [*RECO, "train", "--model", "popularity", "--dataset", "store", "--no-holdout",
               "--no-report", "--database-url", run.sqlite_url, "--out", str(out)]  # fmt: skip
    return measure(command)


@stage("train-default")
def train_default(run: Run) -> dict[str, Any]:
    """`reco train --dataset store` as a user runs it: the default model (auto), with the
    holdout evaluation and the report; --default-param adds hyperparameters (e.g.
    'candidates=["als"]', the slowest choice auto can make)."""
    out = run.args.data_dir / "artifacts" / f"default-{run.args.rows}"
    shutil.rmtree(out, ignore_errors=True)
    params = [arg for value in run.args.default_param for arg in ("--param", value)]
    command = [*RECO, "train", "--dataset", "store", *params, "--database-url",
               run.sqlite_url, "--out", str(out)]  # fmt: skip
    return measure(command)


@stage("train-als")
def train_als(run: Run) -> dict[str, Any]:
    """The bundle the serve stage serves: als (64 factors, 2 iterations) on the SQLite store."""
    out = run.args.data_dir / "artifacts" / f"als-{run.args.rows}"
    shutil.rmtree(out, ignore_errors=True)
    command = [*RECO, "train", "--model", "als", "--factors", "64", "--param", "iterations=2",
               "--dataset", "store", "--no-holdout", "--no-report", "--database-url",
               run.sqlite_url, "--out", str(out)]  # fmt: skip
    return measure(command)


@stage("train-bpr")
def train_bpr(run: Run) -> dict[str, Any]:
    """The neural-side figure: one epoch of bpr (Keras; 8 sampled items per positive) from
    the SQLite store, no validation split, holdout or report; the epoch alone is timed by
    `python -m benchmarks.train_scale --model bpr` (benchmarks/RESULTS.md)."""
    out = run.args.data_dir / "artifacts" / f"bpr-{run.args.rows}"
    shutil.rmtree(out, ignore_errors=True)
    command = [*RECO, "train", "--model", "bpr", "--param", "epochs=1", "--param",
               "validation_fraction=0", "--param", "finish_epochs=0", "--dataset", "store",
               "--no-holdout", "--no-report", "--database-url", run.sqlite_url, "--out",
               str(out)]  # fmt: skip
    return measure(command)


@stage("serve")
def serve(run: Run) -> dict[str, Any]:
    bundle = run.args.bundle or run.args.data_dir / "artifacts" / f"als-{run.args.rows}"
    return serve_at_scale(bundle, run.sqlite_url, USERS, run.args.serve_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/reco_scale"))
    parser.add_argument("--serve-seconds", type=float, default=30, help="per route (serve)")
    parser.add_argument("--bundle", type=Path, help="serve: this bundle (default: train-als's)")
    parser.add_argument(
        "--default-param",
        action="append",
        default=[],
        help="train-default: NAME=VALUE, as reco train --param (repeatable)",
    )
    parser.add_argument(
        "--stages",
        default="import-sqlite,import-postgres,train-popularity",
        help=f"comma-separated, from: {', '.join(STAGES)}",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.stages.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in STAGES]
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from: {', '.join(STAGES)}")
    data = args.data_dir / f"log-{args.rows}.csv"
    if not data.is_file():
        start = time.perf_counter()
        generate(data, args.rows)
        print(f"generated {data} ({args.rows:,} rows) in {time.perf_counter() - start:.0f} s")
    run = Run(args, data)
    for name in chosen:
        figures = STAGES[name](run)
        if figures is None:
            print(f"{name}: skipped")
            continue
        run.figures[name] = figures
        shown = ", ".join(f"{key}={value}" for key, value in figures.items() if key != "output")
        print(f"{name}: {shown}\n    {figures['output']}", flush=True)
    print(json.dumps({"rows": args.rows, "stages": run.figures}, indent=2))


if __name__ == "__main__":
    main()
