"""``/api/auth``: the seed's register, login, refresh, logout and me."""

from __future__ import annotations

from aiohttp import web

from api.auth.accounts import Issued
from api.auth.models import Account, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest, Session
from api.auth.tokens import Role
from api.routing import Access, Limit, Routes, principal
from api.state import ACCESS_TOKENS, ACCOUNTS

routes = Routes()
TAGS = ("auth",)


def _session(request: web.Request, issued: Issued) -> Session:
    accounts = request.app[ACCOUNTS]
    return Session(
        access_token=issued.access_token,
        expires_in=request.app[ACCESS_TOKENS].ttl_s,
        refresh_token=issued.refresh_token,
        refresh_expires_in=int(accounts.refresh_ttl.total_seconds()),
        user=Account.model_validate(issued.user),
    )


@routes.post(
    "/api/auth/register", body=RegisterRequest, response=Session, status=201,
    access=Access.PUBLIC, limit=Limit.AUTH, tags=TAGS, errors=(409,),
)
async def register(request: web.Request, body: RegisterRequest) -> Session:
    """Create an account and sign in."""
    issued = await request.app[ACCOUNTS].register(
        body.username, body.email, body.password, body.display_name, Role(body.account_type)
    )
    return _session(request, issued)


@routes.post(
    "/api/auth/login", body=LoginRequest, response=Session,
    access=Access.PUBLIC, limit=Limit.AUTH, tags=TAGS, errors=(401, 403),
)
async def login(request: web.Request, body: LoginRequest) -> Session:
    """Sign in with a username or email and a password."""
    return _session(request, await request.app[ACCOUNTS].login(body.login, body.password))


@routes.post(
    "/api/auth/refresh", body=RefreshRequest, response=Session,
    access=Access.PUBLIC, limit=Limit.AUTH, tags=TAGS, errors=(401, 403),
)
async def refresh(request: web.Request, body: RefreshRequest) -> Session:
    """Trade a refresh token for a new access token and a new refresh token (the old one is spent)."""
    return _session(request, await request.app[ACCOUNTS].refresh(body.refresh_token))


@routes.post(
    "/api/auth/logout", body=LogoutRequest, status=204,
    access=Access.PUBLIC, limit=Limit.AUTH, tags=TAGS, errors=(401,),
)
async def logout(request: web.Request, body: LogoutRequest) -> None:
    """End the session the refresh token belongs to."""
    await request.app[ACCOUNTS].logout(body.refresh_token)


@routes.get("/api/auth/me", response=Account, tags=TAGS, errors=(401,))
async def me(request: web.Request) -> Account:
    """The signed-in account."""
    row = await request.app[ACCOUNTS].get(principal(request).user_id)
    return Account.model_validate(row)
