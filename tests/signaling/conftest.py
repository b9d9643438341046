"""Signaling fixtures: the whole app on a loopback socket (SQLite), and media-token minting."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.state import ENGINE, MEDIA_TOKENS
from engine.engine import Engine
from signaling.tokens import MediaGrant
from tests.api.helpers import Client
from tests.conftest import AppFactory

HERE = Path(__file__).parent
DATA = HERE.parent / "data"


@pytest.fixture
async def media(make_client: AppFactory) -> Client:
    return await make_client()


def engine_of(client: Client) -> Engine:
    return client.app[ENGINE]


def token(client: Client, stream_id: str, *, publish: bool = False, **grant: object) -> str:
    minted: str = client.app[MEDIA_TOKENS].mint(
        "user-1",
        MediaGrant(stream_id, can_publish=publish, **grant),  # type: ignore[arg-type]
    )
    return minted


def auth(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
