"""Engine fixtures: Engines started and closed around each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from engine.engine import Engine, EngineConfig


@pytest.fixture
async def make_engine() -> AsyncIterator[Callable[..., Any]]:
    engines: list[Engine] = []

    async def factory(**config: Any) -> Engine:
        engine = Engine(EngineConfig(**config))
        await engine.start()
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        await engine.close()


@pytest.fixture
async def engine(make_engine: Callable[..., Any]) -> Engine:
    created: Engine = await make_engine()
    return created
