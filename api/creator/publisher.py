"""What the scheduler does when an item comes due, done through the social domains.

A scheduled post names an upload the creator already made (``content_id``): the content service probed and
packaged it, and :class:`~api.social.drafts.Drafts` keeps it hidden until it is due, then publishes it once. A
post with only a caption cannot become content (the content domain has video and image posts, no text posts),
so when it is due the creator gets a notification holding the caption, to post it themselves. A live's
reminder goes to the creator and to every follower in the social follow graph.
"""

from __future__ import annotations

from typing import Any

from api.creator.scheduling import DueItem, Followers
from api.social.drafts import Drafts
from api.social.notifications import Kind, Notifications


class SocialPublisher:
    def __init__(self, drafts: Drafts, notifications: Notifications, followers: Followers) -> None:
        self._drafts = drafts
        self._notifications = notifications
        self.followers = followers

    async def hold(self, owner_id: str, payload: dict[str, Any]) -> None:
        if payload.get("content_id"):
            await self._drafts.hold(owner_id, payload["content_id"])

    async def release(self, owner_id: str, payload: dict[str, Any]) -> None:
        if payload.get("content_id"):
            await self._drafts.release(payload["content_id"])

    async def publish_post(self, item: DueItem) -> str | None:
        data = {"scheduled_id": item.id, **item.payload}
        content_id = item.payload.get("content_id")
        if not content_id:
            await self._notifications.notify(
                Kind.SCHEDULE, item.owner_id, subject_id=item.id, text=f"Time to post: {item.title}", data=data
            )
            return None
        published = await self._drafts.publish(item.owner_id, content_id, item.payload.get("caption") or None)
        await self._notifications.notify(
            Kind.SCHEDULE, item.owner_id, subject_id=item.id, text=f"Your scheduled post is live: {item.title}",
            data=data,
        )
        return published

    async def announce_live(self, item: DueItem) -> None:
        data = {"scheduled_id": item.id, "creator_id": item.owner_id, "starts_at": item.due_at.isoformat()}
        for follower in await self.followers(item.owner_id):
            await self._notifications.notify(
                Kind.LIVE, follower, actor_id=item.owner_id, subject_id=item.id, text=f"Live soon: {item.title}",
                data=data,
            )
        await self._notifications.notify(
            Kind.SCHEDULE, item.owner_id, subject_id=item.id, text=f"Your live starts soon: {item.title}", data=data
        )
