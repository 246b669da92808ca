"""Accounts: sign-up, sign-in, sign-out, who am I, and user look-up for sharing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from sqlalchemy import select

from metaliverpool.api.deps import TOKEN_COOKIE, AccountDep, ContextDep, SessionDep, token_from
from metaliverpool.api.models import Credentials
from metaliverpool.service import accounts
from metaliverpool.service.live_access import AccessChange
from metaliverpool.store.db import User

router = APIRouter(prefix="/api", tags=["accounts"])


def _user(account: accounts.Account) -> dict[str, Any]:
    return {"user_id": account.user_id, "name": account.name, "colour": account.colour}


@router.post("/auth/signup", status_code=201)
def sign_up(body: Credentials, context: ContextDep, session: SessionDep) -> dict[str, Any]:
    """Create an account (409 if the name is taken)."""
    return _user(accounts.sign_up(session, context.hasher, body.name, body.password))


@router.post("/auth/signin")
def sign_in(
    body: Credentials, context: ContextDep, session: SessionDep, response: Response
) -> dict[str, Any]:
    """Check name and password; returns a bearer token and sets it as an HttpOnly cookie."""
    account, token = accounts.sign_in(session, context.hasher, body.name, body.password)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=int(accounts.TOKEN_LIFETIME_S),
        httponly=True,
        samesite="strict",
        secure=context.config.secure_cookies,
    )
    return {"token": token, "user": _user(account)}


@router.post("/auth/signout", status_code=204)
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


@router.get("/users/me")
def me(account: AccountDep) -> dict[str, Any]:
    """The signed-in user."""
    return _user(account)


@router.get("/users")
def find_users(session: SessionDep, account: AccountDep, prefix: str = "") -> list[dict[str, Any]]:
    """Up to 20 user names starting with ``prefix`` (to add members)."""
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(User.name, User.colour)
        .where(User.name.like(pattern, escape="\\"))
        .order_by(User.name)
        .limit(20)
    ).all()
    return [{"name": name, "colour": colour} for name, colour in rows]
