"""The official JavaScript ``socket.io-client`` (npm, under Node) against ``/live``: it connects with a
token, joins a live, sends a gift and receives the events. Installed by ``make test`` (tests/live/js)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from api.app import SOCKETS
from signaling.frames import PreparedFrames
from tests.api.helpers import Client
from tests.live.conftest import coins, creator, fan, go_live, url_of

JS = Path(__file__).parent / "js"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "socket.io-client").is_dir(),
    reason="node and tests/live/js/node_modules (make test installs them with npm)",
)


async def test_official_js_client_joins_gifts_and_receives(live_app: Client) -> None:
    client = live_app
    host, giver = await creator(client), await fan(client, coins=50)
    stream = (await go_live(client, host))["stream"]["id"]
    process = await asyncio.create_subprocess_exec(
        "node", str(JS / "live_client.mjs"), url_of(client), giver["access_token"], stream, host["user"]["id"],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=JS)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (out, err)
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["joined"]["ok"] and report["joined"]["snapshot"]["host_id"] == host["user"]["id"]
    assert report["sent"]["ok"] and report["sent"]["coins"] == 3
    assert report["gift"]["seq"] == report["sent"]["seq"]
    assert report["gift"]["data"]["transfer_id"] == report["sent"]["transfer_id"]
    assert report["bad"]["ok"] is False and report["bad"]["error"]["status"] == 422
    assert await coins(client, giver) == 47
    # Node's ws offers permessage-deflate: the room's events reached it as shared compressed frames.
    manager = client.app[SOCKETS].sio.manager
    assert isinstance(manager, PreparedFrames) and manager.deflated > 0
