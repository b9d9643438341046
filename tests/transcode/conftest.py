"""Transcode test helpers: run a generated stream through the ladder, read media back with ffprobe."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import m3u8


@dataclass(frozen=True)
class ProbedFrame:
    time: float
    key: bool
    pict_type: str


def ffprobe_frames(path: Path) -> list[ProbedFrame]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts_time,key_frame,pict_type",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [ProbedFrame(float(f["pts_time"]), f["key_frame"] == 1, f["pict_type"]) for f in json.loads(out)["frames"]]


def ffprobe_streams(path: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-count_frames", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    streams: list[dict[str, object]] = json.loads(out)["streams"]
    return streams


def load_playlist(path: Path) -> m3u8.M3U8:
    return m3u8.loads(path.read_text(), uri=str(path))


def concat(rendition_dir: Path, playlist: m3u8.M3U8, out: Path) -> Path:
    """The init segment and every segment of a media playlist as one file, as a player would append them."""
    with out.open("wb") as handle:
        handle.write((rendition_dir / "init.mp4").read_bytes())
        for segment in playlist.segments:
            handle.write((rendition_dir / segment.uri).read_bytes())
    return out
