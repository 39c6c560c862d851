"""Serving throughput: `reco-serve` (one uvicorn worker) on a bundle, loaded from another process.

Get a bundle (MovieLens 100K, matrix factorisation) and a store with its interactions:

    export RECO_DATABASE_URL=sqlite:////tmp/reco-bench/reco.db
    reco import ../shared/datasets/ml-100k
    reco train --model mf --dataset ../shared/datasets/ml-100k --out /tmp/reco-bench/artifacts/mf-v1

then measure:

    .venv/bin/python benchmarks/serving.py --bundle-dir /tmp/reco-bench/artifacts/mf-v1 \\
        --db sqlite:////tmp/reco-bench/reco.db --duration 20 --connections 16

The bundle (and a SQLite store) are copied to a temporary folder first, so the originals are
never touched. The server runs on 127.0.0.1 on a free port; the load comes from `wrk` when it
is on PATH (`apt-get install -y wrk`), else from benchmarks/loadgen.py, one route after the
other: GET /health, GET /recommend/{random user}, GET /similar/{random item}, POST /score
(a random user, 10 random items). Prints req/s, p50, p99 and errors per route, each route's
req/s as a ratio of /health's, and the server's resident memory (VmRSS, peak VmHWM).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

log = logging.getLogger("benchmarks.serving")
HOST = "127.0.0.1"
LOADGEN = Path(__file__).with_name("loadgen.py")
SQLITE_PREFIX = "sqlite:///"


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def copy_store(url: str | None, folder: Path) -> str:
    """URL of a private copy of a SQLite store (an empty one when `url` is None).

    Other databases are used in place: the benchmark only reads them.
    """
    target = folder / "reco.db"
    if url is None:
        return SQLITE_PREFIX + str(target)
    if not url.startswith(SQLITE_PREFIX):
        log.warning("not SQLite: using %s in place (read only)", url.split("@")[-1])
        return url
    source = Path(url.removeprefix(SQLITE_PREFIX))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").is_file():
            shutil.copy2(f"{source}{suffix}", f"{target}{suffix}")
    return SQLITE_PREFIX + str(target)


@contextmanager
def running_server(env: dict[str, str], port: int, logfile: Path) -> Iterator[subprocess.Popen]:
    """`reco-serve` on HOST:port until the block ends; waits until /ready names a model."""
    command = [sys.executable, "-m", "app", "--host", HOST, "--port", str(port)]
    with logfile.open("w") as log_handle:
        server = subprocess.Popen(command, env=env, stdout=log_handle, stderr=subprocess.STDOUT)
        try:
            _wait_ready(server, port, logfile)
            yield server
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_ready(server: subprocess.Popen, port: int, logfile: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}:\n{logfile.read_text()}")
        try:
            body = httpx.get(f"http://{HOST}:{port}/ready", timeout=2).json()
            if body.get("model"):
                return
            raise RuntimeError(f"server has no model: {body.get('fallback')}")
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout} s:\n{logfile.read_text()}")


def request_specs(bundle: Path, rng: np.random.Generator, n: int = 2000) -> dict[str, list[dict]]:
    """Per route, n requests with random users and items of the bundle."""
    users = json.loads((bundle / "users.json").read_text())
    items = json.loads((bundle / "items.json").read_text())
    return {
        "/health": [{"method": "GET", "path": "/health"}],
        "/recommend": [{"path": f"/recommend/{u}"} for u in rng.choice(users, n)],
        "/similar": [{"path": f"/similar/{i}"} for i in rng.choice(items, n)],
        "/score": [
            {
                "method": "POST",
                "path": "/score",
                "body": {"user_id": str(u), "item_ids": rng.choice(items, 10).tolist()},
            }
            for u in rng.choice(users, n)
        ],
    }


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_script(specs: list[dict]) -> str:
    """A wrk Lua script sending the specs in random order, formatted once in init (after wrk
    has set the Host header)."""
    rows = []
    for spec in specs:
        fields = [spec.get("method", "GET"), spec["path"]]
        if spec.get("body") is not None:
            fields.append(json.dumps(spec["body"]))
        rows.append("  {" + ", ".join(map(_lua_string, fields)) + "},")
    return (
        "\n".join(
            [
                "local specs = {",
                *rows,
                "}",
                "local requests = {}",
                "init = function(args)",
                "  local json = {['Content-Type'] = 'application/json'}",
                "  for i, s in ipairs(specs) do",
                "    requests[i] = wrk.format(s[1], s[2], s[3] and json or nil, s[3])",
                "  end",
                "  math.randomseed(42)",
                "end",
                "request = function() return requests[math.random(#requests)] end",
            ]
        )
        + "\n"
    )


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _wrk_millis(output: str, percent: int) -> float:
    value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M).groups()
    return round(float(value) * _UNITS_MS[unit], 3)


def parse_wrk(output: str) -> dict[str, float]:
    """req/s, p50/p99 (ms) and errors (non-2xx/3xx answers plus socket errors) of a wrk run."""
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _wrk_millis(output, 50),
        "p99_ms": _wrk_millis(output, 99),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(map(int, sockets.groups())) if sockets else 0),
    }


def load(
    specs: list[dict], port: int, args: argparse.Namespace, folder: Path, seconds: float
) -> dict:
    """Drive one route for `seconds` with wrk (or loadgen.py) in a separate process."""
    duration = max(1, round(seconds))
    url = f"http://{HOST}:{port}"
    if args.tool == "wrk":
        script = folder / "requests.lua"
        script.write_text(_wrk_script(specs))
        command = ["wrk", "-t1", f"-c{args.connections}", f"-d{duration}s", "--latency",
                   "--timeout", "5s", "-s", str(script), url]  # fmt: skip
        return parse_wrk(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    requests = folder / "requests.jsonl"
    requests.write_text("".join(json.dumps(spec) + "\n" for spec in specs))
    command = [sys.executable, str(LOADGEN), "--host", HOST, "--port", str(port),
               "--requests", str(requests), "--connections", str(args.connections),
               "--duration", str(duration)]  # fmt: skip
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def memory_mb(pid: int) -> dict[str, float]:
    """Resident set size now (VmRSS) and at its peak (VmHWM) of process `pid`, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        name: round(int(fields[key].split()[0]) / 1024, 1)
        for name, key in (("rss_mb", "VmRSS"), ("peak_rss_mb", "VmHWM"))
    }


def report(results: dict[str, dict], memory: dict[str, float], args: argparse.Namespace) -> str:
    """The results as a fixed-width table, ratios against /health."""
    base = results["/health"]["rps"] or float("nan")
    lines = [
        f"tool={args.tool} connections={args.connections} duration={args.duration}s "
        f"server_rss={memory['rss_mb']} MB (peak {memory['peak_rss_mb']} MB)",
        f"{'route':<12}{'req/s':>10}{'x health':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}",
    ]
    for route, row in results.items():
        lines.append(
            f"{route:<12}{row['rps']:>10.1f}{row['rps'] / base:>10.2f}"
            f"{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}{row['errors']:>8d}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--bundle-dir", type=Path, required=True, help="a bundle folder")
    parser.add_argument("--db", help="store URL (a SQLite file is copied); default: empty store")
    parser.add_argument("--duration", type=float, default=20, help="seconds per route")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds per route")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tool", choices=["wrk", "loadgen"],
                        default="wrk" if shutil.which("wrk") else "loadgen")  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv)
    if not (args.bundle_dir / "manifest.json").is_file():
        raise SystemExit(f"{args.bundle_dir}: not a bundle folder (no manifest.json)")
    specs = request_specs(args.bundle_dir, np.random.default_rng(args.seed))
    with tempfile.TemporaryDirectory(prefix="reco-bench-") as temp:
        folder = Path(temp)
        shutil.copytree(args.bundle_dir, folder / "artifacts" / args.bundle_dir.name)
        env = {
            **os.environ,
            "RECO_ARTIFACTS_DIR": str(folder / "artifacts"),
            "RECO_DATABASE_URL": copy_store(args.db, folder),
            "RECO_WORKERS": "1",
            "RECO_LOG_LEVEL": "warning",
        }
        port = free_port()
        results = {}
        with running_server(env, port, folder / "server.log") as server:
            for route, route_specs in specs.items():
                if args.warmup > 0:
                    load(route_specs, port, args, folder, args.warmup)
                log.info("measuring %s for %s s", route, args.duration)
                results[route] = load(route_specs, port, args, folder, args.duration)
            memory = memory_mb(server.pid)
    print(report(results, memory, args))
    if args.json:
        summary = {"tool": args.tool, "connections": args.connections, **memory}
        args.json.write_text(json.dumps({**summary, "routes": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
