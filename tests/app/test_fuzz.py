"""Property-based API fuzzing with schemathesis against a real uvicorn: no 5xx, and every
response matches the OpenAPI schema. A short run here; `make fuzz` runs a long one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.store.session import create_store_engine, init_schema
from tests.conftest import block_interactions
from training.importer import import_interactions

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("RECO_FUZZ_EXAMPLES", "8"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_schema(mf_artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    store = tmp_path_factory.mktemp("fuzz") / "store.db"
    engine = create_store_engine(f"sqlite:///{store}")
    init_schema(engine)
    import_interactions(engine, block_interactions(), progress=False)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "RECO_DATABASE_URL": f"sqlite:///{store}",
        "RECO_ARTIFACTS_DIR": str(mf_artifacts),
        "RECO_ADMIN_KEY": "fuzz-key",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "training", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"{base}/health")
            break
        except httpx.TransportError:
            assert server.poll() is None, "the server exited during start-up"
            assert time.monotonic() < deadline, "the server did not start in 90 s"
            time.sleep(0.1)
    yield schemathesis.openapi.from_url(f"{base}/openapi.json")
    server.terminate()
    server.wait(timeout=20)


def test_api_never_errors_and_matches_its_schema(api_schema) -> None:
    """Every operation, EXAMPLES generated cases each (the schemathesis pytest plugin does not
    support this pytest, so operations are driven with hypothesis directly)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: object) -> None:
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        check()
