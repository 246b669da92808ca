"""HTTP answers for the errors the services raise, one JSON ``{"detail": message}`` each, and their
documentation in the OpenAPI schema (:func:`errors` for a route's ``responses``).

Validation errors of requests keep FastAPI's shape (``{"detail": [{"loc", "msg", "type"}]}``) without
echoing the input back; every 422 in the schema says it is either shape. Error bodies are written with
non-ASCII characters escaped, so no input (a lone surrogate) can make an error unencodable.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from metaliverpool.api.models import ErrorBody
from metaliverpool.errors import InputError
from metaliverpool.service.access import AccessDenied, AuthRequired, Conflict, NotFound
from metaliverpool.service.passwords import HashingBusy
from metaliverpool.service.rate_limits import TooManyRequests
from metaliverpool.service.rate_windows import TooManyAttempts
from metaliverpool.store.db import StoreBusy

STATUS_OF: dict[type[Exception], int] = {
    InputError: 422,
    AuthRequired: 401,
    AccessDenied: 403,
    NotFound: 404,
    Conflict: 409,
    StoreBusy: 409,
    TooManyAttempts: 429,
    TooManyRequests: 429,
    HashingBusy: 503,
}
"""HTTP status of each service error."""

DESCRIPTIONS = {
    401: "Not signed in, or the session expired",
    403: "Signed in, but the role is too weak",
    404: "Not found (or private to others)",
    409: "Conflicts with the current state (a name taken, or too many concurrent changes: try again)",
    413: "Request body too large",
    429: "Too many attempts for this account, visitor or address, or requests to the public map "
    "(see Retry-After)",
    503: "Busy checking other passwords (see Retry-After)",
}


class ErrorResponse(JSONResponse):
    """JSON with non-ASCII characters escaped (always encodable)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route that may refuse with ``codes`` (each an :class:`ErrorBody`)."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def _retry_after(error: Exception) -> dict[str, str] | None:
    seconds = getattr(error, "retry_after_s", None)
    return None if seconds is None else {"Retry-After": str(int(seconds))}


def install_error_handlers(app: FastAPI) -> None:
    """Turn service errors into HTTP errors with a message, and document them in the OpenAPI schema."""

    for error_type, status in STATUS_OF.items():

        async def handle(_request: Request, error: Exception, status: int = status) -> ErrorResponse:
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else _retry_after(error)
            return ErrorResponse({"detail": str(error)}, status_code=status, headers=headers)

        app.add_exception_handler(error_type, handle)

    async def invalid_request(_request: Request, error: Exception) -> ErrorResponse:
        assert isinstance(error, RequestValidationError)
        issues = [
            {"loc": list(issue["loc"]), "msg": str(issue["msg"]), "type": str(issue["type"])}
            for issue in error.errors()
        ]
        return ErrorResponse({"detail": issues}, status_code=422)

    async def http_error(_request: Request, error: Exception) -> ErrorResponse:
        assert isinstance(error, HTTPException)
        return ErrorResponse(
            {"detail": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_validation_errors(
                get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_validation_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every refusal documented as JSON: 422 as a validation error or a service's
    :class:`ErrorBody`, every other 4xx as an :class:`ErrorBody` (whatever the success's media type), and
    400 on every operation with a request body (a body that is not UTF-8 text cannot be parsed)."""
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    either = {
        "anyOf": [
            {"$ref": "#/components/schemas/HTTPValidationError"},
            {"$ref": "#/components/schemas/ErrorBody"},
        ]
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses["400"] = {"description": "The body could not be parsed", "content": error_body}
            for status, answer in responses.items():
                if status == "422":
                    answer["content"] = {"application/json": {"schema": either}}
                    answer["description"] = "Invalid input: the field and what was expected"
                elif status.startswith("4") or status.startswith("5"):
                    answer["content"] = error_body
    return schema
