"""``hls``: N players following a live's LL-HLS media playlist with blocking reloads, fetching each new part.

A player reads the master playlist, takes the lowest-bandwidth variant (``--rendition highest`` for the top
one) and loads its media playlist; from then on it asks for the part after the newest it knows with
``_HLS_msn``/``_HLS_part`` (RFC 8216bis §6.2.5.2: the server holds the request until that part, or a later
segment, is listed) and fetches the new part, as hls.js does in low-latency mode. Measured:
``hls.reload`` (blocking request to playlist answer, which includes the wait for the part to exist),
``hls.part`` (part request to body read), ``hls.age`` (the part's arrival minus the wall-clock time of its
last sample, from EXT-X-PROGRAM-DATE-TIME and the part's offset in its segment: how far behind real time a
player is at best; one clock on loopback). A ``hls.stall``
is a gap of more than two PART-TARGETs between two new parts: a player holding three parts of buffer
(PART-HOLD-BACK) would have drained two thirds of it. A reload answered with an error counts as ``hls.errors``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

from benchmarks.toolkit.live import Stage
from benchmarks.toolkit.scenario import Run, Tasks

READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Part:
    msn: int
    index: int
    uri: str
    duration: float
    at: dt.datetime | None  # program date-time of the part's first sample


@dataclass
class MediaPlaylist:
    """What a player needs of an LL-HLS media playlist (RFC 8216bis §4.4.3-4.4.5)."""

    part_target: float | None = None
    can_block: bool = False
    parts: list[Part] = field(default_factory=list)
    next_msn: int = 0  # the segment the next part belongs to...
    next_part: int = 0  # ...and its index: what to ask for with _HLS_msn/_HLS_part
    ended: bool = False


def _attributes(text: str) -> dict[str, str]:
    """``A=1,URI="x,y"`` → {"A": "1", "URI": "x,y"} (RFC 8216 §4.2 attribute lists)."""
    out: dict[str, str] = {}
    while text:
        name, _, rest = text.partition("=")
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
            rest = rest.removeprefix(",")
        else:
            value, _, rest = rest.partition(",")
        out[name.strip()] = value
        text = rest
    return out


def parse_media(text: str) -> MediaPlaylist:
    """Parse a media playlist's parts, numbering them by segment (EXT-X-MEDIA-SEQUENCE + segments seen)."""
    playlist = MediaPlaylist()
    msn, index, date, offset, extinf = 0, 0, None, 0.0, 0.0
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART-INF:"):
            playlist.part_target = float(_attributes(line.split(":", 1)[1])["PART-TARGET"])
        elif line.startswith("#EXT-X-SERVER-CONTROL:"):
            playlist.can_block = _attributes(line.split(":", 1)[1]).get("CAN-BLOCK-RELOAD") == "YES"
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            date = dt.datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
            offset = 0.0
        elif line.startswith("#EXT-X-PART:"):
            attrs = _attributes(line.split(":", 1)[1])
            duration = float(attrs["DURATION"])
            at = date + dt.timedelta(seconds=offset) if date else None
            playlist.parts.append(Part(msn, index, attrs["URI"], duration, at))
            index += 1
            offset += duration
        elif line.startswith("#EXTINF:"):
            extinf = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line == "#EXT-X-ENDLIST":
            playlist.ended = True
        elif line and not line.startswith("#"):  # a segment's URI ends the segment
            # The next segment's date is this one's plus its duration (RFC 8216 §4.3.2.6), parts included.
            msn, index, offset = msn + 1, 0, 0.0
            date = date + dt.timedelta(seconds=extinf) if date else None
    playlist.next_msn, playlist.next_part = msn, index
    return playlist


def pick_variant(master: str, highest: bool = False) -> str:
    """The URI of the lowest- (or highest-) bandwidth EXT-X-STREAM-INF of a master playlist."""
    variants: list[tuple[int, str]] = []
    bandwidth: int | None = None
    for line in master.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            bandwidth = int(_attributes(line.split(":", 1)[1]).get("BANDWIDTH", "0"))
        elif line and not line.startswith("#") and bandwidth is not None:
            variants.append((bandwidth, line))
            bandwidth = None
    if not variants:
        raise ValueError("no EXT-X-STREAM-INF in the master playlist")
    return (max if highest else min)(variants)[1]


class HlsScenario:
    name = "hls"
    summary = "LL-HLS players: blocking playlist reloads and part fetches, of one live with a publisher"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--players", type=int, default=10, help="players (default 10)")
        parser.add_argument("--rendition", choices=["lowest", "highest"], default="lowest")

    async def run(self, run: Run, stage: Stage | None = None) -> None:
        """With ``stage`` (``mix``) the players watch that live instead of one of their own."""
        own = stage is None
        stage = stage or Stage()
        try:
            if own:
                await stage.open(run)
            media_url = await self._media_url(run, run.target.url(stage.go["playback"]["ll_hls_url"]))
            async with Tasks() as players:
                for _ in range(run.options.players):
                    players.start(self._player(run, media_url))
                await run.begin()
                results = await players.gather()
            if failed := [r for r in results if isinstance(r, BaseException)]:
                run.count("hls.errors", len(failed))
                run.note(f"{len(failed)} players failed, first: {failed[0]!r}")
        finally:
            if own:
                await stage.close(run)

    async def _media_url(self, run: Run, master_url: str) -> str:
        """The chosen variant's URL, once the ladder has written a master playlist with parts in it."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            async with run.http.get(master_url) as response:
                if response.status == 200:
                    url = urljoin(master_url, pick_variant(await response.text(), run.options.rendition == "highest"))
                    async with run.http.get(url) as media:
                        if media.status == 200 and parse_media(await media.text()).parts:
                            return url
            if time.monotonic() > deadline:
                raise TimeoutError(f"no LL-HLS playlist with parts at {master_url} after {READY_TIMEOUT_S:g} s")
            await asyncio.sleep(0.25)

    async def _player(self, run: Run, url: str) -> None:
        async with run.http.get(url) as response:
            playlist = parse_media(await response.text())
        await run.window.began.wait()
        newest = playlist.parts[-1] if playlist.parts else None
        last_new = time.monotonic()
        while run.running() and not playlist.ended:
            target = playlist.part_target or 1.0
            began = time.monotonic()
            query = f"_HLS_msn={playlist.next_msn}&_HLS_part={playlist.next_part}" if playlist.can_block else ""
            async with run.http.get(f"{url}?{query}" if query else url) as response:
                text = await response.text()
                if response.status != 200:
                    run.count("hls.errors")
                    await asyncio.sleep(target)
                    continue
            run.observe("hls.reload", time.monotonic() - began)
            playlist = parse_media(text)
            fresh = [p for p in playlist.parts if newest is None or (p.msn, p.index) > (newest.msn, newest.index)]
            for part in fresh:
                now = time.monotonic()
                if now - last_new > 2 * target:
                    run.count("hls.stall")
                last_new = now
                fetch = time.monotonic()
                async with run.http.get(urljoin(url, part.uri)) as response:
                    body = await response.read()
                if response.status != 200:
                    run.count("hls.errors")
                    continue
                run.observe("hls.part", time.monotonic() - fetch)
                run.count("hls.bytes", len(body))
                if part.at is not None:
                    end = part.at + dt.timedelta(seconds=part.duration)
                    run.observe("hls.age", (dt.datetime.now(dt.UTC) - end).total_seconds())
                newest = part
            if not playlist.can_block:
                await asyncio.sleep(target)
