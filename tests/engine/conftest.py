"""Engine fixtures: an Engine started and closed around each test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.engine import Engine, EngineConfig


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    engine = Engine(EngineConfig())
    await engine.start()
    yield engine
    await engine.close()
