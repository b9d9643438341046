"""The sound library: creators upload audio (probed with PyAV, with a duration limit), everyone browses it,
uses sounds (counted), favorites them and downloads the original file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api.problems import Conflict, NotFound, Unprocessable
from api.social import activity, graph
from api.social.media import MediaFiles, Probe, discard
from store.database import Database
from store.ids import new_id
from store.schema.accounts import users
from store.schema.social import sound_favorites, sounds
from store.types import utcnow


def sound_query(viewer_id: graph.Viewer) -> sa.Select[Any]:
    favorite: sa.ColumnElement[bool] = (
        sa.exists().where(sound_favorites.c.sound_id == sounds.c.id, sound_favorites.c.user_id == viewer_id)
        if viewer_id is not None
        else sa.false()
    )
    return sa.select(sounds, users.c.username.label("creator_username"), favorite.label("favorite")).select_from(
        sounds.outerjoin(users, users.c.id == sounds.c.creator_id)
    )


class Sounds:
    def __init__(self, db: Database, files: MediaFiles, max_duration_s: float) -> None:
        self._db = db
        self._files = files
        self.max_duration_s = max_duration_s

    async def upload(self, user_id: str, upload: Path, media: Probe, title: str, artist: str | None) -> Any:
        if media.kind != "audio":
            discard(upload)
            raise Unprocessable("a sound must be an audio file without pictures", slug="not-audio")
        if media.duration_s <= 0 or media.duration_s > self.max_duration_s:
            discard(upload)
            raise Unprocessable(
                f"sounds must be between 0 and {self.max_duration_s:g} seconds long", slug="sound-duration"
            )
        sound_id = new_id()
        key = f"sounds/{sound_id}.{media.extension}"
        try:
            async with self._db.write() as conn:
                name = artist or await graph.username(conn, user_id)
                await conn.execute(
                    sounds.insert().values(
                        id=sound_id,
                        creator_id=user_id,
                        title=title,
                        artist=name,
                        duration_s=media.duration_s,
                        file_key=key,
                        media_type=media.media_type,
                        created_at=utcnow(),
                    )
                )
                self._files.put_file(upload, key)
        except BaseException:
            discard(upload)
            self._files.delete(key)
            raise
        return await self.get(sound_id, user_id)

    async def get(self, sound_id: str, viewer_id: str | None) -> Any:
        async with self._db.read() as conn:
            row = (await conn.execute(sound_query(viewer_id).where(sounds.c.id == sound_id))).first()
        if row is None:
            raise NotFound("no such sound")
        return row

    async def library(self, viewer_id: str | None, limit: int, after: str | None, favorites_only: bool) -> list[Any]:
        query = sound_query(viewer_id)
        if favorites_only and viewer_id is not None:
            query = query.where(
                sounds.c.id.in_(sa.select(sound_favorites.c.sound_id).where(sound_favorites.c.user_id == viewer_id))
            )
        if after is not None:
            query = query.where(sounds.c.id < after)
        async with self._db.read() as conn:
            return list(await conn.execute(query.order_by(sounds.c.id.desc()).limit(limit + 1)))

    async def popular(self, viewer_id: str | None, limit: int, after: tuple[int, str] | None) -> list[Any]:
        """All-time by use count (``/api/trending/sounds`` ranks by recent activity instead)."""
        query = sound_query(viewer_id)
        if after is not None:
            query = query.where(
                sa.or_(
                    sounds.c.use_count < after[0],
                    sa.and_(sounds.c.use_count == after[0], sounds.c.id < after[1]),
                )
            )
        async with self._db.read() as conn:
            return list(
                await conn.execute(query.order_by(sounds.c.use_count.desc(), sounds.c.id.desc()).limit(limit + 1))
            )

    async def use(self, sound_id: str, user_id: str) -> int:
        async with self._db.write() as conn:
            found = await conn.execute(
                sounds.update().where(sounds.c.id == sound_id).values(use_count=sounds.c.use_count + 1)
            )
            if not found.rowcount:
                raise NotFound("no such sound")
            await activity.record(conn, user_id, activity.Verb.SOUND_USE, sound_id=sound_id)
            return int((await conn.execute(sa.select(sounds.c.use_count).where(sounds.c.id == sound_id))).scalar_one())

    async def favorite(self, sound_id: str, user_id: str) -> None:
        async with self._db.write() as conn:
            if (await conn.execute(sa.select(sounds.c.id).where(sounds.c.id == sound_id))).first() is None:
                raise NotFound("no such sound")
            if not await graph.insert_ignore(
                conn, sound_favorites, {"sound_id": sound_id, "user_id": user_id, "created_at": utcnow()}
            ):
                raise Conflict("this sound is already a favorite", slug="already-favorite")
            await conn.execute(
                sounds.update().where(sounds.c.id == sound_id).values(favorite_count=sounds.c.favorite_count + 1)
            )

    async def unfavorite(self, sound_id: str, user_id: str) -> None:
        async with self._db.write() as conn:
            gone = await conn.execute(
                sound_favorites.delete().where(
                    sound_favorites.c.sound_id == sound_id, sound_favorites.c.user_id == user_id
                )
            )
            if not gone.rowcount:
                raise NotFound("this sound is not a favorite", slug="not-favorite")
            await conn.execute(
                sounds.update().where(sounds.c.id == sound_id).values(favorite_count=sounds.c.favorite_count - 1)
            )

    async def file(self, sound_id: str) -> tuple[Path, str, str]:
        """The original's path, media type and a download file name."""
        row = await self.get(sound_id, None)
        path = self._files.path(row.file_key)
        if not self._files.exists(row.file_key):
            raise NotFound("the sound file is missing", slug="sound-file-missing")
        return path, row.media_type, f"{row.title}.{row.file_key.rsplit('.', 1)[-1]}"
