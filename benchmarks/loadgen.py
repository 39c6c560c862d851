"""Keep-alive HTTP/1.1 load generator on raw asyncio sockets, for when `wrk` is absent.

    .venv/bin/python benchmarks/loadgen.py --port 8000 --requests reqs.jsonl --duration 10

`--requests` is a JSON-lines file of {"method", "path", "body"} (body optional, sent as JSON);
each connection picks requests from it at random (seeded) and waits for each response before
sending the next, like wrk. Prints one JSON object: requests, req/s, p50/p99 latency in ms,
errors (non-2xx answers plus socket failures). Runs on uvloop when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Tally:
    """What all connections observed during the measured window."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0


def encode_requests(specs: list[dict], host: str) -> list[bytes]:
    """Each {"method", "path", "body", "headers"} spec as the bytes of one keep-alive HTTP/1.1
    request."""
    encoded = []
    for spec in specs:
        body = b"" if spec.get("body") is None else json.dumps(spec["body"]).encode()
        head = f"{spec.get('method', 'GET')} {spec['path']} HTTP/1.1\r\nHost: {host}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in spec.get("headers", {}).items())
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        encoded.append(head.encode() + b"\r\n" + body)
    return encoded


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Status code, headers (names lower-cased) and body (Content-Length) of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ConnectionError("response without Content-Length")
    return status, headers, await reader.readexactly(int(headers["content-length"]))


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Status code of one response; its body is read and dropped."""
    return (await read_response(reader))[0]


async def _connection(
    host: str, port: int, requests: list[bytes], deadline: float, tally: Tally, seed: int
) -> None:
    """One client connection sending requests back to back until `deadline`."""
    choose = random.Random(seed).choice
    reader = writer = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            start = time.perf_counter()
            writer.write(choose(requests))
            status = await _read_response(reader)
            tally.latencies_ms.append((time.perf_counter() - start) * 1e3)
            tally.errors += not 200 <= status < 300
        except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            tally.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)  # a refused or dropped connection must not spin
    if writer is not None:
        writer.close()


async def run_load(
    host: str, port: int, requests: list[bytes], connections: int, duration: float, seed: int = 42
) -> dict[str, float]:
    """Drive `connections` keep-alive connections for `duration` seconds; summary figures."""
    tally = Tally()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(
        *(_connection(host, port, requests, deadline, tally, seed + i) for i in range(connections))
    )
    elapsed = time.perf_counter() - start
    latencies = np.asarray(tally.latencies_ms or [np.nan])
    return {
        "requests": len(tally.latencies_ms),
        "rps": round(len(tally.latencies_ms) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p99_ms": round(float(np.percentile(latencies, 99)), 3),
        "errors": tally.errors,
    }


def _event_loop_runner():
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=Path, required=True, help="JSON-lines request specs")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    specs = [json.loads(line) for line in args.requests.read_text().splitlines() if line.strip()]
    requests = encode_requests(specs, f"{args.host}:{args.port}")
    run = _event_loop_runner()
    result = run(
        run_load(args.host, args.port, requests, args.connections, args.duration, args.seed)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
