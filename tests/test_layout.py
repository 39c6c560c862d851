"""The package layout the architecture promises: data flows training -> bundle -> app, the
serving side runs without training/, pandas or TensorFlow, and modules stay short."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import popularity_artifacts

REPO = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 300
SERVING_FORBIDDEN = ("training", "pandas", "tensorflow", "keras")


def _imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports, anywhere in it (functions included)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_app_never_imports_training_or_training_only_libraries() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imported_roots(path) & set(SERVING_FORBIDDEN))
        for path in (REPO / "app").rglob("*.py")
    }
    assert {path: roots for path, roots in offenders.items() if roots} == {}


def test_no_module_is_longer_than_the_limit() -> None:
    long = {
        str(path.relative_to(REPO)): count
        for folder in ("app", "training", "tests", "benchmarks")
        for path in (REPO / folder).rglob("*.py")
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


BLOCKED_SERVER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {forbidden!r}:
                raise ImportError(f"the serving side imported {{name}}")

    sys.meta_path.insert(0, Block())
    from fastapi.testclient import TestClient
    from app.config import Settings
    from app.main import create_app

    settings = Settings(database_url=sys.argv[1], artifacts_dir=sys.argv[2])
    with TestClient(create_app(settings)) as client:
        ready = client.get("/ready")
        answer = client.get("/recommend/0", params={{"k": 3}})
    print(json.dumps({{"ready": ready.status_code, "status": answer.status_code,
                      "items": [item["item_id"] for item in answer.json()["items"]]}}))
    """
)


def test_serving_runs_without_training_pandas_or_tensorflow(tmp_path: Path) -> None:
    artifacts = popularity_artifacts(tmp_path)
    script = BLOCKED_SERVER.format(forbidden=set(SERVING_FORBIDDEN))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    done = subprocess.run(
        [sys.executable, "-c", script, url, str(artifacts)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["ready"] == 200
    assert answer["status"] == 200
    assert len(answer["items"]) == 3


@pytest.mark.parametrize("command", [["-m", "app", "--help"], ["-m", "training", "serve", "-h"]])
def test_serve_command_lives_with_the_app_and_reco_reaches_it(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *command], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--workers" in done.stdout
