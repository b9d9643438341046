"""Layouts are pure functions of who is on stage: checked for every seat count and canvas shape."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.compositor.errors import LayoutError
from engine.compositor.layout import (
    MAX_SEATS,
    Canvas,
    LayoutKind,
    Rect,
    arrange,
    cover_crop,
    guest_grid,
    picture_in_picture,
    pk_split,
    solo,
)

PEOPLE = [f"p{i}" for i in range(MAX_SEATS + 1)]


def _even(rect: Rect) -> bool:
    return all(v % 2 == 0 for v in (rect.x, rect.y, rect.width, rect.height))


def test_solo_is_passthrough() -> None:
    layout = solo("host")
    assert layout.passthrough and layout.kind is LayoutKind.SOLO
    assert [t.rect for t in layout.tiles] == [Rect(0, 0, 720, 1280)]
    # whatever the mode, one person on stage is solo: the last guest leaving goes back to passthrough
    for kind in LayoutKind:
        assert arrange(kind, ["host"]).passthrough


def test_pk_split_default_vertical() -> None:
    layout = pk_split("a", "b")
    left, right = layout.tiles
    assert (left.participant, right.participant) == ("a", "b")
    assert left.rect.width == right.rect.width == 360 and left.rect.height == 640  # 9:16 each
    assert left.rect.x == 0 and right.rect.right == 720 and left.rect.y == right.rect.y
    bar, countdown = layout.score_bar, layout.countdown
    assert bar is not None and countdown is not None
    assert bar.y == left.rect.bottom and bar.width == 720  # right under the pictures
    assert countdown.bottom == left.rect.y  # right above them
    assert not layout.passthrough
    for rect in (left.rect, right.rect, bar, countdown):
        assert Rect(0, 0, 720, 1280).contains(rect) and _even(rect)


@pytest.mark.parametrize("n", range(2, MAX_SEATS + 1))
def test_guest_grid_seats(n: int) -> None:
    layout = guest_grid(PEOPLE[:n])
    assert [t.participant for t in layout.tiles] == PEOPLE[:n]  # join order
    full = Rect(0, 0, 720, 1280)
    for tile in layout.tiles:
        assert full.contains(tile.rect) and _even(tile.rect)
    for a, b in itertools.combinations(layout.tiles, 2):
        assert not a.rect.overlaps(b.rect)
    assert len({(t.rect.width, t.rect.height) for t in layout.tiles}) == 1  # equal seats
    # a short last row is centred
    last_row = [t for t in layout.tiles if t.rect.y == layout.tiles[-1].rect.y]
    assert last_row[0].rect.x == 720 - last_row[-1].rect.right


@pytest.mark.parametrize("n", [0, 1, MAX_SEATS + 1])
def test_guest_grid_refuses_bad_counts(n: int) -> None:
    with pytest.raises(LayoutError):
        guest_grid(PEOPLE[:n])


def test_picture_in_picture() -> None:
    layout = picture_in_picture("host", ["g1", "g2"])
    main, *insets = layout.tiles
    assert main.rect == Rect(0, 0, 720, 1280) and main.z == 0
    assert all(t.z == 1 and main.rect.contains(t.rect) and _even(t.rect) for t in insets)
    assert not insets[0].rect.overlaps(insets[1].rect)
    with pytest.raises(LayoutError):
        picture_in_picture("host", ["a", "b", "c", "d"])


def test_arrange_refuses_what_does_not_fit() -> None:
    with pytest.raises(LayoutError):
        arrange(LayoutKind.PK, ["a", "b", "c"])
    with pytest.raises(LayoutError):
        arrange(LayoutKind.GRID, [])
    with pytest.raises(LayoutError):
        arrange(LayoutKind.GRID, ["a", "a"])
    with pytest.raises(LayoutError):
        Canvas(721, 1280)


def test_join_and_leave_relayout() -> None:
    stage = ["host", "g1", "g2"]
    three = arrange(LayoutKind.GRID, stage)
    two = arrange(LayoutKind.GRID, [p for p in stage if p != "g1"])
    assert [t.participant for t in two.tiles] == ["host", "g2"]
    assert two.tiles[0].rect != three.tiles[0].rect  # the host's seat grew back


@given(
    st.integers(1, 4000), st.integers(1, 4000),
    st.integers(32, 640).map(lambda v: v * 2), st.integers(32, 640).map(lambda v: v * 2),
)
def test_cover_crop_fits_the_source_and_keeps_aspect(sw: int, sh: int, tw: int, th: int) -> None:
    sw, sh = max(2, sw // 2 * 2), max(2, sh // 2 * 2)
    crop = cover_crop(sw, sh, Rect(0, 0, tw, th))
    assert Rect(0, 0, sw, sh).contains(crop) and _even(crop)
    # full width or full height of the source is used, and the aspect is the tile's (within rounding)
    assert crop.width == sw or crop.height == sh
    assert abs(crop.width / crop.height - tw / th) <= 2 / min(crop.width, crop.height) * (tw / th + 1) + 0.01


@given(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=MAX_SEATS, unique=True),
       st.integers(64, 1000).map(lambda v: v * 2), st.integers(64, 1000).map(lambda v: v * 2))
def test_any_grid_stays_on_canvas(people: list[str], w: int, h: int) -> None:
    canvas = Canvas(w, h)
    layout = arrange(LayoutKind.GRID, people, canvas)
    for tile in layout.tiles:
        assert Rect(0, 0, w, h).contains(tile.rect) and _even(tile.rect) and tile.rect.width > 0


@given(st.integers(64, 1000).map(lambda v: v * 2), st.integers(64, 1000).map(lambda v: v * 2))
def test_pk_and_pip_stay_on_any_canvas(w: int, h: int) -> None:
    canvas = Canvas(w, h)
    full = Rect(0, 0, w, h)
    pk = pk_split("a", "b", canvas)
    assert pk.score_bar is not None and pk.countdown is not None
    for rect in (*(t.rect for t in pk.tiles), pk.score_bar, pk.countdown):
        assert full.contains(rect) and _even(rect) and rect.width > 0 and rect.height > 0
    assert not pk.tiles[0].rect.overlaps(pk.tiles[1].rect)
    try:
        pip = picture_in_picture("a", ["b"], canvas)
    except LayoutError:
        return  # a canvas too wide and short for an inset: refused, not drawn off-canvas
    assert all(full.contains(t.rect) and _even(t.rect) for t in pip.tiles)
