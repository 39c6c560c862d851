"""Fault test of the compose `fleet` profile: load through HAProxy while one replica is killed
with SIGKILL and restarted, and while a model version is rolled out and rolled back.

    export RECO_ADMIN_KEY=...                      # the key the fleet was started with
    ../shared/tools/compose --profile fleet up -d --build
    .venv/bin/python benchmarks/fleet.py           # add --project recoserve-ci for the CI's stack

16 keep-alive connections to :8080 send 80% GET /recommend/{known user}, 20% POST /interactions
(a pool user, this run's `kind`, a unique `value`). At --kill-at s `podman kill --signal KILL`
the --victim replica, --restart-after s later `podman start` it (unless its restart policy did);
at --rollout-at s activate the other bundle through the balancer and poll each replica's own
/ready (127.0.0.1:8081-8083) until all report it; 10 s later activate the first one back.

Prints the failed requests the client saw (non-2xx, connection errors), HAProxy's retries,
how long each switch took to reach the 3 replicas, and reads every pool user's history back
through the API: each event acknowledged with 201 must be there once. Exit code 1 unless
0 failed, 0 lost, 0 twice and each switch reached all replicas within --switch-limit s.
--rollout-only (CI): activate the other bundle and check the replicas; no load, no kill.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from fleet_figures import haproxy_counters, http_json, report, stored_events, summarise
from loadgen import _event_loop_runner, encode_requests, read_response

log = logging.getLogger("benchmarks.fleet")
HOST = "127.0.0.1"
POST_SHARE = 0.2
USER_POOL = 200
LOAD_ERRORS = (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError, TimeoutError)


@dataclass
class Run:
    """What the clients saw, in seconds since the load started."""

    args: argparse.Namespace
    kind: str  # this run's event kind: its rows are told apart from any others by it
    start: float = field(default_factory=time.perf_counter)
    answers: list[tuple[float, str, str | None, float]] = field(default_factory=list)
    failures: list[tuple[float, str, str]] = field(default_factory=list)  # when, route, what
    acknowledged: list[float] = field(default_factory=list)  # values of events answered 201
    timeline: dict[str, float] = field(default_factory=dict)
    _sequence: int = 0

    def now(self) -> float:
        return time.perf_counter() - self.start

    def request(self, rng: random.Random) -> tuple[str, bytes, float | None]:
        """One encoded request of the mix; for POST /interactions also its unique value."""
        host = f"{HOST}:{self.args.port}"
        if rng.random() >= POST_SHARE:
            user = rng.randint(1, self.args.users)
            return (
                "/recommend",
                encode_requests([{"path": f"/recommend/{user}?k=10"}], host)[0],
                None,
            )
        self._sequence += 1
        body = {
            "user_id": f"{self.kind}-u{rng.randrange(USER_POOL)}",
            "item_id": str(rng.randint(1, self.args.items)),
            "value": float(self._sequence),
            "kind": self.kind,
        }
        # a key per event: the balancer may resend it to another replica when the one that
        # took it dies, and the store answers the copy without storing it twice
        key = {"Idempotency-Key": f"{self.kind}-{self._sequence}"}
        spec = {"method": "POST", "path": "/interactions", "body": body, "headers": key}
        return "/interactions", encode_requests([spec], host)[0], body["value"]


async def _connection(run: Run, rng: random.Random, deadline: float) -> None:
    """One keep-alive client connection to the balancer, sending until `deadline`."""
    reader = writer = None
    while time.perf_counter() < deadline:
        route, payload, event = run.request(rng)
        sent = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, run.args.port)
            writer.write(payload)
            status, headers, _ = await asyncio.wait_for(read_response(reader), run.args.timeout)
        except LOAD_ERRORS as error:
            run.failures.append((run.now(), route, type(error).__name__))
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)  # a refused connection must not spin
            continue
        if 200 <= status < 300:
            latency = (time.perf_counter() - sent) * 1e3
            run.answers.append((run.now(), route, headers.get("x-model-version"), latency))
            if event is not None:
                run.acknowledged.append(event)
        else:
            run.failures.append((run.now(), route, f"HTTP {status}"))
        if headers.get("connection", "").lower() == "close":
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _replica_versions(args: argparse.Namespace) -> list[str | None]:
    """The version each replica's own /ready reports (None while it does not answer)."""
    answers = await asyncio.gather(
        *(asyncio.to_thread(http_json, f"http://{HOST}:{p}/ready") for p in args.replica_ports)
    )
    return [body.get("version") if status == 200 else None for status, body in answers]


async def _switch(run: Run, name: str, version: str) -> dict:
    """Activate `version` through the balancer; seconds until each replica reports it."""
    args = run.args
    run.timeline[name] = began = run.now()
    url = f"http://{HOST}:{args.port}/admin/models/{version}/activate"
    status, body = await asyncio.to_thread(http_json, url, "POST", args.admin_key)
    answered = run.now() - began
    reached: list[float | None] = [None] * len(args.replica_ports)
    while None in reached and run.now() - began < args.switch_timeout:
        for i, seen in enumerate(await _replica_versions(args)):
            if seen == version and reached[i] is None:
                reached[i] = round(run.now() - began, 3)
        await asyncio.sleep(0.05)
    log.info("%s to %s: answered %s; replicas report it after %s s", name, version, status, reached)
    return {
        "version": version,
        "status": status,
        "answer": body,
        "answered_s": round(answered, 3),
        "replicas_s": reached,
    }


async def _podman(*arguments: str) -> str:
    """Run podman; its output. `podman start` hands our pipes to conmon, which keeps them
    open: that command's output goes nowhere, so that waiting for it ends."""
    pipe = subprocess.DEVNULL if arguments[0] == "start" else subprocess.PIPE
    process = await asyncio.create_subprocess_exec("podman", *arguments, stdout=pipe, stderr=pipe)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"podman {' '.join(arguments)} failed (exit code {process.returncode})")
    return (out or b"").decode().strip()


async def _kill_and_restart(run: Run) -> dict:
    """SIGKILL the victim replica, start it again, wait until its own /ready answers."""
    args = run.args
    service = f"fleet-api-{args.victim}"
    labels = [
        f"label=com.docker.compose.{k}" for k in (f"project={args.project}", f"service={service}")
    ]
    container = await _podman(
        "ps", "-a", "--format", "{{.Names}}", *(f"--filter={x}" for x in labels)
    )
    if not container or "\n" in container:
        raise SystemExit(
            f"expected one container of {service} in project {args.project}: {container!r}"
        )
    await asyncio.sleep(max(0.0, args.kill_at - run.now()))
    run.timeline["kill"] = run.now()
    await _podman("kill", "--signal", "KILL", container)
    log.info("killed %s (SIGKILL)", container)
    await asyncio.sleep(args.restart_after)
    running = await _podman("inspect", "--format", "{{.State.Running}}", container)
    if running != "true":
        await _podman("start", container)
    run.timeline["restart"] = run.now()
    port = args.replica_ports[args.victim - 1]
    while (await asyncio.to_thread(http_json, f"http://{HOST}:{port}/ready"))[0] != 200:
        await asyncio.sleep(0.1)
    run.timeline["back"] = run.now()
    log.info(
        "%s ready again %.1f s after the kill",
        container,
        run.timeline["back"] - run.timeline["kill"],
    )
    return {
        "container": container,
        "restarted_by": "restart policy" if running == "true" else "podman start",
    }


async def _versions(args: argparse.Namespace) -> tuple[str, str]:
    """The active version and another bundle to switch to, as the balancer lists them."""
    status, models = await asyncio.to_thread(http_json, f"http://{HOST}:{args.port}/models")
    if status != 200 or len(models.get("models", [])) < 2:
        raise SystemExit(f"a rollout needs two bundles; GET /models -> {status} {models}")
    first = models["active"]
    return first, next(m["version"] for m in models["models"] if m["version"] != first)


async def _rollout(run: Run) -> list[dict]:
    """At --rollout-at: the other bundle out to the fleet, then the first one back."""
    args = run.args
    first, other = await _versions(args)
    await asyncio.sleep(max(0.0, args.rollout_at - run.now()))
    rollout = await _switch(run, "rollout", other)
    await asyncio.sleep(max(0.0, args.rollout_at + 10 - run.now()))
    return [rollout, await _switch(run, "rollback", first)]


async def rollout_only(run: Run) -> int:
    """--rollout-only: activate the other bundle through the balancer, no load, no kill;
    0 when every replica reports it within --switch-limit seconds."""
    _, other = await _versions(run.args)
    switch = await _switch(run, "rollout", other)
    reached = switch["replicas_s"]
    took = None if None in reached else max(reached)
    print(
        f"rollout to {other}: activate answered {switch['status']}; replicas report it "
        f"after {reached} s (all: {took} s)"
    )
    return (
        0 if switch["status"] == 200 and took is not None and took <= run.args.switch_limit else 1
    )


async def fault_test(run: Run) -> dict:
    """The load, with the kill and the two switches on its timeline."""
    args = run.args
    before = await asyncio.to_thread(haproxy_counters, args.stats_url)
    run.start = time.perf_counter()
    deadline = run.start + args.duration
    load = asyncio.gather(
        *(_connection(run, random.Random(args.seed + i), deadline) for i in range(args.connections))
    )
    kill, switches, _ = await asyncio.gather(_kill_and_restart(run), _rollout(run), load)
    elapsed = run.now()
    after = await asyncio.to_thread(haproxy_counters, args.stats_url)
    balancer = {name: after[name] - before[name] for name in after}
    base = f"http://{HOST}:{args.port}"
    durability = await asyncio.to_thread(stored_events, base, run.kind, USER_POOL, run.acknowledged)
    return summarise(run, elapsed, kill, switches, balancer, durability)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8080, help="the balancer")
    parser.add_argument("--replica-ports", type=int, nargs=3, default=[8081, 8082, 8083])
    parser.add_argument("--stats-url", default=f"http://{HOST}:8404/stats;csv")
    parser.add_argument("--project", default="recoserve", help="compose project name")
    parser.add_argument("--admin-key", default=os.environ.get("RECO_ADMIN_KEY", "local-trial-only"))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--victim", type=int, choices=[1, 2, 3], default=2, help="fleet-api-N")
    parser.add_argument("--kill-at", type=float, default=8)
    parser.add_argument("--restart-after", type=float, default=5)
    parser.add_argument("--rollout-at", type=float, default=35)
    parser.add_argument("--switch-timeout", type=float, default=30)
    parser.add_argument("--switch-limit", type=float, default=5, help="seconds a switch may take")
    parser.add_argument("--users", type=int, default=1000, help="known users are 1..N")
    parser.add_argument("--items", type=int, default=1700, help="known items are 1..N")
    parser.add_argument("--timeout", type=float, default=10, help="seconds per request")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--rollout-only", action="store_true", help="only activate another bundle and check"
    )
    args = parser.parse_args(argv)
    if not args.kill_at < args.rollout_at < args.rollout_at + 10 < args.duration:
        parser.error("need --kill-at < --rollout-at and --rollout-at + 10 < --duration")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    run = Run(args, kind=f"fleet-{secrets.token_hex(4)}")
    if args.rollout_only:
        return _event_loop_runner()(rollout_only(run))
    result = _event_loop_runner()(fault_test(run))
    print(report(result, args))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
