"""Training on several workers (processes or hosts) with TensorFlow's
MultiWorkerMirroredStrategy: each worker trains on its own shard of the examples, the
gradients are summed across workers every step, and the chief (task 0) exports the bundle.

A worker joins its cluster from `--worker-hosts` and `--task-index`, or from TF_CONFIG;
`--workers N` starts N such workers on this machine. TensorFlow is imported only on joining.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from training.interactions import Interactions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shard:
    """One worker's rows of a training set: every `num_workers`-th row from `index`, as
    tf.data's `shard(num_workers, index)` takes them, so the shards are disjoint and cover it."""

    num_workers: int
    index: int

    def rows(self, n: int) -> np.ndarray:
        """The row numbers (int64) of this shard among `n` rows."""
        return np.arange(self.index, n, self.num_workers)


@dataclass(frozen=True)
class Workers:
    """This process's place in a running cluster: the strategy and its shard."""

    strategy: Any
    shard: Shard

    @property
    def is_chief(self) -> bool:
        """Task 0 writes what the run produces (bundle, report, printed figures)."""
        return self.shard.index == 0

    def run_summed(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """`fn(*args)` on every worker, each with its own `args`; the sum of the results."""
        per_worker = self.strategy.run(fn, args=args)
        return self.strategy.reduce("SUM", per_worker, axis=None)

    def gather(self, value: float) -> np.ndarray:
        """Every worker's `value`, in task order (a collective: every worker must call it)."""
        import tensorflow as tf

        per_worker = self.strategy.run(lambda: tf.constant([value], tf.float64))
        return self.strategy.gather(per_worker, axis=0).numpy()


_active: Workers | None = None


def active() -> Workers | None:
    """The cluster this process trains in, or None for a single process."""
    return _active


def workers_scope() -> contextlib.AbstractContextManager[Any]:
    """The active cluster's strategy scope, where models and optimizers must be made; a
    no-op for a single process."""
    return contextlib.nullcontext() if _active is None else _active.strategy.scope()


def from_chief(value: int) -> int:
    """The chief's `value` on every worker, e.g. the store's last interaction id, so that
    every worker reads the same rows of a store that is being written to."""
    return value if _active is None else int(_active.gather(value)[0])


def check_same_data(data: Interactions) -> None:
    """Refuse to train when the workers loaded different data (another file, another store)."""
    if _active is None:
        return
    prints = _active.gather(int(data.fingerprint()[:12], 16))  # 48 bits: exact in a float64
    if len(set(prints.tolist())) > 1:
        raise ValueError("the workers loaded different data: give every worker the same dataset")


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """--workers, --worker-hosts and --task-index."""
    group = parser.add_argument_group("training on several workers (sampled neural models)")
    group.add_argument(
        "--workers", type=int, default=1, help="start this many workers on this machine"
    )
    group.add_argument(
        "--worker-hosts",
        help="host:port of every worker, comma-separated, the same on every host (or TF_CONFIG)",
    )
    group.add_argument(
        "--task-index", type=int, default=0, help="this worker's place in --worker-hosts (0: chief)"
    )


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def launch_local(count: int, argv: Sequence[str]) -> int:
    """Run `reco <argv>` as `count` workers on 127.0.0.1 (free ports), wait for all; the
    first failure stops the others. Returns the exit status."""
    if count < 1:
        raise ValueError(f"--workers must be at least 1 (got {count})")
    hosts = ",".join(f"127.0.0.1:{port}" for port in free_ports(count))
    log.info("starting %d workers: %s", count, hosts)
    command = [sys.executable, "-m", "training", *argv, "--worker-hosts", hosts]
    workers = [subprocess.Popen([*command, "--task-index", str(n)]) for n in range(count)]
    try:
        while True:
            codes = [worker.poll() for worker in workers]
            failed = [code for code in codes if code not in (None, 0)]
            if failed:
                return failed[0]
            if all(code == 0 for code in codes):
                return 0
            time.sleep(0.2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait()


def without_workers_option(argv: Sequence[str]) -> list[str]:
    """`argv` without its --workers option, as each started worker is given."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            kept.append(arg)
    return kept


def start(args: argparse.Namespace, sampled: bool) -> int | None:
    """Before a command's work: with `--workers N`, run the command as N local workers and
    return their exit status; else join the cluster that --worker-hosts or TF_CONFIG names,
    if any (only a `sampled` model trains on several workers), and return None."""
    several = args.workers > 1 or bool(args.worker_hosts)
    if several and not sampled:
        raise ValueError(
            "only the sampled neural models (imf, bpr, gmf, mlp, neumf, two-tower) train on "
            "several workers"
        )
    if args.workers > 1:
        return launch_local(args.workers, without_workers_option(args.argv))
    if sampled:
        join(args.worker_hosts, args.task_index)
    return None


def is_chief() -> bool:
    """Whether this process writes what the run produces: a single process, or task 0."""
    return _active is None or _active.is_chief


def join(worker_hosts: str | None, task_index: int) -> Workers | None:
    """Join the cluster named by `worker_hosts` (or TF_CONFIG when None) and make it the
    active one; None, and a single process, when neither names one. Must run before any
    other TensorFlow work in the process."""
    global _active
    import tensorflow as tf

    resolvers = tf.distribute.cluster_resolver
    if worker_hosts:
        hosts = [host.strip() for host in worker_hosts.split(",") if host.strip()]
        if not 0 <= task_index < len(hosts):
            raise ValueError(f"--task-index must be in 0..{len(hosts) - 1} (got {task_index})")
        spec = tf.train.ClusterSpec({"worker": hosts})
        resolver = resolvers.SimpleClusterResolver(
            spec, task_type="worker", task_id=task_index, rpc_layer="grpc"
        )
    else:
        resolver = resolvers.TFConfigClusterResolver()
    tasks = resolver.cluster_spec().as_dict()
    if not tasks:
        return None
    order = [(kind, n) for kind in ("chief", "worker") for n in range(len(tasks.get(kind, [])))]
    me = order.index((resolver.task_type, resolver.task_id))
    addresses = [tasks[kind][n] for kind, n in order]
    _share_cores(addresses, addresses[me])
    strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    if strategy.num_replicas_in_sync != len(order):
        raise ValueError(
            f"one device per worker is supported ({strategy.num_replicas_in_sync} replicas "
            f"over {len(order)} workers)"
        )
    _active = Workers(strategy, Shard(len(order), me))
    log.info("worker %d of %d joined", me, len(order))
    return _active


def _share_cores(addresses: list[str], mine: str) -> None:
    """Split this host's cores evenly among its workers (TensorFlow would give each all)."""
    import tensorflow as tf

    host = mine.rsplit(":", 1)[0]
    local = sum(address.rsplit(":", 1)[0] == host for address in addresses)
    threads = max(1, (os.cpu_count() or 1) // local)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(max(2, threads))
