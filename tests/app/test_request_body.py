"""Request bodies take what their JSON schema says: a JSON boolean is not a number, a number
is not a boolean, a numeric string is not a number; defaults are optional and described."""

from datetime import datetime

import pytest
from pydantic import BaseModel, Field, ValidationError

from app.request_body import RequestBody


class _Body(RequestBody):
    count: int = Field(10, ge=1, description="how many")
    share: float = 1.0
    flag: bool = True
    when: float | datetime | None = None
    tags: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


@pytest.mark.parametrize(
    "data",
    [
        {"share": True},
        {"share": "1.5"},
        {"count": "10"},
        {"count": False},
        {"count": 2.5},
        {"flag": 0},
        {"flag": "yes"},
        {"when": False},
    ],
)
def test_request_body_refuses_values_of_another_json_type(data):
    with pytest.raises(ValidationError):
        _Body.model_validate(data)


def test_request_body_takes_every_value_of_its_json_type():
    body = _Body.model_validate(
        {"count": 3, "share": 2, "flag": False, "tags": {"a": 1, "b": True, "c": "x", "d": 1.5}}
    )
    assert (body.count, body.share, body.flag) == (3, 2.0, False)
    assert body.tags == {"a": 1, "b": True, "c": "x", "d": 1.5}
    assert _Body.model_validate({"when": "2024-05-01T10:00:00Z"}).when.year == 2024
    assert _Body.model_validate({"when": 1714557600}).when == 1714557600.0
    assert _Body.model_validate({"count": 117.0}).count == 117  # a JSON Schema integer


def test_request_body_schema_describes_defaults_and_requires_nothing_defaulted():
    schema = _Body.model_json_schema()
    assert "required" not in schema and schema["additionalProperties"] is False
    fields = schema["properties"]
    assert not [name for name, field in fields.items() if "default" in field]
    assert fields["count"]["description"] == "how many. Default: 10."
    assert fields["flag"]["description"] == "Default: true."
    assert "description" not in fields["tags"]  # a default_factory has no default keyword


def test_api_refuses_a_boolean_for_a_number_and_a_number_for_a_boolean(client):
    for path, body in [
        ("/interactions", {"user_id": "0", "item_id": "1", "timestamp": False}),
        ("/interactions", {"user_id": "0", "item_id": "1", "value": True}),
        ("/recommend", {"user_ids": ["0"], "exclude_seen": 0}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
    response = client.put("/items/1", json={"hidden": 0})
    assert response.status_code == 422 and "hidden" in response.json()["error"]["message"]


def test_request_body_leaves_other_models_lax():
    """A response model nested in a request body keeps its own (shared) validation."""

    class Plain(BaseModel):
        n: float

    class Holder(RequestBody):
        plain: Plain
        share: float = 1.0

    assert Holder.model_validate({"plain": {"n": 2}}).plain.n == 2.0
    assert Plain.model_validate({"n": True}).n == 1.0
    with pytest.raises(ValidationError):
        Holder.model_validate({"plain": {"n": 2}, "share": True})
