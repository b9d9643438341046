"""Video on demand: an uploaded video becomes an HLS VOD and a poster, in a background job with a visible
status (``pending`` -> ``processing`` -> ``ready`` or ``failed``).

The packaging itself is behind :class:`VodPackager`, shaped like ``transcode.vod.package_vod`` so the
composition root can hand in the transcode package's packager. :class:`FfmpegPackager` is the fallback: it
runs the FFmpeg command line to write one H.264/AAC rendition as fMP4 HLS (RFC 8216 §3.3,
``-hls_segment_type fmp4``), a multivariant playlist naming it, and a JPEG poster.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from api.social.feed_cache import FeedCache
from api.social.media import MediaFiles, discard, probe_async
from store.database import Database
from store.schema.social import contents
from store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PackagedVod:
    playlist_key: str  # the multivariant playlist
    poster_key: str
    duration_s: float
    width: int
    height: int


class VodPackager(Protocol):
    async def package(self, source: Path, prefix: str) -> PackagedVod:
        """Write the HLS VOD and poster of ``source`` under the storage key ``prefix``."""
        ...

    async def discard(self, prefix: str) -> None:
        """Remove whatever a failed or interrupted ``package`` left under ``prefix``."""
        ...

    def url(self, key: str) -> str:
        """Where a player fetches a packaged key: a path on this app, or an absolute (CDN) URL."""
        ...


class PackagingError(Exception):
    pass


class VodResultShape(Protocol):
    """The fields of ``transcode.vod.VodResult`` this domain reads."""

    @property
    def master_key(self) -> str: ...

    @property
    def poster_key(self) -> str: ...

    @property
    def duration(self) -> float: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


class PackageVod(Protocol):
    def __call__(self, source_path: Path, storage: Any, prefix: str) -> Awaitable[VodResultShape]: ...


class VodStorage(Protocol):
    """The parts of ``transcode.storage.Storage`` this domain uses."""

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def keys(self, prefix: str) -> list[str]: ...

    def url(self, key: str) -> str: ...


class TranscodePackager:
    """Adapts ``transcode.vod.package_vod(source_path, storage, prefix)`` (the ABR ladder of the live
    pipeline, into the HLS storage: the data dir or S3) to :class:`VodPackager`. The app's default."""

    def __init__(self, package_vod: PackageVod, storage: VodStorage) -> None:
        self._package_vod = package_vod
        self._storage = storage

    async def package(self, source: Path, prefix: str) -> PackagedVod:
        result = await self._package_vod(source, self._storage, prefix)
        return PackagedVod(result.master_key, result.poster_key, result.duration, result.width, result.height)

    async def discard(self, prefix: str) -> None:
        await self._storage.delete(await self._storage.keys(prefix))

    def url(self, key: str) -> str:
        return self._storage.url(key)


class FfmpegPackager:
    def __init__(self, files: MediaFiles, *, max_height: int = 720, segment_s: int = 4, ffmpeg: str = "ffmpeg") -> None:
        self._files = files
        self._max_height = max_height
        self._segment_s = segment_s
        self._ffmpeg = shutil.which(ffmpeg) or ffmpeg

    async def _run(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            self._ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-y",
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await process.communicate()
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            raise PackagingError(stderr.decode(errors="replace").strip()[-300:] or f"ffmpeg exit {process.returncode}")

    async def discard(self, prefix: str) -> None:
        self._files.delete_prefix(prefix)

    def url(self, key: str) -> str:
        return f"/media/{key}"

    async def package(self, source: Path, prefix: str) -> PackagedVod:
        info = await probe_async(source)
        out = self._files.path(prefix)
        out.mkdir(parents=True, exist_ok=True)
        audio = ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2"] if info.has_audio else []
        await self._run(
            "-i",
            str(source),
            "-map",
            "0:v:0",
            *audio,
            "-vf",
            f"scale=-2:'min({self._max_height},ih)':flags=bicubic,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-profile:v",
            "high",
            "-g",
            "48",
            "-keyint_min",
            "48",
            "-sc_threshold",
            "0",
            "-f",
            "hls",
            "-hls_time",
            str(self._segment_s),
            "-hls_playlist_type",
            "vod",
            "-hls_segment_type",
            "fmp4",
            "-hls_fmp4_init_filename",
            "init.mp4",
            "-hls_segment_filename",
            str(out / "seg_%04d.m4s"),
            "-master_pl_name",
            "master.m3u8",
            str(out / "index.m3u8"),
        )
        at = min(1.0, info.duration_s / 2)
        await self._run(
            "-ss",
            f"{at:.3f}",
            "-i",
            str(source),
            "-frames:v",
            "1",
            "-vf",
            f"scale=-2:'min({self._max_height},ih)'",
            "-q:v",
            "3",
            str(out / "poster.jpg"),
        )
        scale = min(1.0, self._max_height / (info.height or self._max_height))
        height = round((info.height or 0) * scale)
        width = round((info.width or 0) * scale / 2) * 2
        return PackagedVod(f"{prefix}/master.m3u8", f"{prefix}/poster.jpg", info.duration_s, width, height)


class VodJobs:
    """Owns the packaging tasks; closing cancels them (their content is then marked failed)."""

    def __init__(self, db: Database, packager: VodPackager, files: MediaFiles, *, concurrency: int = 1) -> None:
        self._db = db
        self.packager = packager  # replaceable, e.g. by transcode's packager
        self._files = files
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.feed_cache = FeedCache(size=0)  # the feed's, set by api.social.domain.Social

    def start(self, content_id: str, source: Path, prefix: str) -> None:
        task = asyncio.create_task(self._run(content_id, source, prefix), name=f"vod:{content_id}")
        self._tasks[content_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(content_id, None))

    async def wait(self, content_id: str) -> None:
        task = self._tasks.get(content_id)
        if task is not None:
            await asyncio.shield(task)

    async def _set(self, content_id: str, **values: object) -> None:
        if "status" in values:  # a removed or held post stays hidden; restore and publish read the columns set here
            held = contents.c.status.in_(("removed", "scheduled"))
            values["status"] = sa.case((held, contents.c.status), else_=sa.literal(values["status"]))
        update = contents.update().where(contents.c.id == content_id).values(**values)
        async with self._db.write() as conn:
            creator = (await conn.execute(update.returning(contents.c.creator_id))).scalar_one_or_none()
        if "status" in values and creator is not None:
            self.feed_cache.forget_creator(creator)

    async def _run(self, content_id: str, source: Path, prefix: str) -> None:
        try:
            async with self._slots:
                await self._set(content_id, status="processing")
                result = await self.packager.package(source, prefix)
                await self._set(
                    content_id,
                    status="ready",
                    playlist_key=result.playlist_key,
                    poster_key=result.poster_key,
                    duration_s=result.duration_s,
                    width=result.width,
                    height=result.height,
                    source_key=None,
                )
        except asyncio.CancelledError:
            await asyncio.shield(self._discard(prefix))
            await asyncio.shield(self._set(content_id, status="failed", error="interrupted by shutdown"))
            raise
        except Exception as exc:
            log.warning("packaging content %s failed: %s", content_id, exc)
            await self._discard(prefix)
            await self._set(content_id, status="failed", error=str(exc)[:255] or type(exc).__name__)
        finally:
            discard(source)

    async def _discard(self, prefix: str) -> None:
        try:
            await self.packager.discard(prefix)
        except Exception:  # the content is failed either way; leftovers are only storage
            log.exception("removing the output of a failed packaging under %s", prefix)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def recover(self, uploads: Path, abandon_after: timedelta = timedelta(hours=1)) -> int:
        """At start-up, for content a previous process left ``pending`` or ``processing``: package it again
        when its upload is still in ``uploads`` (this node restarted), mark it failed when it is older than
        ``abandon_after`` (its node is gone), and leave the rest to the node that has the file. Returns how
        many jobs were restarted."""
        cutoff = utcnow() - abandon_after
        restarted = 0
        async with self._db.write() as conn:
            rows = list(
                await conn.execute(
                    sa.select(
                        contents.c.id, contents.c.source_key, contents.c.media_prefix, contents.c.created_at
                    ).where(contents.c.status.in_(("pending", "processing")))
                )
            )
            for row in rows:
                source = uploads / row.source_key if row.source_key else None
                if source is not None and source.exists() and row.id not in self._tasks:
                    await conn.execute(contents.update().where(contents.c.id == row.id).values(status="pending"))
                    self.start(row.id, source, row.media_prefix)
                    restarted += 1
                elif row.created_at < cutoff:
                    await conn.execute(
                        contents.update()
                        .where(contents.c.id == row.id)
                        .values(status="failed", error="packaging was abandoned (its upload is gone)")
                    )
        return restarted
