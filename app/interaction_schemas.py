"""The POST /interactions body: one interaction, or a batch of them. A body with an
`interactions` key is read as a batch and anything else as one interaction, so a bad body
gets the errors of the shape it was read as (`batch.interactions.3.user_id: ...` or
`interaction.user_id: ...`), never a mix of both."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
)

from app.experiments.assignment import RECOMMENDATION_ID_PATTERN
from app.ids import ExternalId
from app.limits import KIND_PATTERN, MAX_BATCH_INTERACTIONS, TIMESTAMP_TEXT_LENGTH, VALUE_BOUND
from app.request_body import RequestBody

MIN_TIMESTAMP, MAX_TIMESTAMP = 0.0, 4_102_444_800.0  # 1970-01-01 .. 2100-01-01
# The schema states the range too, so that no request valid by the spec is refused: unix
# seconds by bounds; ISO text by its year, 1971 to 2098, inside the range whatever its offset
# (the server also takes 1970 and 2100 moments inside the range).
UnixSeconds = Annotated[
    float, WithJsonSchema({"type": "number", "minimum": MIN_TIMESTAMP, "maximum": MAX_TIMESTAMP})
]
IsoTimestamp = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^(?:197[1-9]|19[89][0-9]|20[0-8][0-9]|209[0-8])-",
            "maxLength": TIMESTAMP_TEXT_LENGTH,
        }
    ),
]


class InteractionIn(RequestBody):
    """One event: a rating, click, play or purchase."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "196", "item_id": "242", "value": 4.0, "kind": "rating"}]
        },
    )
    user_id: ExternalId
    item_id: ExternalId
    value: float = Field(1.0, ge=-VALUE_BOUND, le=VALUE_BOUND)
    kind: str = Field(
        "interaction",
        pattern=KIND_PATTERN,
        description="rating (value is the rating), or any event kind: click, play, purchase...",
    )
    timestamp: UnixSeconds | IsoTimestamp | None = Field(
        None,
        description="unix seconds from 1970 to 2100, or ISO-8601 text of the years 1971 to 2098 "
        f"(at most {TIMESTAMP_TEXT_LENGTH} characters: nanoseconds and an offset); default: now",
    )

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @field_validator("timestamp", mode="before")
    @classmethod
    def _short_text(cls, value: object) -> object:
        """ISO-8601 text has a longest form; without a bound, any digits of a fraction pass
        and no body cap could promise that a full batch fits."""
        if isinstance(value, str) and len(value) > TIMESTAMP_TEXT_LENGTH:
            raise ValueError(
                f"an ISO-8601 timestamp is at most {TIMESTAMP_TEXT_LENGTH} characters "
                f"(got {len(value)})"
            )
        return value

    @field_validator("timestamp")
    @classmethod
    def _in_range(cls, value: float | datetime | None) -> float | datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # no offset means UTC, never the server's zone
        seconds = value.timestamp() if isinstance(value, datetime) else value
        if seconds is not None and not MIN_TIMESTAMP <= seconds <= MAX_TIMESTAMP:
            raise ValueError("timestamp must be between 1970 and 2100")
        return value

    recommendation_id: str | None = Field(
        None,
        pattern=RECOMMENDATION_ID_PATTERN,
        description="the `recommendation_id` of the /recommend answer that led to this event: "
        "attributes it to that list's experiment arm",
    )

    def row(self) -> dict[str, object]:
        """The store row, with the timestamp as unix seconds (now when absent)."""
        stamp = self.timestamp
        seconds = stamp.timestamp() if isinstance(stamp, datetime) else stamp
        return {
            "user_id": self.user_id,
            "item_id": self.item_id,
            "value": self.value,
            "kind": self.kind,
            "timestamp": time.time() if seconds is None else seconds,
        }


class InteractionBatchIn(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"interactions": [{"user_id": "196", "item_id": "242", "value": 4}]}]
        },
    )
    interactions: list[InteractionIn] = Field(min_length=1, max_length=MAX_BATCH_INTERACTIONS)

    @field_validator("interactions", mode="before")
    @classmethod
    def _at_most_the_limit(cls, value: object) -> object:
        """Count before reading any row: an oversized batch gets one error naming the limit,
        not one per bad row as well."""
        if isinstance(value, list) and len(value) > MAX_BATCH_INTERACTIONS:
            raise ValueError(
                f"a batch holds at most {MAX_BATCH_INTERACTIONS:,} interactions "
                f"(got {len(value):,}); split it"
            )
        return value


def _shape(body: object) -> str:
    """`batch` for a JSON object with an `interactions` key, else `interaction`."""
    return "batch" if isinstance(body, dict) and "interactions" in body else "interaction"


InteractionsBody = Annotated[
    Annotated[InteractionIn, Tag("interaction")] | Annotated[InteractionBatchIn, Tag("batch")],
    Discriminator(_shape),
]
