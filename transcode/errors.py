"""The error root of the transcode package."""

from __future__ import annotations


class TranscodeError(Exception):
    """Root of every error raised by ``transcode``."""


class SourceError(TranscodeError):
    """The frame source cannot be read (unreadable file, no video stream, unsupported codec)."""


class BitstreamError(TranscodeError):
    """Encoded H.264 is malformed or lacks what packaging needs (no SPS/PPS before the first IDR)."""


class StorageError(TranscodeError):
    """A storage backend could not write, read or delete an object."""
