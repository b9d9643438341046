"""Media tokens: JWTs (RFC 7519, HS256) that carry a grant for one stream, in the manner of LiveKit's
VideoGrant. They have their own audience, so an API access token is never a media token and vice versa."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from api.problems import Forbidden, Unauthorized
from store.ids import new_id

ISSUER = "mixillo"
MEDIA_AUDIENCE = "mixillo:media"
LEEWAY_S = 10


@dataclass(frozen=True, slots=True)
class MediaGrant:
    """What the holder may do with one stream (LiveKit: room, canPublish, canSubscribe, roomAdmin)."""

    stream_id: str
    publisher: str = "host"  # the slot a publish grant is for: "host", or a co-host's name
    can_publish: bool = False
    can_subscribe: bool = True
    room_admin: bool = False
    replace: bool = False  # may take over a slot that already has a publisher (reconnects)


@dataclass(frozen=True, slots=True)
class MediaIdentity:
    identity: str  # who (a user id, or "anonymous")
    grant: MediaGrant


class MediaTokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def mint(self, identity: str, grant: MediaGrant, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "aud": MEDIA_AUDIENCE,
            "sub": identity,
            "iat": issued,
            "exp": issued + self.ttl_s,
            "jti": new_id(),
            "video": {
                "stream": grant.stream_id,
                "publisher": grant.publisher,
                "canPublish": grant.can_publish,
                "canSubscribe": grant.can_subscribe,
                "roomAdmin": grant.room_admin,
                "replace": grant.replace,
            },
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> MediaIdentity:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], audience=MEDIA_AUDIENCE, issuer=ISSUER,
                leeway=LEEWAY_S, options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
            video = claims["video"]
            grant = MediaGrant(
                stream_id=str(video["stream"]), publisher=str(video.get("publisher", "host")),
                can_publish=bool(video.get("canPublish")), can_subscribe=bool(video.get("canSubscribe")),
                room_admin=bool(video.get("roomAdmin")), replace=bool(video.get("replace")),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the media token has expired", slug="token-expired") from None
        except (jwt.PyJWTError, KeyError, TypeError):
            raise Unauthorized("the media token is not valid", slug="invalid-media-token") from None
        return MediaIdentity(str(claims["sub"]), grant)


def require(identity: MediaIdentity, stream_id: str, *, publish: bool) -> MediaGrant:
    """The grant, if it covers this stream and action (RFC 9725 §4.5: authorized, else 403)."""
    grant = identity.grant
    if grant.stream_id != stream_id and not (grant.room_admin and grant.stream_id == "*"):
        raise Forbidden(f"this media token is for stream {grant.stream_id!r}", slug="wrong-stream")
    if publish and not grant.can_publish:
        raise Forbidden("this media token does not grant publishing", slug="publish-not-granted")
    if not publish and not grant.can_subscribe:
        raise Forbidden("this media token does not grant subscribing", slug="subscribe-not-granted")
    return grant
