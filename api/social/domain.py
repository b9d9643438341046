"""The social domains wired together: built once by the composition root, closed with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from api.config import ConfigError, Settings
from api.events import EventPublisher
from api.social.activity import Activity, Observer
from api.social.content import Contents
from api.social.feed import Feed
from api.social.feed_cache import FeedCache
from api.social.media import MediaFiles
from api.social.messaging import Messaging
from api.social.notifications import Notifications
from api.social.profiles import Profiles
from api.social.push import FcmPush, PushProvider, RecordingPush, ServiceAccount
from api.social.search import Search
from api.social.settings import UserSettings
from api.social.sounds import Sounds
from api.social.stories import Stories
from api.social.trending import Trending
from api.social.vod import FfmpegPackager, VodJobs, VodPackager
from store.database import Database

log = logging.getLogger(__name__)


def _service_account(path: Path) -> ServiceAccount:
    try:
        return ServiceAccount.from_file(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"MIXILLO_FCM_SERVICE_ACCOUNT: {exc}") from None


@dataclass
class Social:
    files: MediaFiles
    uploads: Path
    settings: UserSettings
    notifications: Notifications
    profiles: Profiles
    contents: Contents
    feed: Feed
    messaging: Messaging
    stories: Stories
    sounds: Sounds
    activity: Activity
    trending: Trending
    search: Search
    _housekeeper: asyncio.Task[None] | None = field(default=None, init=False)

    @classmethod
    def create(
        cls,
        db: Database,
        config: Settings,
        events: EventPublisher,
        *,
        packager: VodPackager | None = None,
        push: PushProvider | None = None,
        locate: Callable[[str], str] | None = None,
    ) -> Social:
        """``packager`` turns uploaded videos into HLS (default: :class:`FfmpegPackager`); ``locate`` maps a
        media key to its URL (default: ``/media/<key>``, served from the data dir's media directory)."""
        files = MediaFiles(config.media_dir, locate)
        uploads = config.data_dir / "uploads"
        if push is None:
            account = config.fcm_service_account
            push = FcmPush(_service_account(account)) if account else RecordingPush()
        notifications = Notifications(db, events, push)
        jobs = VodJobs(db, packager or FfmpegPackager(files), files)
        messaging = Messaging(db, events, notifications)
        # Other nodes' changes do not reach this cache: with several, re-check visibility and keep it short.
        several = config.redis_url is not None
        ttl_s = min(2.0, config.feed_cache_ttl_s) if several else config.feed_cache_ttl_s
        cache = FeedCache(size=config.feed_cache_size, ttl_s=ttl_s, recheck=several)
        settings, profiles = UserSettings(db), Profiles(db, notifications)
        contents = Contents(db, files, uploads, jobs, notifications, config.content_max_video_s)
        settings.feed_cache = profiles.feed_cache = contents.feed_cache = jobs.feed_cache = cache
        return cls(
            files=files,
            uploads=uploads,
            settings=settings,
            notifications=notifications,
            profiles=profiles,
            contents=contents,
            feed=Feed(db, cache),
            messaging=messaging,
            stories=Stories(db, notifications, messaging, events),
            sounds=Sounds(db, files, config.sound_max_duration_s),
            activity=Activity(db),
            trending=Trending(db),
            search=Search(db),
        )

    def observe(self, observer: Observer) -> None:
        """Tell ``observer`` of every view, like, comment, share, follow and unfollow once it has committed."""
        self.contents.observer = self.profiles.observer = self.activity.observer = observer

    async def start(self, housekeeping_s: float = 3600.0) -> None:
        await self.contents.jobs.recover(self.uploads)
        self._housekeeper = asyncio.create_task(self._housekeeping(housekeeping_s), name="social-housekeeping")

    async def housekeeping(self) -> dict[str, int]:
        """Remove expired stories and past hours' view marks; returns how many rows of each went."""
        return {"stories": await self.stories.purge_expired(), "view_marks": await self.contents.purge_view_marks()}

    async def _housekeeping(self, every_s: float) -> None:
        while True:
            try:
                await self.housekeeping()
            except Exception:  # a failed round is retried at the next one
                log.exception("social housekeeping failed")
            await asyncio.sleep(every_s)

    async def close(self) -> None:
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            await asyncio.gather(self._housekeeper, return_exceptions=True)
        await self.contents.jobs.close()
        await self.notifications.close()
