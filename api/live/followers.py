"""``SocialFollowers``: the room domain's :class:`~rooms.lives.Followers` over social's notifications
(every follower gets a ``live`` notification, in-app, over Socket.IO and by push)."""

from __future__ import annotations

from api.social.notifications import Notifications


class SocialFollowers:
    def __init__(self, notifications: Notifications) -> None:
        self._notifications = notifications

    async def notify_live(self, host_id: str, stream_id: str, title: str) -> None:
        await self._notifications.went_live(host_id, stream_id, title)
