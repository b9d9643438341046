"""Drawing on a yuv420p picture in place: scaled tiles, fills, text and the PK overlay, with OpenCV.

Everything is drawn straight into the planes of the output ``av.VideoFrame`` (numpy views of its buffers),
so a composed frame costs no colour conversion and no extra copy: one ``cv2.resize`` per plane per tile
(the one scaling per input per output frame); overlays are fills and text, rasterised with OpenCV's
Hershey fonts once per distinct text (:mod:`engine.compositor.glyphs`) and blended in with numpy.
Colours are BT.601 limited range, what x264 and the players assume for untagged SD/HD yuv420p.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
import numpy as np
import numpy.typing as npt

from engine.compositor.board import PkBoard, PkPhase
from engine.compositor.glyphs import FONT, Glyphs, ascii_text
from engine.compositor.layout import Layout, Rect, cover_crop

Plane = npt.NDArray[np.uint8]
Yuv = tuple[int, int, int]

YUV420 = {"yuv420p", "yuvj420p"}


def yuv(r: int, g: int, b: int) -> Yuv:
    """An sRGB colour in limited-range Y'CbCr with the ITU-R BT.601 coefficients."""
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    return round(y), round(u), round(v)


BACKGROUND = yuv(12, 12, 16)
WHITE = yuv(255, 255, 255)
BLACK = yuv(0, 0, 0)
PLACEHOLDER = yuv(48, 48, 56)
SIDE_A = yuv(255, 45, 85)  # the app's PK red
SIDE_B = yuv(30, 144, 255)  # and blue
COUNTDOWN_BOX = yuv(0, 0, 0)


@dataclass(frozen=True, slots=True)
class Planes:
    """Y, U and V views of one yuv420p picture (writable when the picture is)."""

    y: Plane
    u: Plane
    v: Plane

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def of(cls, frame: av.VideoFrame) -> Planes:
        """Views into ``frame``'s own buffers (no copy); ``frame`` must be yuv420p with even sides."""
        if frame.format.name not in YUV420:
            raise ValueError(f"expected yuv420p, got {frame.format.name}")
        views = []
        for plane in frame.planes:
            rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
            views.append(rows[:, : plane.width])
        return cls(views[0], views[1], views[2])


class Painter:
    def __init__(self) -> None:
        self.glyphs = Glyphs()

    def fill(self, planes: Planes, rect: Rect, colour: Yuv) -> None:
        planes.y[rect.y : rect.bottom, rect.x : rect.right] = colour[0]
        cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.height // 2, rect.width // 2
        planes.u[cy : cy + ch, cx : cx + cw] = colour[1]
        planes.v[cy : cy + ch, cx : cx + cw] = colour[2]

    def clear(self, planes: Planes, colour: Yuv = BACKGROUND) -> None:
        planes.y[:] = colour[0]
        planes.u[:] = colour[1]
        planes.v[:] = colour[2]

    def blit(self, planes: Planes, source: Planes, rect: Rect) -> None:
        """Scale the centre of ``source`` to cover ``rect`` (cropping, never stretching or letterboxing)."""
        crop = cover_crop(source.width, source.height, rect)
        # Bilinear: at the common 2:1 shrink (720x1280 cameras into PK halves) it averages each 2x2 block,
        # as INTER_AREA would; INTER_AREA at other ratios costs ~10x more (1.3 ms a 3:1 tile, measured).
        method = cv2.INTER_LINEAR
        cv2.resize(source.y[crop.y : crop.bottom, crop.x : crop.right], (rect.width, rect.height),
                   dst=planes.y[rect.y : rect.bottom, rect.x : rect.right], interpolation=method)
        cy, cx, ch, cw = crop.y // 2, crop.x // 2, crop.height // 2, crop.width // 2
        ry, rx, rh, rw = rect.y // 2, rect.x // 2, rect.height // 2, rect.width // 2
        for src, dst in ((source.u, planes.u), (source.v, planes.v)):
            cv2.resize(src[cy : cy + ch, cx : cx + cw], (rw, rh), dst=dst[ry : ry + rh, rx : rx + rw],
                       interpolation=method)

    def text(self, planes: Planes, text: str, origin: tuple[int, int], scale: float, colour: Yuv,
             thickness: int = 2) -> None:
        """Text with its baseline's left end at ``origin``."""
        self.glyphs.draw(planes, text, origin, scale, colour, thickness)

    def label(self, planes: Planes, text: str, origin: tuple[int, int], scale: float, colour: Yuv = WHITE,
              thickness: int = 2) -> None:
        """Text with a dark outline, legible on any picture (how the app draws names over video)."""
        self.glyphs.draw(planes, text, origin, scale, colour, thickness, outline=BLACK)

    @staticmethod
    def fit(text: str, width: int, scale: float, thickness: int = 2) -> tuple[str, int, int]:
        """``text`` shortened with '...' to fit ``width`` pixels; with its drawn width and height."""
        text = ascii_text(text)
        (w, h), _ = cv2.getTextSize(text, FONT, scale, thickness)
        while w > width and len(text) > 1:
            text = text[:-4] + "..." if len(text) > 4 else text[:-1]
            (w, h), _ = cv2.getTextSize(text, FONT, scale, thickness)
        return text, w, h

    def name_tag(self, planes: Planes, rect: Rect, name: str) -> None:
        scale = max(0.4, rect.width / 480)
        margin = max(4, rect.width // 30)
        text, _, h = self.fit(name, rect.width - 2 * margin, scale)
        self.label(planes, text, (rect.x + margin, rect.y + margin + h), scale)

    def placeholder(self, planes: Planes, rect: Rect, name: str) -> None:
        """A seat without video: a plain tile, the name's initial in a circle, the name under it."""
        self.fill(planes, rect, PLACEHOLDER)
        cx, cy = rect.x + rect.width // 2, rect.y + rect.height // 2
        radius = max(4, min(rect.width, rect.height) // 6) // 2 * 2
        cv2.circle(planes.y, (cx, cy), radius, WHITE[0] - 60, -1, cv2.LINE_AA)
        initial = ascii_text(name[:1].upper() or "?")
        scale = radius / 22
        (w, h), _ = cv2.getTextSize(initial, FONT, scale, 2)
        self.text(planes, initial, (cx - w // 2, cy + h // 2), scale, PLACEHOLDER, 3)
        name_scale = max(0.4, rect.width / 420)
        text, w, h = self.fit(name, rect.width - 8, name_scale)
        self.label(planes, text, (cx - w // 2, cy + radius + 2 * h), name_scale)

    def pk_overlay(self, planes: Planes, layout: Layout, board: PkBoard, now_ms: int) -> None:
        """Score bar (red share | blue share, totals at its ends) and the countdown box above the pictures."""
        bar = layout.score_bar
        if bar is not None:
            split = bar.x + round(bar.width * board.share_a() / 2) * 2
            split = min(max(split, bar.x), bar.right)
            if split > bar.x:
                self.fill(planes, Rect(bar.x, bar.y, split - bar.x, bar.height), SIDE_A)
            if split < bar.right:
                self.fill(planes, Rect(split, bar.y, bar.right - split, bar.height), SIDE_B)
            scale = bar.height / 36
            pad = bar.height // 3
            _, _, h = self.fit("0", bar.width, scale)
            baseline = bar.y + (bar.height + h) // 2
            self.label(planes, str(board.score_a), (bar.x + pad, baseline), scale)
            text, w, _ = self.fit(str(board.score_b), bar.width // 2, scale)
            self.label(planes, text, (bar.right - pad - w, baseline), scale)
        box = layout.countdown
        if box is not None:
            self.fill(planes, box, COUNTDOWN_BOX)
            self.text(planes, self.countdown_text(board, now_ms), *self._centred(box, board, now_ms))
        for tile, name in zip(layout.tiles, (board.name_a, board.name_b), strict=False):
            if name:
                self.name_tag(planes, tile.rect, name)

    def _centred(self, box: Rect, board: PkBoard, now_ms: int) -> tuple[tuple[int, int], float, Yuv]:
        scale = box.height / 48
        _, w, h = self.fit(self.countdown_text(board, now_ms), box.width, scale)
        return (box.x + (box.width - w) // 2, box.y + (box.height + h) // 2), scale, WHITE

    @staticmethod
    def countdown_text(board: PkBoard, now_ms: int) -> str:
        if board.phase is PkPhase.ENDED:
            return {"a": "WIN | LOSE", "b": "LOSE | WIN", "draw": "DRAW"}.get(board.winner or "", "PK END")
        left = board.seconds_left(now_ms)
        if left is None:
            return "PK"
        prefix = "PK in" if board.phase is PkPhase.COUNTDOWN else "PK"
        return f"{prefix} {left // 60}:{left % 60:02d}"
