"""What can honestly be measured in a video without a trained captioning model.

Frames are sampled with PyAV; each sample keeps the frame at its time and the one right after it, so motion
is the change between two consecutive frames, not between samples seconds apart. The measurements (all
OpenCV): faces with the Haar cascade that ships with OpenCV (Viola-Jones), dominant colours by k-means in
RGB named by hue, brightness as mean HSV value, motion as mean absolute difference of consecutive grey
frames, and scene changes as low correlation between HSV histograms of neighbouring samples.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]  # H x W x 3, RGB

SAMPLE_WIDTH = 320
SCENE_CUT_CORRELATION = 0.5


class VideoError(Exception):
    """The upload is not a video this service can decode."""


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: float
    frame: Image
    next_frame: Image | None


@dataclass(slots=True)
class VideoFacts:
    duration_s: float
    width: int
    height: int
    samples: int
    brightness: float  # 0-255 mean of HSV value
    colours: list[tuple[str, float]] = field(default_factory=list)  # (name, share of pixels)
    max_faces: int = 0
    face_share: float = 0.0  # share of samples with at least one face
    motion: float = 0.0  # mean absolute difference of consecutive frames, 0-255
    scene_changes: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "duration_s": round(self.duration_s, 2),
            "width": self.width,
            "height": self.height,
            "samples": self.samples,
            "brightness": round(self.brightness, 1),
            "colours": [{"name": n, "share": round(s, 3)} for n, s in self.colours],
            "max_faces": self.max_faces,
            "face_share": round(self.face_share, 3),
            "motion": round(self.motion, 2),
            "scene_changes": self.scene_changes,
        }


def _rgb(frame: av.VideoFrame) -> Image:
    scale = SAMPLE_WIDTH / max(1, frame.width)
    height = max(2, int(frame.height * scale) // 2 * 2)
    out: Image = np.asarray(frame.to_ndarray(format="rgb24", width=SAMPLE_WIDTH, height=height), dtype=np.uint8)
    return out


def sample_frames(path: Path, count: int = 8) -> tuple[list[Sample], float, int, int]:
    """``count`` samples spread over the video, each with its following frame; and duration, width, height."""
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise VideoError(f"not a readable video: {exc}") from None
    with container:
        if not container.streams.video:
            raise VideoError("the file has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        width, height = stream.codec_context.width, stream.codec_context.height
        # Decode once, front to back, keeping only the frames at the sample times: robust for every container
        # (seeking is not), and cheap for the short clips of a short-video app.
        targets = [duration * (i + 0.5) / count for i in range(count)] if duration else [0.0]
        samples: list[Sample] = []
        pending: tuple[float, Image] | None = None
        index = 0
        try:
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                if pending is not None:
                    samples.append(Sample(pending[0], pending[1], _rgb(frame)))
                    pending = None
                if index < len(targets) and t >= targets[index]:
                    pending = (t, _rgb(frame))
                    while index < len(targets) and targets[index] <= t:
                        index += 1
                if index >= len(targets) and pending is None:
                    break
        except av.FFmpegError as exc:
            if not samples:
                raise VideoError(f"the video could not be decoded: {exc}") from None
        if pending is not None:
            samples.append(Sample(pending[0], pending[1], None))
    if not samples:
        raise VideoError("the video has no frames")
    return samples, duration, width, height


_CASCADE: cv2.CascadeClassifier | None = None


def _faces(grey: Image) -> int:
    global _CASCADE
    if _CASCADE is None:
        cascades = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        _CASCADE = cv2.CascadeClassifier(str(cascades / "haarcascade_frontalface_default.xml"))
    found = _CASCADE.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return len(found)


def colour_name(rgb: npt.NDArray[np.float32]) -> str:
    pixel = np.clip(rgb, 0, 255).astype(np.uint8).reshape(1, 1, 3)
    h, s, v = (int(x) for x in cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV)[0, 0])
    if v < 50:
        return "black"
    if s < 40:
        return "white" if v > 200 else "grey"
    hue = h * 2  # OpenCV keeps hue in 0-179
    for limit, name in (
        (15, "red"),
        (40, "orange"),
        (70, "yellow"),
        (160, "green"),
        (200, "cyan"),
        (260, "blue"),
        (290, "purple"),
        (340, "pink"),
        (360, "red"),
    ):
        if hue < limit:
            return name
    return "red"


def dominant_colours(frames: list[Image], k: int = 4) -> list[tuple[str, float]]:
    pixels = np.concatenate([cv2.resize(f, (64, 36), interpolation=cv2.INTER_AREA).reshape(-1, 3) for f in frames])
    data = pixels.astype(np.float32)
    k = min(k, len(np.unique(pixels, axis=0)))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(7)  # the same video always gets the same caption
    _, labels, centres = cv2.kmeans(data, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    shares: dict[str, float] = {}
    counts = np.bincount(labels.ravel(), minlength=k)
    for centre, n in zip(centres, counts, strict=True):
        name = colour_name(centre)
        shares[name] = shares.get(name, 0.0) + float(n) / len(labels)
    return sorted(shares.items(), key=lambda kv: -kv[1])


def _histogram(frame: Image) -> npt.NDArray[np.float32]:
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, [30, 32], [0, 180, 0, 256])
    cv2.normalize(hist, hist)
    return hist  # type: ignore[return-value]


def analyse(samples: list[Sample], duration: float, width: int, height: int) -> VideoFacts:
    frames = [s.frame for s in samples]
    greys = [np.asarray(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), dtype=np.uint8) for f in frames]
    brightness = float(np.mean([cv2.cvtColor(f, cv2.COLOR_RGB2HSV)[..., 2].mean() for f in frames]))
    faces = [_faces(g) for g in greys]
    motions = [
        float(
            cv2.absdiff(
                cv2.cvtColor(s.frame, cv2.COLOR_RGB2GRAY), cv2.cvtColor(s.next_frame, cv2.COLOR_RGB2GRAY)
            ).mean()
        )
        for s in samples
        if s.next_frame is not None and s.next_frame.shape == s.frame.shape
    ]
    hists = [_histogram(f) for f in frames]
    cuts = sum(
        1 for a, b in itertools.pairwise(hists) if cv2.compareHist(a, b, cv2.HISTCMP_CORREL) < SCENE_CUT_CORRELATION
    )
    return VideoFacts(
        duration_s=duration,
        width=width,
        height=height,
        samples=len(samples),
        brightness=brightness,
        colours=[c for c in dominant_colours(frames) if c[1] >= 0.1][:3],
        max_faces=max(faces),
        face_share=sum(1 for n in faces if n) / len(faces),
        motion=float(np.mean(motions)) if motions else 0.0,
        scene_changes=cuts,
    )
