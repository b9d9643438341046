"""Text for the overlays, rasterised once by OpenCV and blended into each frame with numpy.

A name, a score or the countdown changes at most a few times a second but is drawn 30 times a second;
rasterising anti-aliased Hershey glyphs is the costly part (half the drawing time with nine name tags,
measured), so each distinct text is rasterised once into a luma/chroma patch with its coverage (alpha) and
kept in a small LRU. Blending a patch is a few integer numpy operations on a small region of the planes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from engine.compositor.painter import Planes, Yuv

FONT = cv2.FONT_HERSHEY_SIMPLEX
CACHE_SIZE = 256
Wide = npt.NDArray[np.uint16]
Coverage = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Sprite:
    """A rasterised text: premultiplied colour and coverage per plane, and where its baseline starts."""

    y: Wide  # colour x coverage, 0..255*255
    y_alpha: Wide  # 255 - coverage
    u: Wide
    v: Wide
    c_alpha: Wide
    left: int  # from the sprite's top-left to the text's origin (baseline start)
    top: int


def ascii_text(text: str) -> str:
    # Hershey fonts cover printable ASCII only; anything else would draw as garbage.
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def _even_up(value: int) -> int:
    return value + value % 2


class Glyphs:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[tuple[str, float, int, Yuv, Yuv | None], Sprite] = OrderedDict()
        self._size = size

    def sprite(self, text: str, scale: float, thickness: int, colour: Yuv, outline: Yuv | None) -> Sprite:
        key = (text, scale, thickness, colour, outline)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        made = self._rasterise(*key)
        self._cache[key] = made
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return made

    @staticmethod
    def _rasterise(text: str, scale: float, thickness: int, colour: Yuv, outline: Yuv | None) -> Sprite:
        border = thickness + 3 if outline is not None else thickness
        (w, h), baseline = cv2.getTextSize(text, FONT, scale, border)
        pad = border + 2
        width, height = _even_up(w + 2 * pad), _even_up(h + baseline + 2 * pad)
        origin = (pad, pad + h)
        fill = np.zeros((height, width), np.uint8)
        cv2.putText(fill, text, origin, FONT, scale, 255, thickness, cv2.LINE_AA)
        edge = np.zeros_like(fill)
        if outline is not None:
            cv2.putText(edge, text, origin, FONT, scale, 255, border, cv2.LINE_AA)
        a_fill = (fill / 255).astype(np.float32)
        a_edge: Coverage = (edge.astype(np.float32) / 255 * (1 - a_fill)).astype(np.float32)  # around the fill
        alpha = a_fill + a_edge
        half_fill = _half(a_fill)
        half_edge = _half(a_edge)
        under = outline if outline is not None else colour

        def premultiplied(a: Coverage, b: Coverage, i: int) -> Wide:
            wide: Wide = np.rint((a * colour[i] + b * under[i]) * 255).astype(np.uint16)
            return wide

        return Sprite(
            y=premultiplied(a_fill, a_edge, 0),
            y_alpha=np.rint((1 - alpha) * 255).astype(np.uint16),
            u=premultiplied(half_fill, half_edge, 1),
            v=premultiplied(half_fill, half_edge, 2),
            c_alpha=np.rint((1 - half_fill - half_edge) * 255).astype(np.uint16),
            left=pad, top=pad + h,
        )

    def draw(self, planes: Planes, text: str, origin: tuple[int, int], scale: float, colour: Yuv,
             thickness: int = 2, outline: Yuv | None = None) -> None:
        """``text`` with its baseline's left end at ``origin`` (clipped to the picture)."""
        sprite = self.sprite(ascii_text(text), scale, thickness, colour, outline)
        x = (origin[0] - sprite.left) // 2 * 2
        y = (origin[1] - sprite.top) // 2 * 2
        _blend(planes.y, sprite.y, sprite.y_alpha, x, y)
        _blend(planes.u, sprite.u, sprite.c_alpha, x // 2, y // 2)
        _blend(planes.v, sprite.v, sprite.c_alpha, x // 2, y // 2)


def _half(coverage: Coverage) -> Coverage:
    """Coverage at chroma resolution: the mean of each 2x2 block."""
    h, w = coverage.shape
    blocks = coverage.reshape(h // 2, 2, w // 2, 2)
    half: Coverage = blocks.mean(axis=(1, 3), dtype=np.float32)
    return half


def _blend(plane: npt.NDArray[np.uint8], colour: Wide, keep: Wide, x: int, y: int) -> None:
    h, w = keep.shape
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(plane.shape[1], x + w), min(plane.shape[0], y + h)
    if x0 >= x1 or y0 >= y1:
        return
    sx, sy = x0 - x, y0 - y
    region = plane[y0:y1, x0:x1]
    k = keep[sy : sy + y1 - y0, sx : sx + x1 - x0]
    c = colour[sy : sy + y1 - y0, sx : sx + x1 - x0]
    region[:] = (region * k + c + 127) // 255
