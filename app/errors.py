"""Domain errors, the one error body every failure is sent as ({"error": {"code", "message"}},
`ErrorResponse`), the handlers that produce it and the `responses=` that document it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

try:  # FastAPI 0.16x includes routers lazily: app.routes holds the included routers
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI (pyproject allows >= 0.110) copies their routes in

    def iter_route_contexts(routes: list[Any]) -> list[Any]:
        return routes


log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and a human message."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "unavailable"


class ErrorDetail(BaseModel):
    """What went wrong: a code for programs, a message for people."""

    code: str = Field(
        description="stable machine code: bad_request, unauthorized, forbidden, not_found, "
        "bundle_invalid, not_supported, payload_too_large, validation_error, unavailable, ..."
    )
    message: str = Field(description="what went wrong, naming the bad value")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON of an `ErrorResponse`, for the handlers and middleware that send one."""
    return ErrorResponse(error=ErrorDetail(code=code, message=message)).model_dump()


# why each status is sent, with an example body, for the OpenAPI document
_DOCUMENTED: dict[int, tuple[str, str, str]] = {
    400: (
        "The body is not JSON text (e.g. not UTF-8)",
        "bad_request",
        "There was an error parsing the body",
    ),
    401: ("No X-API-Key header", "unauthorized", "missing X-API-Key header"),
    403: (
        "Wrong X-API-Key, or admin routes are disabled (RECO_ADMIN_KEY unset)",
        "forbidden",
        "wrong X-API-Key",
    ),
    404: ("An unknown user, item, model or bundle, named", "not_found", "unknown item 'x'"),
    409: (
        "The bundle is damaged or absent, or the model cannot do this",
        "bundle_invalid",
        "bundle 20260101T000000000000Z-mf refused: items.npy: sha256 mismatch",
    ),
    413: (
        "The body is larger than RECO_MAX_BODY_BYTES",
        "payload_too_large",
        "request body exceeds 1048576 bytes",
    ),
    422: (
        "Invalid parameters or body; every bad field named",
        "validation_error",
        "query.k: Input should be greater than or equal to 1",
    ),
    503: (
        "No model is loaded, or the store does not answer",
        "unavailable",
        "store unavailable: OperationalError",
    ),
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that sends these error statuses: each with `ErrorResponse`,
    why it is sent and an example. Documenting 422 this way also keeps FastAPI from adding
    its own `HTTPValidationError`, a body this service never sends."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, code, message = _DOCUMENTED[status]
        documented[status] = {
            "model": ErrorResponse,
            "description": description,
            "content": {"application/json": {"example": error_body(code, message)}},
        }
    return documented


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception type to the JSON error envelope; never leak a stack trace."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("validation_error", _validation_message(exc)), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", "internal server error"), status_code=500)


def _allowed_methods(request: Request) -> str:
    """Every method of every route on this path: Starlette's 405 names only the first route
    that matched the path (PUT /items/{item_id} but not its GET), which is not the truth."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):  # included routers' routes too
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()  # a Mount has none
    return ", ".join(sorted(methods))
