"""Layouts: pure functions from the people on stage to the tiles of the program picture.

Every rectangle has even coordinates and sizes so it maps onto whole 2x2 chroma blocks of the 4:2:0
(yuv420p) canvas the encoders take, and each chroma plane is scaled once, straight into place. Solo is not
a layout to draw: it says "pass the host's stream through, do not composite".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from engine.compositor.errors import LayoutError

MAX_SEATS = 9  # the app's guest grid: host plus up to eight guests
MAX_INSETS = 3  # picture-in-picture: a main picture and up to three small ones


class LayoutKind(StrEnum):
    SOLO = "solo"  # passthrough: the host's own stream, nothing composed
    PK = "pk"  # two hosts side by side with a score bar, their names and the countdown
    GRID = "grid"  # 2 to 9 seats
    PIP = "pip"  # one main picture with small insets


@dataclass(frozen=True, slots=True)
class Canvas:
    """The program picture's size; vertical 9:16 by default like the app's player."""

    width: int = 720
    height: int = 1280

    def __post_init__(self) -> None:
        if self.width < 64 or self.height < 64 or self.width % 2 or self.height % 2:
            raise LayoutError(f"canvas {self.width}x{self.height}: sides must be even and at least 64")


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    def contains(self, other: Rect) -> bool:
        return self.x <= other.x and self.y <= other.y and other.right <= self.right and other.bottom <= self.bottom

    def overlaps(self, other: Rect) -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom


@dataclass(frozen=True, slots=True)
class Tile:
    participant: str
    rect: Rect
    z: int = 0  # drawn in ascending z; insets above the main picture


@dataclass(frozen=True, slots=True)
class Layout:
    kind: LayoutKind
    canvas: Canvas
    tiles: tuple[Tile, ...]  # in drawing order (ascending z)
    score_bar: Rect | None = None  # PK only
    countdown: Rect | None = None  # PK only

    @property
    def passthrough(self) -> bool:
        """Nothing to compose: the host's stream is the program (no decoders, no encoder)."""
        return self.kind is LayoutKind.SOLO

    def tile(self, participant: str) -> Tile | None:
        return next((t for t in self.tiles if t.participant == participant), None)


def _even(value: float) -> int:
    return int(value) // 2 * 2


def _unique(participants: Sequence[str]) -> None:
    if len(set(participants)) != len(participants):
        raise LayoutError("a participant can hold only one tile")


def solo(host: str, canvas: Canvas = Canvas()) -> Layout:
    return Layout(LayoutKind.SOLO, canvas, (Tile(host, Rect(0, 0, canvas.width, canvas.height)),))


def pk_split(a: str, b: str, canvas: Canvas = Canvas()) -> Layout:
    """Side ``a`` on the left, ``b`` on the right, each 9:16 when the canvas allows; the countdown above
    the pictures and the score bar right under them, where the app draws them."""
    _unique([a, b])
    w, h = canvas.width, canvas.height
    bar_h = max(2, _even(h / 32))
    countdown_h = max(2, _even(h / 20))
    tile_w = _even(w / 2)
    tile_h = min(_even(tile_w * 16 / 9), _even(h - 2 * (bar_h + countdown_h)))
    top = max(countdown_h, _even((h - tile_h - bar_h) / 2 - h / 10))
    tiles = (Tile(a, Rect(0, top, tile_w, tile_h)), Tile(b, Rect(w - tile_w, top, tile_w, tile_h)))
    countdown_w = _even(w / 3)
    return Layout(
        LayoutKind.PK, canvas, tiles,
        score_bar=Rect(0, top + tile_h, w, bar_h),
        countdown=Rect(_even((w - countdown_w) / 2), top - countdown_h, countdown_w, countdown_h),
    )


def _grid_shape(n: int) -> tuple[int, int]:
    """(columns, rows) that keep tiles closest to the cameras' 9:16 on a vertical canvas."""
    if n <= 2:
        return n, 1
    if n <= 4:
        return 2, 2
    if n <= 6:
        return 2, 3
    return 3, 3


def guest_grid(participants: Sequence[str], canvas: Canvas = Canvas()) -> Layout:
    """Seats in join order, row by row; a short last row is centred. Two seats sit side by side at 9:16 in
    the middle of the canvas; three and more fill it."""
    n = len(participants)
    if not 2 <= n <= MAX_SEATS:
        raise LayoutError(f"a guest grid has 2 to {MAX_SEATS} seats, not {n}")
    _unique(participants)
    cols, rows = _grid_shape(n)
    tile_w = _even(canvas.width / cols)
    tile_h = _even(canvas.height / rows)
    if rows == 1:
        tile_h = min(tile_h, _even(tile_w * 16 / 9))
    top = _even((canvas.height - rows * tile_h) / 2)
    tiles = []
    for index, participant in enumerate(participants):
        row, col = divmod(index, cols)
        in_row = min(cols, n - row * cols)
        left = _even((canvas.width - in_row * tile_w) / 2)
        tiles.append(Tile(participant, Rect(left + col * tile_w, top + row * tile_h, tile_w, tile_h)))
    return Layout(LayoutKind.GRID, canvas, tuple(tiles))


def picture_in_picture(main: str, insets: Sequence[str], canvas: Canvas = Canvas()) -> Layout:
    """``main`` fills the canvas; insets stack up the right edge from above the bottom controls."""
    if not 1 <= len(insets) <= MAX_INSETS:
        raise LayoutError(f"picture-in-picture takes 1 to {MAX_INSETS} insets, not {len(insets)}")
    _unique([main, *insets])
    w, h = canvas.width, canvas.height
    inset_w = _even(w / 4)
    inset_h = _even(inset_w * 16 / 9)
    margin = max(2, _even(w / 30))
    bottom = h - _even(h / 8)  # keep clear of the app's comment box and buttons
    tiles = [Tile(main, Rect(0, 0, w, h), 0)]
    for index, participant in enumerate(insets):
        y = bottom - (index + 1) * (inset_h + margin)
        if y < margin:
            raise LayoutError(f"canvas {w}x{h} is too short for {len(insets)} insets")
        tiles.append(Tile(participant, Rect(w - inset_w - margin, y, inset_w, inset_h), 1))
    return Layout(LayoutKind.PIP, canvas, tuple(tiles))


def arrange(kind: LayoutKind, participants: Sequence[str], canvas: Canvas = Canvas()) -> Layout:
    """The layout for the people on stage now (host first, then guests in join order). One participant is
    always solo, whatever the mode, so the last guest leaving returns the live to passthrough."""
    if not participants:
        raise LayoutError("nobody on stage")
    if len(participants) == 1:
        return solo(participants[0], canvas)
    match kind:
        case LayoutKind.SOLO:
            raise LayoutError(f"solo has one participant, not {len(participants)}")
        case LayoutKind.PK:
            if len(participants) != 2:
                raise LayoutError(f"a PK battle has two hosts, not {len(participants)}")
            return pk_split(participants[0], participants[1], canvas)
        case LayoutKind.GRID:
            return guest_grid(participants, canvas)
        case LayoutKind.PIP:
            return picture_in_picture(participants[0], participants[1:], canvas)
    raise LayoutError(f"unknown layout {kind!r}")  # pragma: no cover (exhaustive match)


def cover_crop(src_width: int, src_height: int, dst: Rect) -> Rect:
    """The centred part of a ``src_width`` x ``src_height`` picture with ``dst``'s aspect ratio: scaling it to
    ``dst`` fills the tile without bars or distortion (CSS ``object-fit: cover``). Even-aligned."""
    if src_width <= 0 or src_height <= 0:
        raise LayoutError(f"empty source picture {src_width}x{src_height}")
    scale = max(dst.width / src_width, dst.height / src_height)
    crop_w = min(src_width, max(2, _even(math.ceil(dst.width / scale))))
    crop_h = min(src_height, max(2, _even(math.ceil(dst.height / scale))))
    return Rect(_even((src_width - crop_w) / 2), _even((src_height - crop_h) / 2), crop_w, crop_h)
