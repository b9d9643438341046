"""Uploaded media: streamed to disk under a size limit, typed by probing with PyAV (never by name), and kept
under the media directory that the app serves at ``/media/``."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Literal

import av
from aiohttp import BodyPartReader

from api.problems import PayloadTooLarge, UnsupportedMediaType

MediaKind = Literal["video", "image", "audio"]

# Containers that hold one still picture, and the extension the stored original gets.
_IMAGE_FORMATS = {"png_pipe": "png", "jpeg_pipe": "jpg", "webp_pipe": "webp", "image2": "jpg"}
_AUDIO_EXTENSIONS = {"mp3": "mp3", "wav": "wav", "ogg": "ogg", "flac": "flac", "aac": "aac", "mov": "m4a"}


@dataclass(frozen=True, slots=True)
class Probe:
    kind: MediaKind
    extension: str
    media_type: str
    duration_s: float
    width: int | None
    height: int | None
    has_audio: bool


def _seconds(value: int | None, base: Fraction | None) -> float:
    return float(value * base) if value is not None and base is not None else 0.0


def probe(path: Path) -> Probe:
    """Open ``path`` with FFmpeg's demuxers and decode one frame; raise 415 if it is not usable media."""
    try:
        with av.open(str(path), "r") as container:
            fmt = container.format.name
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = container.duration / av.time_base if container.duration else 0.0
            if video is not None:
                duration = duration or _seconds(video.duration, video.time_base)
                frame = next(container.decode(video), None)
                if frame is None:
                    raise UnsupportedMediaType(
                        "the file has a video stream but no decodable picture", slug="corrupt-media"
                    )
                if fmt in _IMAGE_FORMATS:
                    ext = _IMAGE_FORMATS[fmt]
                    return Probe(
                        "image",
                        ext,
                        f"image/{'jpeg' if ext == 'jpg' else ext}",
                        0.0,
                        frame.width,
                        frame.height,
                        False,
                    )
                return Probe(
                    "video",
                    "mp4" if "mp4" in fmt else fmt.split(",")[0],
                    "video/mp4",
                    duration,
                    frame.width,
                    frame.height,
                    audio is not None,
                )
            if audio is not None:
                duration = duration or _seconds(audio.duration, audio.time_base)
                if next(container.decode(audio), None) is None:
                    raise UnsupportedMediaType("the audio stream cannot be decoded", slug="corrupt-media")
                name = fmt.split(",")[0]
                ext = _AUDIO_EXTENSIONS.get(name, name)
                return Probe("audio", ext, f"audio/{'mpeg' if ext == 'mp3' else ext}", duration, None, None, True)
    except (av.FFmpegError, StopIteration, IndexError, ValueError, OSError) as exc:
        raise UnsupportedMediaType(
            f"the file is not media this service can read ({type(exc).__name__})", slug="unsupported-media"
        ) from None
    raise UnsupportedMediaType("the file has neither pictures nor sound", slug="unsupported-media")


async def probe_async(path: Path) -> Probe:
    return await asyncio.to_thread(probe, path)


def discard(*paths: Path) -> None:
    """Remove files if they exist (uploads that will not be kept)."""
    for path in paths:
        path.unlink(missing_ok=True)


def _create(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


async def receive(part: BodyPartReader, dest: Path, limit: int) -> int:
    """Stream one multipart part to ``dest``; 413 (and no file left) once it passes ``limit`` bytes."""
    size = 0
    try:
        with _create(dest) as out:
            while chunk := await part.read_chunk(256 * 1024):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"the file is larger than the {limit} byte upload limit",
                        slug="upload-too-large",
                        limit=limit,
                    )
                out.write(chunk)
    except BaseException:
        discard(dest)
        raise
    if size == 0:
        discard(dest)
        raise UnsupportedMediaType("the file is empty", slug="empty-upload")
    return size


class MediaFiles:
    """Files under one directory, addressed by keys such as ``content/<id>/master.m3u8``."""

    def __init__(self, root: Path, locate: Callable[[str], str] | None = None) -> None:
        self.root = root
        self._locate = locate or (lambda key: f"/media/{key}")
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        resolved = (self.root / key).resolve()
        if not resolved.is_relative_to(self.root.resolve()):
            raise ValueError(f"key {key!r} leaves the media directory")
        return resolved

    def put_file(self, source: Path, key: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)

    @staticmethod
    def move(source: Path, target: Path) -> None:
        """Move a file within the local disk (an upload into the packaging queue)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, base: str, key: str) -> str:
        """Where a client fetches ``key``: ``locate(key)`` (default ``/media/<key>``, served by the app),
        prefixed with ``base`` unless it is already absolute (a CDN or S3 URL)."""
        where = self._locate(key)
        return where if "://" in where else f"{base}{where}"
