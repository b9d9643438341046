"""``/api/settings``: the settings document, and its privacy and notification sections."""

from __future__ import annotations

from aiohttp import web

from api.models import RequestModel
from api.routing import Routes, principal
from api.social.settings import NotificationToggles, Privacy, SettingsDocument, WhoCanMessage
from api.state import SOCIAL

routes = Routes()
TAGS = ("settings",)


class PrivacyChanges(RequestModel):
    private_account: bool | None = None
    who_can_message: WhoCanMessage | None = None
    show_activity: bool | None = None


class NotificationChanges(RequestModel):
    follows: bool | None = None
    likes: bool | None = None
    comments: bool | None = None
    mentions: bool | None = None
    messages: bool | None = None
    gifts: bool | None = None
    orders: bool | None = None
    pk_invites: bool | None = None
    live: bool | None = None
    push: bool | None = None


@routes.get("/api/settings", response=SettingsDocument, tags=TAGS)
async def get_settings(request: web.Request) -> SettingsDocument:
    """My settings document (defaults until I change something)."""
    return await request.app[SOCIAL].settings.get(principal(request).user_id)


@routes.put("/api/settings", body=SettingsDocument, response=SettingsDocument, tags=TAGS, errors=(422,))
async def put_settings(request: web.Request, body: SettingsDocument) -> SettingsDocument:
    """Replace the whole document (sections left out return to their defaults)."""
    return await request.app[SOCIAL].settings.replace(principal(request).user_id, body)


@routes.put("/api/settings/privacy", body=PrivacyChanges, response=Privacy, tags=TAGS, errors=(422,))
async def put_privacy(request: web.Request, body: PrivacyChanges) -> Privacy:
    """Change privacy settings; fields left out keep their value."""
    changes = body.model_dump(mode="json", exclude_none=True)
    document = await request.app[SOCIAL].settings.update_section(principal(request).user_id, "privacy", changes)
    return document.privacy


@routes.put(
    "/api/settings/notifications",
    body=NotificationChanges,
    response=NotificationToggles,
    tags=TAGS,
    errors=(422,),
)
async def put_notifications(request: web.Request, body: NotificationChanges) -> NotificationToggles:
    """Turn kinds of notifications on or off; fields left out keep their value."""
    changes = body.model_dump(mode="json", exclude_none=True)
    document = await request.app[SOCIAL].settings.update_section(principal(request).user_id, "notifications", changes)
    return document.notifications
