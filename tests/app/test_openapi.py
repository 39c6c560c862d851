"""The OpenAPI document: every serving and operations route shows an example at /docs, and
the document tells the truth a client generator needs: named operations, every error status
with the body the server really sends, the admin key as a security scheme, optional fields
that generated clients read as optional."""

import json
import re
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


# (method, path) -> (operationId, every status the operation answers on purpose)
OPERATIONS = {
    ("get", "/recommend/{user_id}"): ("recommend", {200, 404, 422}),
    ("post", "/recommend"): ("recommendBatch", {200, 400, 404, 413, 422}),
    ("get", "/similar/{item_id}"): ("similarItems", {200, 404, 409, 422, 503}),
    ("post", "/score"): ("scoreItems", {200, 400, 404, 413, 422, 503}),
    ("post", "/interactions"): ("addInteractions", {201, 400, 413, 422}),
    ("get", "/users/{user_id}/interactions"): ("getUserInteractions", {200, 404, 422}),
    ("put", "/items/{item_id}"): ("putItem", {200, 400, 413, 422}),
    ("get", "/items/{item_id}"): ("getItem", {200, 404, 422}),
    ("get", "/users/{user_id}"): ("getUser", {200, 404, 422}),
    ("delete", "/users/{user_id}"): ("deleteUser", {200, 401, 403, 404, 422}),
    ("delete", "/items/{item_id}"): ("deleteItem", {200, 401, 403, 404, 422}),
    ("get", "/models"): ("listModels", {200}),
    ("get", "/models/{version}/report"): ("getModelReport", {200, 404, 422}),
    ("post", "/admin/reload"): ("reloadModel", {200, 401, 403, 409, 503}),
    ("post", "/admin/models/{version}/activate"): (
        "activateModel",
        {200, 401, 403, 404, 409, 422, 503},
    ),
    ("post", "/admin/rollback"): ("rollbackModel", {200, 401, 403, 409, 503}),
    ("get", "/health"): ("health", {200}),
    ("get", "/ready"): ("ready", {200, 503}),
    ("get", "/metrics"): ("metrics", {200}),
    ("post", "/admin/experiments"): ("createExperiment", {201, 400, 401, 403, 409, 413, 422}),
    ("get", "/experiments"): ("listExperiments", {200}),
    ("get", "/experiments/{experiment_id}"): ("getExperiment", {200, 404, 422}),
    ("post", "/admin/experiments/{experiment_id}/stop"): (
        "stopExperiment",
        {200, 400, 401, 403, 404, 409, 413, 422, 503},
    ),
}
ERROR_REF = "#/components/schemas/ErrorResponse"
# FastAPI's default: function name, path and method joined by underscores
GENERATED_ID = re.compile(r".*_(get|post|put|patch|delete|head|options)$")


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, path): op for path, ops in spec["paths"].items() for m, op in ops.items()}


def test_openapi_operation_ids_are_named_unique_and_stable(spec):
    ids = {key: op["operationId"] for key, op in _operations(spec).items()}
    assert ids == {key: named for key, (named, _) in OPERATIONS.items()}
    assert len(set(ids.values())) == len(ids)
    assert not [i for i in ids.values() if GENERATED_ID.match(i) or "_" in i]


def test_openapi_every_error_status_is_documented_with_the_error_body(spec):
    for key, op in _operations(spec).items():
        assert {int(s) for s in op["responses"]} == OPERATIONS[key][1], key
        for status, response in op["responses"].items():
            if int(status) >= 400:
                content = response["content"]["application/json"]
                assert content["schema"] == {"$ref": ERROR_REF}, (key, status)
                assert set(content["example"]["error"]) == {"code", "message"}
                assert response["description"], (key, status)


def test_openapi_error_body_is_code_and_message(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    detail = schemas["ErrorDetail"]
    assert set(detail["required"]) == set(detail["properties"]) == {"code", "message"}
    assert all(p["type"] == "string" for p in detail["properties"].values())


def test_openapi_has_no_fastapi_validation_error(spec):
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text and "ValidationError" not in text


def test_openapi_admin_key_is_a_security_scheme_of_every_admin_route(spec):
    assert spec["components"]["securitySchemes"]["AdminKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The value of RECO_ADMIN_KEY; needed by the /admin routes and the "
        "deletions only.",
    }
    for (method, path), op in _operations(spec).items():
        admin = path.startswith("/admin/") or method == "delete"
        expected = [{"AdminKey": []}] if admin else None
        assert op.get("security") == expected, path
        assert "x-api-key" not in {p["name"].lower() for p in op.get("parameters", [])}


def _request_schemas(spec: dict[str, Any]) -> set[str]:
    """Every component schema a request body reaches, following $refs."""
    schemas, seen = spec["components"]["schemas"], set()
    todo = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for op in _operations(spec).values()
        if "requestBody" in op
    ]
    while todo:
        for ref in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(todo.pop())):
            if ref not in seen:
                seen.add(ref)
                todo.append(schemas[ref])
    return seen


def test_openapi_defaulted_request_fields_are_optional_for_generated_clients(spec):
    """Not required, and no `default` keyword: openapi-typescript types a component
    property that has one as required."""
    schemas = spec["components"]["schemas"]
    reached = _request_schemas(spec)
    assert {
        "RecommendBatchIn",
        "ScoreIn",
        "InteractionIn",
        "InteractionBatchIn",
        "ItemIn",
    } <= reached
    assert schemas["RecommendBatchIn"]["required"] == ["user_ids"]
    assert schemas["InteractionIn"]["required"] == ["user_id", "item_id"]
    assert "required" not in schemas["ItemIn"]
    for name in reached:
        for field, prop in schemas[name]["properties"].items():
            assert "default" not in prop, f"{name}.{field}"
    described = schemas["RecommendBatchIn"]["properties"]["exclude_seen"]["description"]
    assert described == "Default: true."


def test_openapi_metrics_and_ready_are_typed(spec):
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert metrics["text/plain"]["schema"] == {"type": "string"}
    assert metrics["application/json"]["schema"] == {"$ref": "#/components/schemas/MetricsOut"}
    ready = spec["paths"]["/ready"]["get"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReadyOut"
    }
    assert ready["503"]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    store = spec["components"]["schemas"]["ReadyOut"]["properties"]["store"]
    assert store == {"$ref": "#/components/schemas/StoreCountsOut"}


def test_openapi_query_parameters_are_never_null(spec):
    """A query string cannot carry JSON null (a parameter is left out instead); FastAPI's
    `anyOf [..., null]` for optional parameters let schemathesis send `?exclude=0.0` as a
    "null made a number" that the server rightly reads as an id."""
    for key, op in _operations(spec).items():
        for parameter in op.get("parameters", []):
            assert "null" not in json.dumps(parameter["schema"]), (key, parameter["name"])
    exclude = next(
        p
        for p in spec["paths"]["/similar/{item_id}"]["get"]["parameters"]
        if p["name"] == "exclude"
    )
    assert exclude["schema"]["type"] == "array" and exclude["schema"]["maxItems"] == 32
    assert exclude["schema"]["items"]["maxLength"] == 128
    assert exclude["description"] and not exclude["required"]
