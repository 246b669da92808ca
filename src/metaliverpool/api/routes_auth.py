"""Accounts: sign-up, sign-in, sign-out, who am I, and user look-up for sharing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from pydantic import AfterValidator
from sqlalchemy import select
from sqlalchemy.orm import Session

from metaliverpool.api.deps import TOKEN_COOKIE, AccountDep, ContextDep, SessionDep, token_from
from metaliverpool.api.errors import errors
from metaliverpool.api.models import Credentials, clean_text
from metaliverpool.service import accounts
from metaliverpool.service.live_access import AccessChange
from metaliverpool.store.db import User

router = APIRouter(prefix="/api", tags=["accounts"])


def _user(account: accounts.Account) -> dict[str, Any]:
    return {"user_id": account.user_id, "name": account.name, "colour": account.colour}


@router.post("/auth/signup", status_code=201, responses=errors(409, 413, 503))
def sign_up(body: Credentials, context: ContextDep) -> dict[str, Any]:
    """Create an account (409 if the name is taken, ignoring case; 422 if the password is too weak)."""
    name, password = accounts.check_credentials(body.name, body.password)
    password_hash = context.passwords.hash(password)
    account = context.db.run(lambda session: accounts.create_account(session, name, password_hash))
    return _user(account)


@router.post("/auth/signin", responses=errors(401, 413, 429, 503))
def sign_in(body: Credentials, request: Request, context: ContextDep, response: Response) -> dict[str, Any]:
    """Check name and password; returns a bearer token and sets it as an HttpOnly cookie (Secure when
    configured or when the request came over HTTPS). Too many failures for the account or the client
    address give 429 with Retry-After."""
    address = request.client.host if request.client else "unknown"
    account, token = accounts.sign_in(
        context.db, context.passwords, context.config.signin_limits, body.name, body.password, address
    )
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=int(accounts.TOKEN_LIFETIME_S),
        httponly=True,
        samesite="strict",
        secure=context.config.secure_cookies or request.url.scheme == "https",
    )
    return {"token": token, "user": _user(account)}


@router.post("/auth/signout", status_code=204, responses=errors(401))
def sign_out(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    response: Response,
    background: BackgroundTasks,
) -> None:
    """End this session (its open sockets are closed)."""
    token = token_from(request)
    if token:
        accounts.sign_out(session, token)
    response.delete_cookie(TOKEN_COOKIE)
    background.add_task(context.rooms.announce, AccessChange(user_id=account.user_id))


@router.get("/users/me", responses=errors(401))
def me(account: AccountDep) -> dict[str, Any]:
    """The signed-in user."""
    return _user(account)


def _names_starting(session: Session, prefix: str) -> list[dict[str, Any]]:
    key = prefix.lower()
    pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(User.name, User.colour)
        .where(User.name_key.like(pattern, escape="\\"))
        .order_by(User.name_key)
        .limit(20)
    ).all()
    return [{"name": name, "colour": colour} for name, colour in rows]


@router.get("/users", responses=errors(401))
def find_users(
    session: SessionDep,
    account: AccountDep,
    prefix: Annotated[str, Query(max_length=40), AfterValidator(clean_text)] = "",
) -> list[dict[str, Any]]:
    """Up to 20 user names starting with ``prefix``, ignoring case (to add members)."""
    return _names_starting(session, prefix)
