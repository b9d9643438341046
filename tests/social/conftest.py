"""Fixtures of the social tests: media generated with PyAV, users, and shortcuts for common requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import pytest

from tests.api.helpers import Client, bearer, register

AppFactory = Callable[..., Awaitable[Client]]


def _write_image(path: Path) -> None:
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        pixels = np.zeros((48, 64, 3), dtype=np.uint8)
        pixels[:, :32] = (255, 40, 40)
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def _write_video(path: Path, seconds: float = 1.5, fps: int = 24) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            pixels = np.full((120, 160, 3), (i * 9) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        _encode_tone(out, audio, seconds)


def _encode_tone(out: Any, audio: Any, seconds: float) -> None:
    rate = 44100
    samples = int(seconds * rate)
    t = np.arange(samples) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 0.3).astype(np.float32)
    fmt = audio.codec_context.format.name if audio.codec_context.format else "fltp"
    for start in range(0, samples, 1024):
        chunk = tone[start : start + 1024].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(
            chunk if fmt in ("fltp", "flt") else (chunk * 32767).astype(np.int16),
            format=fmt if fmt in ("fltp", "s16p", "s16") else "fltp",
            layout="mono",
        )
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in audio.encode(frame):
            out.mux(packet)
    for packet in audio.encode(None):
        out.mux(packet)


def _write_audio(path: Path, seconds: float) -> None:
    with av.open(str(path), "w", format="wav") as out:
        audio = out.add_stream("pcm_s16le", rate=44100)
        audio.layout = "mono"
        _encode_tone(out, audio, seconds)


class Media:
    def __init__(self, root: Path) -> None:
        self.image = root / "picture.png"
        self.video = root / "clip.mp4"
        self.audio = root / "tone.wav"
        self.long_audio = root / "long.wav"
        _write_image(self.image)
        _write_video(self.video)
        _write_audio(self.audio, 2.0)
        _write_audio(self.long_audio, 6.0)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    return Media(tmp_path_factory.mktemp("media"))


def form(
    path: Path | None = None, *, filename: str = "upload.bin", data: bytes | None = None, **fields: str
) -> aiohttp.FormData:
    """A multipart form with ``fields`` and, from ``path`` or ``data``, a ``file`` part."""
    return fields_form(fields, path, filename=filename, data=data)


def fields_form(
    fields: dict[str, str],
    path: Path | None = None,
    *,
    filename: str = "upload.bin",
    data: bytes | None = None,
) -> aiohttp.FormData:
    body = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        body.add_field(name, value)
    payload = data if data is not None else (path.read_bytes() if path else None)
    if payload is not None:
        body.add_field("file", payload, filename=filename, content_type="application/octet-stream")
    return body


class User:
    def __init__(self, session: dict[str, Any]) -> None:
        self.session = session
        self.id: str = session["user"]["id"]
        self.username: str = session["user"]["username"]
        self.headers = bearer(session)


async def user(client: Client, name: str | None = None, **extra: Any) -> User:
    return User(await register(client, name, **extra))


async def post_image(client: Client, who: User, media: Media, caption: str = "", **fields: str) -> dict[str, Any]:
    response = await client.post(
        "/api/content", data=fields_form({"caption": caption, **fields}, media.image), headers=who.headers
    )
    assert response.status == 202, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def ok(response: aiohttp.ClientResponse, status: int = 200) -> Any:
    text = await response.text()
    assert response.status == status, text
    return await response.json() if text else None


def ids(page: dict[str, Any], key: Callable[[dict[str, Any]], str] = lambda item: item["id"]) -> list[str]:
    return [key(item) for item in page["items"]]
