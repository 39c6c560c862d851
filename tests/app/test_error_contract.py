"""What the server sends matches what its OpenAPI document promises: the error model for
every error, the methods a path allows, the typed /metrics and /ready bodies."""

from app.errors import ErrorResponse
from app.ids import ID_RULE
from app.routes.ops import MetricsOut
from app.schemas import ReadyOut


def _error(response, status: int, code: str) -> ErrorResponse:
    assert response.status_code == status, response.text
    error = ErrorResponse.model_validate(response.json())
    assert error.error.code == code and error.error.message
    return error


def test_method_not_allowed_names_every_method_of_the_path(client):
    """GET, PUT and DELETE share /items/{item_id}: the Allow header names all, not the first."""
    response = client.request("OPTIONS", "/items/1")
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET, PUT"
    assert client.delete("/recommend").headers["allow"] == "POST"


def test_body_that_is_not_json_text_is_a_400_error(client):
    response = client.put(
        "/items/1", content=b"\xff)", headers={"content-type": "application/json"}
    )
    _error(response, 400, "bad_request")


def test_admin_key_header_is_read_through_the_security_scheme(client, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "admin_key", "k3y")
    _error(client.post("/admin/reload"), 401, "unauthorized")
    _error(client.post("/admin/reload", headers={"X-API-Key": "nope"}), 403, "forbidden")
    assert client.post("/admin/reload", headers={"X-API-Key": "k3y"}).status_code == 200


def test_metrics_json_and_ready_match_their_models(client):
    samples = client.get("/metrics", headers={"accept": "application/json"}).json()
    assert "reco_model_info" in MetricsOut.model_validate(samples).root
    ready = ReadyOut.model_validate(client.get("/ready").json())
    assert ready.ready and ready.store.users > 0


def test_activate_refuses_an_overlong_version_as_documented(client, monkeypatch):
    """activateModel documents 422: a version longer than any bundle name can be."""
    monkeypatch.setattr(client.app.state.settings, "admin_key", "k3y")
    key = {"X-API-Key": "k3y"}
    _error(client.post(f"/admin/models/{'v' * 129}/activate", headers=key), 422, "validation_error")
    _error(client.post(f"/admin/models/{'v' * 128}/activate", headers=key), 404, "not_found")


def test_recommend_validates_its_hand_read_model_parameter_as_documented(client):
    """GET /recommend reads `model` with its page by hand (no FastAPI dependency): the same
    limit as every other route's `?model=`, and the parameter stays in its OpenAPI entry."""
    _error(client.get(f"/recommend/0?model={'m' * 129}"), 422, "validation_error")
    _error(client.get(f"/similar/1?model={'m' * 129}"), 422, "validation_error")
    assert client.get("/recommend/0?model=mf").json()["model"] == "mf"
    spec = client.get("/openapi.json").json()
    parameters = spec["paths"]["/recommend/{user_id}"]["get"]["parameters"]
    [model] = [p for p in parameters if p["name"] == "model"]
    assert model["schema"]["maxLength"] == 128 and model["in"] == "query"


def test_recommend_refuses_an_invalid_user_id_as_every_id_path_does(client):
    """GET /recommend, whose page and model are read by hand, still refuses an invalid user
    id with the 422 of every id path parameter (naming the parameter and the id rule), and
    declares it as every id path parameter is declared."""
    for bad in ("a,b", "x" * 129, "a%7F"):
        refused = _error(client.get(f"/recommend/{bad}"), 422, "validation_error")
        item_refused = _error(client.get(f"/similar/{bad}"), 422, "validation_error")
        assert refused.error.message == item_refused.error.message.replace("item_id", "user_id")
        assert ID_RULE in refused.error.message and "user_id" in refused.error.message
    spec = client.get("/openapi.json").json()["paths"]
    [user] = [p for p in spec["/recommend/{user_id}"]["get"]["parameters"] if p["in"] == "path"]
    [item] = [p for p in spec["/similar/{item_id}"]["get"]["parameters"] if p["in"] == "path"]
    assert user["name"] == "user_id" and user["required"] and user["schema"]["examples"]
    drop = ("name", "schema")
    assert {k: v for k, v in user.items() if k not in drop} == {
        k: v for k, v in item.items() if k not in drop
    }
    assert {**user["schema"], "title": "", "examples": []} == {
        **item["schema"],
        "title": "",
        "examples": [],
    }
