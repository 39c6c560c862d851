"""Soak test: `reco serve` (one uvicorn worker) under a mixed read/write load for a minute.

    .venv/bin/python benchmarks/soak.py --duration 60 --connections 64

With no --db and no --bundle-dir it builds its own, in a temporary folder:

    reco import synthetic --database-url sqlite:///TMP/reco.db
    reco train --model mf --dataset store --no-holdout --no-report --epochs 5 --out TMP/...

--db (a SQLite URL) is copied, never written in place; --bundle-dir is copied too (without it
a bundle is trained from the copied store as above). The server runs on 127.0.0.1 on a free
port; this process drives it with keep-alive connections, each sending one request after
another from this mix: 70% GET /recommend/{known user}, 10% GET /similar/{item},
10% POST /score (a known user, 10 items), 10% POST /interactions (a known user or one of a
pool of new ones, so new users come back; every event carries this run's own kind and a
unique value). The server's VmRSS is sampled every second.

Prints total requests, req/s, p50/p99 latency and errors (non-2xx answers, transport errors,
requests slower than --timeout) per route; RSS at start, after --warmup seconds of load, at
the end, and its maximum; and checks in the store that every event acknowledged with 201 is
there. Verdict: zero errors, end RSS within 10% (or 30 MB, whichever is larger) of the
post-warm-up RSS, and no acknowledged event lost; the exit code is 1 when it fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadgen import _event_loop_runner, _read_response, encode_requests
from serving import HOST, SQLITE_PREFIX, copy_store, free_port, memory_mb, running_server
from soak_figures import RouteTally, durability_figures, report, summarise

log = logging.getLogger("benchmarks.soak")
MIX = {"/recommend": 0.7, "/similar": 0.1, "/score": 0.1, "/interactions": 0.1}
NEW_USERS = 500  # pool of new user ids for POST /interactions: each comes back ~ a few times


@dataclass
class Workload:
    """Random requests of the mix, built from the bundle's users and items."""

    users: list[str]
    items: list[str]
    host: str
    kind: str  # this run's event kind, so its rows can be counted apart from any others
    acknowledged: list[float] = field(default_factory=list)  # values of the events stored
    _sequence: int = 0

    def request(self, route: str, rng: random.Random) -> tuple[bytes, float | None]:
        """One encoded request for `route`; for /interactions also the event's unique value."""
        user = rng.choice(self.users)
        if route == "/recommend":
            spec = {"path": f"/recommend/{user}"}
        elif route == "/similar":
            spec = {"path": f"/similar/{rng.choice(self.items)}"}
        elif route == "/score":
            body = {"user_id": user, "item_ids": rng.sample(self.items, 10)}
            spec = {"method": "POST", "path": "/score", "body": body}
        else:
            self._sequence += 1
            if rng.random() < 0.5:
                user = f"soak-user-{rng.randrange(NEW_USERS)}"
            body = {
                "user_id": user,
                "item_id": rng.choice(self.items),
                "value": float(self._sequence),
                "kind": self.kind,
            }
            spec = {"method": "POST", "path": "/interactions", "body": body}
            return encode_requests([spec], self.host)[0], float(self._sequence)
        return encode_requests([spec], self.host)[0], None


async def _connection(
    port: int,
    workload: Workload,
    tallies: dict[str, RouteTally],
    deadline: float,
    rng: random.Random,
    timeout: float,
) -> None:
    """One keep-alive connection sending mixed requests back to back until `deadline`."""
    routes, weights = list(MIX), list(MIX.values())
    reader = writer = None
    while time.perf_counter() < deadline:
        route = rng.choices(routes, weights)[0]
        payload, event = workload.request(route, rng)
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            start = time.perf_counter()
            writer.write(payload)
            status = await asyncio.wait_for(_read_response(reader), timeout)
            tallies[route].latencies_ms.append((time.perf_counter() - start) * 1e3)
            tallies[route].non_2xx += not 200 <= status < 300
            if event is not None and status == 201:
                workload.acknowledged.append(event)
        except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError, TimeoutError):
            tallies[route].failures += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)  # a refused or dropped connection must not spin
    if writer is not None:
        writer.close()


async def _sample_rss(pid: int, samples: list[tuple[float, float]], start: float) -> None:
    """Append (seconds since start, VmRSS in MB) every second until cancelled."""
    while True:
        samples.append((time.perf_counter() - start, memory_mb(pid)["rss_mb"]))
        await asyncio.sleep(1.0)


async def soak(
    pid: int, port: int, workload: Workload, args: argparse.Namespace
) -> tuple[dict[str, RouteTally], list[tuple[float, float]], float]:
    """Drive the mix for args.duration seconds; per-route tallies, RSS samples, elapsed."""
    tallies = {route: RouteTally() for route in MIX}
    samples: list[tuple[float, float]] = []
    start = time.perf_counter()
    sampler = asyncio.create_task(_sample_rss(pid, samples, start))
    deadline = start + args.duration
    await asyncio.gather(
        *(
            _connection(
                port, workload, tallies, deadline, random.Random(args.seed + i), args.timeout
            )
            for i in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - start
    sampler.cancel()
    samples.append((elapsed, memory_mb(pid)["rss_mb"]))
    return tallies, samples, elapsed


def _reco(*arguments: str, env: dict[str, str]) -> None:
    """Run one `reco` command in a child process (TensorFlow stays out of this one)."""
    command = [sys.executable, "-m", "training", *arguments]
    log.info("running: reco %s", " ".join(arguments))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"reco {arguments[0]} failed:\n{done.stdout}\n{done.stderr}")


def prepare(args: argparse.Namespace, folder: Path, env: dict[str, str]) -> tuple[str, Path]:
    """A private store URL and bundle folder: copies of the given ones, or built here."""
    if args.db is not None and not args.db.startswith(SQLITE_PREFIX):
        raise SystemExit(f"--db must be a SQLite URL (the soak writes to it); got {args.db}")
    url = copy_store(args.db, folder)
    if args.db is None:
        _reco("import", "synthetic", "--no-progress", "--database-url", url, env=env)
    artifacts = folder / "artifacts"
    if args.bundle_dir is not None:
        shutil.copytree(args.bundle_dir, artifacts / args.bundle_dir.name)
        return url, artifacts / args.bundle_dir.name
    bundle = artifacts / "mf-soak"
    _reco(
        "train",
        "--model",
        "mf",
        "--dataset",
        "store",
        "--no-holdout",
        "--no-report",
        "--epochs",
        "5",
        "--database-url",
        url,
        "--out",
        str(bundle),
        env=env,
    )
    return url, bundle


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--warmup",
        type=float,
        default=10,
        help="seconds into the load at which the baseline RSS is taken",
    )
    parser.add_argument("--bundle-dir", type=Path, help="a bundle folder (default: train one)")
    parser.add_argument("--db", help="a SQLite store URL, copied (default: import synthetic)")
    parser.add_argument(
        "--timeout", type=float, default=10, help="seconds before a request counts as an error"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.bundle_dir is not None and not (args.bundle_dir / "manifest.json").is_file():
        parser.error(f"{args.bundle_dir}: not a bundle folder (no manifest.json)")
    if args.warmup >= args.duration:
        parser.error(f"--warmup must be shorter than --duration (got {args.warmup})")
    return args


def run(args: argparse.Namespace, folder: Path, runner: Callable) -> dict:
    """Prepare store and bundle, serve, soak, stop the server, check the store."""
    env = {**os.environ, "RECO_LOG_LEVEL": "warning", "RECO_WORKERS": "1"}
    url, bundle = prepare(args, folder, env)
    env |= {"RECO_ARTIFACTS_DIR": str(bundle.parent), "RECO_DATABASE_URL": url}
    port = free_port()
    workload = Workload(
        users=json.loads((bundle / "users.json").read_text()),
        items=json.loads((bundle / "items.json").read_text()),
        host=f"{HOST}:{port}",
        kind=f"soak-{secrets.token_hex(4)}",
    )
    logfile = folder / "server.log"
    try:
        with running_server(env, port, logfile) as server:
            start_mb = memory_mb(server.pid)["rss_mb"]
            log.info(
                "soaking pid %d for %g s with %d connections",
                server.pid,
                args.duration,
                args.connections,
            )
            tallies, samples, elapsed = runner(soak(server.pid, port, workload, args))
        stopped = True
    except subprocess.TimeoutExpired:  # requests still stuck in the server: a failure too
        log.error("the server did not stop within 30 s of SIGTERM; killing it")
        server.kill()
        server.wait()
        stopped = False
    server_log = logfile.read_text().strip()
    if server_log:
        log.info("server log (last lines):\n%s", "\n".join(server_log.splitlines()[-20:]))
    durability = durability_figures(url, workload.kind, workload.acknowledged)
    return summarise(tallies, samples, elapsed, start_mb, durability, stopped, args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reco-soak-") as temp:
        result = run(args, Path(temp), _event_loop_runner())
    print(report(result, args))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
