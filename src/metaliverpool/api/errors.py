"""HTTP answers for the errors the services raise: one JSON ``{"detail": message}`` each."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from metaliverpool.errors import InputError
from metaliverpool.service.access import AccessDenied, AuthRequired, Conflict, NotFound

STATUS_OF = {InputError: 422, AuthRequired: 401, AccessDenied: 403, NotFound: 404, Conflict: 409}
"""HTTP status of each service error."""


def install_error_handlers(app: FastAPI) -> None:
    """Turn service errors into HTTP errors with a message."""

    for error_type, status in STATUS_OF.items():

        async def handle(_request: Request, error: Exception, status: int = status) -> JSONResponse:
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)

        app.add_exception_handler(error_type, handle)
