"""The serving stage of benchmarks/scale.py: `reco-serve` (one worker) on the large store and
a bundle trained on it. Measures the time from start to a ready answer, the worker's memory,
then `/health` and `/recommend` with wrk in one run: every /recommend asks for a user not
asked for before (a shuffled list of every user), so the history cache and the answer cache
stay cold, as they are for a service's long tail of users."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import HOST, free_port, memory_mb, parse_wrk  # a sibling script

READY_TIMEOUT = 600.0


def _wait_ready(server: subprocess.Popen, port: int, log: Path) -> float:
    """Seconds from now until /ready answers 200 and names a model."""
    start = time.perf_counter()
    while time.perf_counter() - start < READY_TIMEOUT:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}:\n{log.read_text()}")
        try:
            answer = httpx.get(f"http://{HOST}:{port}/ready", timeout=30)
            if answer.status_code == 200:
                if not answer.json().get("model"):
                    raise SystemExit(f"ready without a model:\n{log.read_text()}")
                return time.perf_counter() - start
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"not ready after {READY_TIMEOUT} s:\n{log.read_text()}")


def _sequential_script(paths: list[str], folder: Path) -> Path:
    """A wrk script that GETs `paths` in order, each once (then from the start again)."""
    script = folder / "paths.lua"
    listed = ",\n".join(f'"{path}"' for path in paths)
    script.write_text(
        f"local paths = {{\n{listed}\n}}\nlocal n = 0\n"
        "request = function()\n  n = n % #paths + 1\n"
        "  return wrk.format('GET', paths[n])\nend\n"
    )
    return script


def _wrk(port: int, seconds: float, connections: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "5s"]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    command.append(f"http://{HOST}:{port}" + ("" if script else "/health"))
    return parse_wrk(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def serve_at_scale(
    bundle: Path, database_url: str, users: int, seconds: float = 30, connections: int = 16
) -> dict[str, Any]:
    """Start-up, memory and throughput figures of one worker serving `bundle` over the store."""
    if not (bundle / "manifest.json").is_file():
        raise SystemExit(f"{bundle}: no bundle (run the train-als stage first)")
    if shutil.which("wrk") is None:
        raise SystemExit("the serve stage needs wrk (apt-get install -y wrk)")
    order = np.random.default_rng(14).permutation(users) + 1  # the generator's ids: 1..users
    with tempfile.TemporaryDirectory(prefix="reco-scale-serve-") as temp:
        folder = Path(temp)
        (folder / "artifacts").mkdir()
        (folder / "artifacts" / bundle.name).symlink_to(bundle)
        script = _sequential_script([f"/recommend/{user}" for user in order.tolist()], folder)
        env = {**os.environ, "RECO_ARTIFACTS_DIR": str(folder / "artifacts"),
               "RECO_DATABASE_URL": database_url, "RECO_WORKERS": "1",
               "RECO_LOG_LEVEL": "warning"}  # fmt: skip
        port = free_port()
        log = folder / "server.log"
        command = [sys.executable, "-m", "app", "--host", HOST, "--port", str(port)]
        with log.open("w") as handle:
            server = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        try:
            ready = _wait_ready(server, port, log)
            at_ready = memory_mb(server.pid)
            _wrk(port, 3, connections, None)  # warm the connection path, not the caches
            health = _wrk(port, seconds, connections, None)
            recommend = _wrk(port, seconds, connections, script)
            after = memory_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    return {
        "ready_seconds": round(ready, 1),
        "rss_mb_at_ready": at_ready["rss_mb"],
        "peak_rss_mb": after["peak_rss_mb"],
        "health_rps": health["rps"],
        "recommend_rps": recommend["rps"],
        "ratio": round(recommend["rps"] / health["rps"], 3),
        "recommend_p50_ms": recommend["p50_ms"],
        "recommend_p99_ms": recommend["p99_ms"],
        "distinct_users_asked": min(recommend["requests"], users),
        "errors": health["errors"] + recommend["errors"],
        "output": f"{bundle.name} over {database_url.split('/')[-1]}",
    }
