"""Fixtures for the compositor's proof tests: a compositor on a manual clock, closed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.compositor import Compositor, LayoutKind
from tests.compositor.media import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def compositor(clock: ManualClock) -> AsyncIterator[Compositor]:
    comp = Compositor(kind=LayoutKind.PK, clock=clock)
    yield comp
    await comp.close()
