"""Size limits that agree with each other: the batch size, the longest field of each kind,
the request body cap derived from them (413 above it), and the most items one batch
recommendation answer may hold (422 above it)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError, error_body
from app.store.tables import ID_LENGTH

MAX_BATCH_INTERACTIONS = 10_000
KIND_LENGTH = 32
KIND_PATTERN = rf"^[a-z][a-z0-9_-]{{0,{KIND_LENGTH - 1}}}$"  # click, play, rating, ...
VALUE_BOUND = 1e6
# RFC 3339 with nanoseconds and a numeric offset, the longest that Go, Java or Python write
TIMESTAMP_TEXT_LENGTH = len("2099-12-31T23:59:59.999999999+14:00")


def widest_interaction() -> dict[str, object]:
    """The interaction whose JSON is the longest the schema accepts: ids of characters outside
    the BMP (12 bytes each as json.dumps escapes them), the longest kind and ISO timestamp, and
    a value whose repr is the longest a float has (24 characters)."""
    return {
        "user_id": "\U0001f600" * ID_LENGTH,
        "item_id": "\U0001f600" * ID_LENGTH,
        "value": -2.2250738585072014e-308,
        "kind": "k" * KIND_LENGTH,
        "timestamp": "2099-12-31T23:59:59.999999999+14:00",
    }


def batch_body_bytes(count: int) -> int:
    """Bytes of a POST /interactions batch of `count` widest interactions as
    `json.dumps(body, indent=2)` writes it (compact or UTF-8 JSON is smaller)."""
    row = widest_interaction()
    one = len(json.dumps({"interactions": [row]}, indent=2))
    two = len(json.dumps({"interactions": [row, row]}, indent=2))
    return one + (count - 1) * (two - one)


# Every batch the schema accepts fits, pretty-printed: the cap never refuses a valid batch.
DEFAULT_MAX_BODY_BYTES = batch_body_bytes(MAX_BATCH_INTERACTIONS)
DEFAULT_MAX_BATCH_ITEMS = 100_000


class LimitExceeded(ApiError):
    """A request whose fields are each within bounds but whose product is not."""

    status_code = 422
    code = "validation_error"


def check_batch_items(users: int, k: int, limit: int) -> None:
    """Refuse a POST /recommend whose answer would hold more than `limit` items."""
    if users * k > limit:
        raise LimitExceeded(
            f"users x k must be at most {limit:,} items per answer (RECO_MAX_BATCH_ITEMS); "
            f"got {users:,} users x k={k:,} = {users * k:,}: ask for fewer users or a smaller k"
        )


class BodyTooLarge(StarletteHTTPException):
    """A streamed body past the cap. An HTTP exception, so that FastAPI, which turns any other
    error raised while it reads a body into a 400, lets it through to the 413 handler."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes`, by Content-Length or while streaming chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body("payload_too_large", f"request body exceeds {self.max_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
