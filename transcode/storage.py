"""Where HLS objects go: one small interface, a local directory (default) and S3 (``transcode.s3``).

Keys are relative paths such as ``live/<id>/720p/seg12.m4s``. The content type and cache policy follow from
the key: playlists change in place and must not be cached; segments, parts, init segments and images are
written once under a unique name and may be cached for a long time.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol

from transcode.errors import StorageError

_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",  # RFC 8216 §4
    ".m4s": "video/iso.segment",  # the IANA registration for ISO BMFF segments
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
}
PLAYLIST_CACHE = "no-cache"
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"


def media_type(key: str) -> str:
    return _TYPES.get(PurePosixPath(key).suffix, "application/octet-stream")


def cache_control(key: str) -> str:
    if key.endswith(".m3u8") or key.endswith("poster.jpg"):
        return PLAYLIST_CACHE  # rewritten in place
    return IMMUTABLE_CACHE


def check_key(key: str) -> str:
    """A key is a relative POSIX path without ``..``, ``.`` or empty parts."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise StorageError(f"invalid key {key!r}")
    return key


class Storage(Protocol):
    async def put(self, key: str, data: bytes, *, duration: float | None = None) -> None:
        """Store ``data``; ``duration`` is the media length it holds (uploads slower than that warn)."""
        ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; :class:`FileNotFoundError` if absent."""
        ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def keys(self, prefix: str) -> list[str]: ...

    def url(self, key: str) -> str:
        """Where a player fetches the object: a path under the app's /hls/ or the CDN's base URL."""
        ...

    async def close(self) -> None: ...


class LocalStorage:
    """A directory (the data dir's ``media``) served by the app under ``/hls/``.

    Writes go to a temporary file in the same directory and are renamed over the key, so a reader sees the
    old or the new object, never half of one.
    """

    def __init__(self, root: Path, *, base_url: str = "/hls") -> None:
        self.root = root
        self._base_url = base_url.rstrip("/")
        self._folders: set[Path] = set()

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, key: str, data: bytes) -> None:
        path = self.path(key)
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        # one writer thread writes one object at a time, so its id makes the temporary name unique
        temp = path.with_name(f".tmp-{path.name}-{threading.get_ident()}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except FileNotFoundError:  # the folder went away (deleted by hand): make it again
            self._folders.discard(path.parent)
            raise
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, *, duration: float | None = None) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def delete(self, keys: Sequence[str]) -> None:
        def remove() -> None:
            for key in keys:
                self.path(key).unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    async def keys(self, prefix: str) -> list[str]:
        def walk() -> list[str]:
            base = self.root / prefix if prefix else self.root
            if not base.exists():
                return []
            return sorted(
                str(p.relative_to(self.root).as_posix())
                for p in base.rglob("*")
                if p.is_file() and not p.name.startswith(".tmp-")
            )

        return await asyncio.to_thread(walk)

    def url(self, key: str) -> str:
        return f"{self._base_url}/{check_key(key)}"

    async def close(self) -> None:
        return None
