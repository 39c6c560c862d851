"""A real server (`python -m app`, what `reco serve` runs) on a free 127.0.0.1 port, for tests
that need real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    base: str
    process: subprocess.Popen


@contextmanager
def running_server(env: dict[str, str], timeout: float = 90) -> Iterator[Server]:
    """Start `python -m app` with `env` (added to os.environ), yield it, stop it."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert proc.poll() is None, "the server exited during start-up"
                assert time.monotonic() < deadline, f"the server did not start in {timeout} s"
                time.sleep(0.1)
        yield Server(base, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=20)
