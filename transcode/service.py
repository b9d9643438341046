"""The app-level owner of every live ladder: :class:`HlsService` starts a :class:`Transcoder` per live
stream, finds a live rendition for the HTTP edge, and stops them all when the app closes."""

from __future__ import annotations

import asyncio
import re

from transcode.errors import TranscodeError
from transcode.metrics import TranscodeMetrics
from transcode.rendition import Rendition
from transcode.source import FrameSource
from transcode.storage import Storage
from transcode.transcoder import CloseReason, HlsOptions, Transcoder

LIVE_PREFIX = "live"
_STREAM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class HlsService:
    def __init__(
        self, storage: Storage, options: HlsOptions | None = None, metrics: TranscodeMetrics | None = None
    ) -> None:
        self.storage = storage
        self.options = options or HlsOptions()
        self.metrics = metrics
        self._live: dict[str, Transcoder] = {}

    def prefix(self, stream_id: str) -> str:
        return f"{LIVE_PREFIX}/{stream_id}"

    def start_live(self, stream_id: str, source: FrameSource, options: HlsOptions | None = None) -> Transcoder:
        """Start the ladder of a live stream from any frame source; its playlists appear under
        ``live/<stream_id>/`` (``master.m3u8``) and stay there as the recording, so a stream id names one
        live session (a new ULID per go-live), never a user."""
        if not _STREAM_ID.match(stream_id):
            raise TranscodeError(f"invalid stream id {stream_id!r}")
        if stream_id in self._live:
            raise TranscodeError(f"stream {stream_id} is already live")
        transcoder = Transcoder(
            source, self.storage, self.prefix(stream_id), options or self.options, metrics=self.metrics
        )
        self._live[stream_id] = transcoder
        transcoder.start()
        transcoder.on_done(lambda: self._forget(stream_id, transcoder))
        return transcoder

    def _forget(self, stream_id: str, transcoder: Transcoder) -> None:
        """An ended live leaves the table; its recording is served from storage."""
        if self._live.get(stream_id) is transcoder:
            del self._live[stream_id]

    def live(self, stream_id: str) -> Transcoder | None:
        return self._live.get(stream_id)

    async def stop_live(self, stream_id: str, reason: CloseReason = CloseReason.STOPPED) -> None:
        transcoder = self._live.pop(stream_id, None)
        if transcoder is not None:
            await transcoder.stop(reason)

    def rendition(self, key: str) -> Rendition | None:
        """The live rendition whose playlist is ``key`` (``live/<id>/<rendition>/index.m3u8``)."""
        parts = key.split("/")
        if len(parts) != 4 or parts[0] != LIVE_PREFIX or parts[3] != "index.m3u8":
            return None
        transcoder = self._live.get(parts[1])
        return transcoder.rendition(parts[2]) if transcoder is not None else None

    async def close(self) -> None:
        live, self._live = self._live, {}
        await asyncio.gather(*(t.stop(CloseReason.SHUTDOWN) for t in live.values()), return_exceptions=True)
        await self.storage.close()
