"""``/api/notifications``: list, read, read all, unread count, delete; push device registration."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from api.models import Page, PageQuery, RequestModel, ResponseModel
from api.pagination import encode_cursor
from api.routing import Routes, principal
from api.social.routes.models import Notification, id_cursor, notification_model
from api.state import SOCIAL

routes = Routes()
TAGS = ("notifications",)


class NotificationQuery(PageQuery):
    unread: bool = Field(False, description="Only unread notifications.")


class UnreadCount(ResponseModel):
    count: int
    messages: int = Field(description="Unread direct messages, across conversations.")


class Updated(ResponseModel):
    updated: int


class Device(RequestModel):
    token: Annotated[str, Field(min_length=8, max_length=512, pattern=r"^[\x21-\x7e]+$")]
    platform: Literal["android", "ios", "web"]


@routes.get("/api/notifications", query=NotificationQuery, response=Page[Notification], tags=TAGS)
async def list_notifications(request: web.Request, query: NotificationQuery) -> Page[Notification]:
    """My notifications, newest first."""
    rows = await request.app[SOCIAL].notifications.page(
        principal(request).user_id, query.limit, id_cursor(query.cursor), query.unread
    )
    items = rows[: query.limit]
    return Page[Notification](
        items=[notification_model(r) for r in items],
        next_cursor=encode_cursor([items[-1].id]) if len(rows) > query.limit else None,
    )


@routes.put("/api/notifications/read-all", response=Updated, tags=TAGS)
async def read_all_notifications(request: web.Request) -> Updated:
    """Mark every notification read."""
    return Updated(updated=await request.app[SOCIAL].notifications.mark_all_read(principal(request).user_id))


@routes.get("/api/notifications/unread-count", response=UnreadCount, tags=TAGS)
async def unread_count(request: web.Request) -> UnreadCount:
    """How many notifications and direct messages are unread."""
    me = principal(request).user_id
    social = request.app[SOCIAL]
    return UnreadCount(
        count=await social.notifications.unread_count(me), messages=await social.messaging.unread_total(me)
    )


@routes.put("/api/notifications/{notification_id}/read", status=204, tags=TAGS, errors=(404,))
async def read_notification(request: web.Request) -> None:
    """Mark one notification read."""
    await request.app[SOCIAL].notifications.mark_read(principal(request).user_id, request.match_info["notification_id"])


@routes.delete("/api/notifications/{notification_id}", status=204, tags=TAGS, errors=(404,))
async def delete_notification(request: web.Request) -> None:
    """Delete one notification."""
    await request.app[SOCIAL].notifications.delete(principal(request).user_id, request.match_info["notification_id"])


@routes.post("/api/notifications/devices", body=Device, status=204, tags=TAGS)
async def register_device(request: web.Request, body: Device) -> None:
    """Register this device's push token (FCM registration token)."""
    await request.app[SOCIAL].notifications.register_device(principal(request).user_id, body.token, body.platform)


@routes.delete("/api/notifications/devices/{token}", status=204, tags=TAGS)
async def unregister_device(request: web.Request) -> None:
    """Stop pushing to a device."""
    await request.app[SOCIAL].notifications.unregister_device(principal(request).user_id, request.match_info["token"])
