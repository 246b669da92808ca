"""Request dependencies: the server context, a database session and the signed-in account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from metaliverpool.api.context import ServerContext
from metaliverpool.service.accounts import Account, resolve_token

TOKEN_COOKIE = "ml_token"
"""Cookie holding the bearer token for browsers (HttpOnly, SameSite=Strict)."""


def get_context(request: Request) -> ServerContext:
    """The server context of the app handling ``request``."""
    context: ServerContext = request.app.state.context
    return context


def get_session(context: Annotated[ServerContext, Depends(get_context)]) -> Iterator[Session]:
    """A session committed when the handler returns without error."""
    with context.db.session() as session:
        yield session


def token_from(request: Request) -> str | None:
    """The bearer token of a request: ``Authorization: Bearer ...`` first, else the cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(TOKEN_COOKIE)


def current_account(
    request: Request, session: Annotated[Session, Depends(get_session, scope="function")]
) -> Account:
    """The signed-in account (401 otherwise)."""
    return resolve_token(session, token_from(request))


ContextDep = Annotated[ServerContext, Depends(get_context)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""A session committed before the response is sent (so a client's next request sees the change)."""
AccountDep = Annotated[Account, Depends(current_account)]
