"""The OpenAPI document: every serving and operations route shows an example at /docs."""

from typing import Any

import pytest

from app.config import Settings
from app.main import create_app

ROUTES = [
    ("get", "/recommend/{user_id}"),
    ("get", "/similar/{item_id}"),
    ("post", "/score"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
]


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("openapi")
    settings = Settings(database_url=f"sqlite:///{root / 'store.db'}", artifacts_dir=root)
    return create_app(settings).openapi()


def _examples(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """Where an operation carries an example: parameters, request body or responses."""
    schemas = spec["components"]["schemas"]

    def schema_has_example(schema: dict[str, Any]) -> bool:
        ref = schema.get("$ref")
        return "examples" in (schemas[ref.split("/")[-1]] if ref else schema)

    found = [
        f"parameter {p['name']}"
        for p in operation.get("parameters", [])
        if "example" in p or "examples" in p or "examples" in p.get("schema", {})
    ]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body and schema_has_example(body.get("schema", {})):
        found.append("request body")
    for status, response in operation.get("responses", {}).items():
        for media, content in response.get("content", {}).items():
            if "example" in content or schema_has_example(content.get("schema", {})):
                found.append(f"{status} {media}")
    return found


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_openapi_route_has_an_example(spec, method, path):
    operation = spec["paths"][path][method]
    assert operation.get("summary") and operation.get("tags")
    assert _examples(spec, operation), f"{method.upper()} {path} has no example"


def test_openapi_recommend_documents_k_bounds(spec):
    k = next(
        p for p in spec["paths"]["/recommend/{user_id}"]["get"]["parameters"] if p["name"] == "k"
    )
    assert k["schema"]["minimum"] == 1 and k["schema"]["maximum"] == 1000


def test_openapi_every_tag_is_described(spec):
    described = {tag["name"]: tag["description"] for tag in spec["tags"]}
    used = {tag for ops in spec["paths"].values() for op in ops.values() for tag in op["tags"]}
    assert used <= set(described) and all(described.values())
