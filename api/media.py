"""``/api/media``: media tokens for WHIP and WHEP.

Until live streams have owners in the database, a creator owns the stream ids ``<user id>`` and
``<user id>-<anything>``; admins may mint for any stream. Anyone signed in may mint a subscribe token.
(WHEP also plays public streams without a token; see ``MIXILLO_MEDIA_ANONYMOUS_WHEP``.)
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from api.auth.tokens import Role
from api.models import RequestModel, ResponseModel
from api.problems import Forbidden
from api.routing import Access, Routes, principal
from api.state import ACCOUNTS, MEDIA_TOKENS
from signaling.tokens import MediaGrant

routes = Routes()
TAGS = ("media",)
Name = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class MediaTokenRequest(RequestModel):
    stream_id: Name
    publish: bool = False
    publisher: Name = "host"
    replace: bool = False


class MediaToken(ResponseModel):
    token: str
    expires_in: int
    stream_id: str
    publisher: str
    can_publish: bool
    whip_url: str | None
    whep_url: str


@routes.post("/api/media/tokens", body=MediaTokenRequest, response=MediaToken, status=201,
             access=Access.USER, tags=TAGS, errors=(401, 403))
async def mint_media_token(request: web.Request, body: MediaTokenRequest) -> MediaToken:
    """Mint a media token: publish (creators, for their own streams) or subscribe (anyone signed in)."""
    who = principal(request)
    if body.publish:
        if who.role not in (Role.CREATOR, Role.ADMIN):
            raise Forbidden("only creator accounts can publish", slug="not-a-creator")
        own = body.stream_id == who.user_id or body.stream_id.startswith(who.user_id + "-")
        if not own and not who.is_admin:
            raise Forbidden("you can publish only to your own streams (<your id> or <your id>-...)",
                            slug="not-your-stream")
        if body.publisher != "host" and not who.is_admin:
            raise Forbidden("co-host slots are granted by the live room", slug="not-your-slot")
        # An access token outlives a ban by up to its TTL; the account's status is the truth.
        if (await request.app[ACCOUNTS].get(who.user_id)).status == "banned":
            raise Forbidden("this account is suspended and cannot go live", slug="account-suspended")
    grant = MediaGrant(
        stream_id=body.stream_id, publisher=body.publisher, can_publish=body.publish, can_subscribe=True,
        room_admin=who.is_admin, replace=body.publish and body.replace,
    )
    tokens = request.app[MEDIA_TOKENS]
    return MediaToken(
        token=tokens.mint(who.user_id, grant), expires_in=tokens.ttl_s, stream_id=body.stream_id,
        publisher=body.publisher, can_publish=body.publish,
        whip_url=f"/whip/{body.stream_id}" if body.publish else None,
        whep_url=f"/whep/{body.stream_id}" + ("" if body.publisher == "host" else f"/{body.publisher}"),
    )
