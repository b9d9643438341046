"""The composed picture, checked in its pixels: two synthetic publishers with distinct solid colours and
frame counters, a PK score bar that follows the board, a frozen input that holds its last frame."""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.compositor import Compositor, LayoutKind, ProgramPicture, ProgramSource
from engine.compositor.layout import Rect
from engine.compositor.painter import SIDE_A, SIDE_B
from tests.compositor.media import BLUE, GREEN, RED, ManualClock, near, picture, read_counter, rgb_at, source

pytestmark = pytest.mark.timeout(30)

FPS = 30
START = ManualClock().now()


async def next_picture(program: ProgramSource) -> ProgramPicture:
    async for item in program.items():
        if isinstance(item, ProgramPicture):
            return item
    raise AssertionError("the program ended")


async def tick(clock: ManualClock, program: ProgramSource) -> ProgramPicture:
    """Move time one frame on; the picture drawn at the new time (older ones are skipped)."""
    await clock.advance(Fraction(1, FPS))
    target = round((clock.now() - START) * FPS)
    while True:
        shot = await next_picture(program)
        if round(shot.time * FPS) >= target:
            return shot


def bar_split(frame: ProgramPicture, bar: Rect) -> int:
    """x where the score bar turns from side a's colour to side b's, read from the V (red-difference) row."""
    chroma = frame.frame.to_ndarray(format="yuv420p")
    h = frame.frame.height
    v_plane = chroma[h + h // 4 :].reshape(h // 2, -1)
    row = v_plane[(bar.y + bar.height // 2) // 2, :]
    threshold = (SIDE_A[2] + SIDE_B[2]) / 2
    red = [x * 2 for x in range(bar.width // 2) if row[x] > threshold]
    # the score digits sit at the bar's ends; the split is the end of the longest red run from the left
    run_end = 0
    for x in red:
        if x - run_end <= 40:
            run_end = x
    return run_end


async def test_pk_halves_show_each_colour_and_counters(compositor: Compositor, clock: ManualClock) -> None:
    a, b = source(), source()
    compositor.join("alice", "Alice", video=a)
    compositor.join("bob", "Bob", video=b)
    compositor.board.start("Alice", "Bob", clock.wall_ms() + 180_000)
    program = compositor.program()
    compositor.start()
    layout = compositor.layout
    assert layout is not None and layout.kind is LayoutKind.PK
    left, right = (t.rect for t in layout.tiles)
    seen = []
    for i in range(12):
        a.push(picture(RED, i))
        if i < 5:  # bob freezes after his fifth frame
            b.push(picture(BLUE, 100 + i))
        shot = await tick(clock, program)
        seen.append((read_counter(shot.frame, left), read_counter(shot.frame, right)))
        # each colour in its half, sampled in the middle of each picture (clear of names and counters)
        assert near(rgb_at(shot.frame, left.x + left.width // 2, left.y + left.height // 3), RED)
        assert near(rgb_at(shot.frame, right.x + right.width // 2, right.y + right.height // 3), BLUE)
    alice = [s[0] for s in seen]
    bob = [s[1] for s in seen]
    assert alice == list(range(12))  # the live input moves every frame
    assert bob == [100, 101, 102, 103, 104] + [104] * 7  # the frozen one holds its last frame
    # the clock never waited for bob: one picture per tick, timestamps unbroken
    assert compositor.pictures == 13 and compositor.skipped == 0


async def test_score_bar_follows_the_board(compositor: Compositor, clock: ManualClock) -> None:
    a, b = source(), source()
    compositor.join("alice", "Alice", video=a)
    compositor.join("bob", "Bob", video=b)
    compositor.board.start("Alice", "Bob", clock.wall_ms() + 60_000)
    program = compositor.program()
    compositor.start()
    layout = compositor.layout
    assert layout is not None and layout.score_bar is not None
    bar = layout.score_bar
    a.push(picture(RED, 1))
    b.push(picture(BLUE, 1))
    even = bar_split(await tick(clock, program), bar)
    assert abs(even - 360) <= 24  # 0 : 0 is half and half
    compositor.board.set_scores(300, 100)  # a gift for alice
    ahead = bar_split(await tick(clock, program), bar)
    assert abs(ahead - 540) <= 24  # 75 %
    compositor.board.set_scores(300, 900)
    behind = bar_split(await tick(clock, program), bar)
    assert abs(behind - 180) <= 24  # 25 %


async def test_countdown_runs_on_the_clock(compositor: Compositor, clock: ManualClock) -> None:
    compositor.join("alice", "Alice", video=source())
    compositor.join("bob", "Bob", video=source())
    compositor.board.start("Alice", "Bob", clock.wall_ms() + 2_000)
    program = compositor.program()
    compositor.start()
    layout = compositor.layout
    assert layout is not None and layout.countdown is not None
    box = layout.countdown
    first = await tick(clock, program)
    for _ in range(FPS * 3):
        last = await tick(clock, program)
    crop_a = first.frame.to_ndarray(format="gray")[box.y : box.bottom, box.x : box.right]
    crop_b = last.frame.to_ndarray(format="gray")[box.y : box.bottom, box.x : box.right]
    assert crop_a.max() > 200  # text is drawn
    assert (crop_a != crop_b).sum() > 50  # "PK 0:02" became "PK 0:00"
    assert compositor.painter.countdown_text(compositor.board, clock.wall_ms()) == "PK 0:00"


async def test_guest_without_video_shows_a_placeholder(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.GRID, clock=clock)
    try:
        host = source()
        compositor.join("host", "Host", video=host)
        compositor.join("guest", "Guest", audio=source())  # audio only
        program = compositor.program()
        compositor.start()
        host.push(picture(GREEN, 7))
        shot = await tick(clock, program)
        layout = compositor.layout
        assert layout is not None
        host_tile, guest_tile = (t.rect for t in layout.tiles)
        assert near(rgb_at(shot.frame, host_tile.x + host_tile.width // 2, host_tile.y + host_tile.height // 3),
                    GREEN)
        gray = shot.frame.to_ndarray(format="gray")[guest_tile.y : guest_tile.bottom, guest_tile.x : guest_tile.right]
        assert 30 < int(gray[10, 10]) < 80  # the placeholder's plain background
        centre = gray[guest_tile.height // 2 - 40 : guest_tile.height // 2 + 40, :]
        assert centre.max() > 150  # the initial's circle and the name are drawn
    finally:
        await compositor.close()


async def test_join_and_leave_relayout_without_a_gap(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.GRID, clock=clock)
    try:
        host = source()
        compositor.join("host", "Host", video=host)
        program = compositor.program()
        compositor.start()
        times = []
        layouts = []
        guests = {f"g{i}": source() for i in range(3)}
        for step in range(40):
            if step == 5:
                compositor.join("g0", "Guest 0", video=guests["g0"])
            if step == 10:
                compositor.join("g1", "Guest 1", video=guests["g1"])
                compositor.join("g2", "Guest 2", video=guests["g2"])
            if step == 20:
                await compositor.leave("g1")
            if step == 30:
                await compositor.leave("g0")
                await compositor.leave("g2")
            host.push(picture(GREEN, step))
            for name, g in guests.items():
                if name in compositor.feeds:
                    g.push(picture(BLUE, step))
            shot = await tick(clock, program)
            times.append(shot.time)
            layout = compositor.layout
            assert layout is not None
            layouts.append((layout.kind, len(layout.tiles)))
            host_tile = layout.tiles[0].rect
            assert read_counter(shot.frame, host_tile) == step  # the host's own picture, live, in every layout
        # pictures every 1/30 s from start to end, across four re-layouts
        assert times == [i / FPS for i in range(1, 41)] or all(
            abs(t - (i + 1) / FPS) < 1e-9 for i, t in enumerate(times))
        assert layouts[4] == ("solo", 1) and layouts[5] == ("grid", 2) and layouts[10] == ("grid", 4)
        assert layouts[20] == ("grid", 3) and layouts[39] == ("solo", 1)
        assert compositor.layout is not None and compositor.layout.passthrough  # the owner closes us now
        assert guests["g1"].closed  # leaving closed their source (unsubscribed from the engine)
    finally:
        await compositor.close()


async def test_picture_in_picture_draws_the_inset_above(clock: ManualClock) -> None:
    compositor = Compositor(kind=LayoutKind.PIP, clock=clock)
    try:
        host, guest = source(), source()
        compositor.join("host", "Host", video=host)
        compositor.join("guest", "Guest", video=guest)
        program = compositor.program()
        compositor.start()
        host.push(picture(GREEN, 1))
        guest.push(picture(RED, 2))
        shot = await tick(clock, program)
        layout = compositor.layout
        assert layout is not None
        main, inset = (t.rect for t in layout.tiles)
        assert main == Rect(0, 0, 720, 1280) and near(rgb_at(shot.frame, 100, 300), GREEN)  # the host fills it
        assert near(rgb_at(shot.frame, inset.x + inset.width // 2, inset.y + inset.height // 3), RED)  # on top
        assert read_counter(shot.frame, inset) == 2
    finally:
        await compositor.close()
