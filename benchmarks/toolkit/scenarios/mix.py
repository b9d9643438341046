"""``mix``: the shape of a real evening, all at once: publishers, viewers, a busy room, HLS players, app users.

One live with a publisher is the evening's main stage: the WHEP viewers, the LL-HLS players and the room's
Socket.IO crowd all watch it; ``--publishers`` more creators publish their own lives at the same time and
``--api-users`` scroll the app. Each part runs the scenario of its name with the counts given here and that
scenario's defaults otherwise; metrics are prefixed with the part (``viewers.whep.first_frame``). The clock
starts when every part is set up.
"""

from __future__ import annotations

import argparse
import asyncio

from benchmarks.toolkit.live import Stage
from benchmarks.toolkit.scenario import Run, Scenario
from benchmarks.toolkit.scenarios.api import ApiScenario
from benchmarks.toolkit.scenarios.hls import HlsScenario
from benchmarks.toolkit.scenarios.media import PublishersScenario, ViewersScenario
from benchmarks.toolkit.scenarios.room import RoomScenario


def defaults(scenario: Scenario, **overrides: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    scenario.add_arguments(parser)
    options = parser.parse_args([])
    vars(options).update(overrides)
    return options


class MixScenario:
    name = "mix"
    summary = "all at once: a live with viewers, HLS players and a busy room, more publishers, app users"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--publishers", type=int, default=1, help="extra lives with a publisher (default 1)")
        parser.add_argument("--viewers", type=int, default=10, help="WHEP viewers of the main live (default 10)")
        parser.add_argument("--room-clients", type=int, default=50, help="Socket.IO viewers (default 50)")
        parser.add_argument("--gift-rate", type=float, default=10.0, help="gifts per second in the room")
        parser.add_argument("--hls-players", type=int, default=5, help="LL-HLS players (default 5)")
        parser.add_argument("--api-users", type=int, default=8, help="REST users in flight (default 8)")

    async def run(self, run: Run) -> None:
        o = run.options
        stage = Stage()
        try:
            await stage.open(run.scoped("stage.", o))
            host = stage.host["user"]["id"]
            room, api = RoomScenario(), ApiScenario()
            parts: list[tuple[str, argparse.Namespace]] = []
            if o.publishers:
                parts.append(("publishers", defaults(PublishersScenario(), publishers=o.publishers)))
            if o.viewers:
                parts.append(("viewers", defaults(ViewersScenario(), viewers=o.viewers)))
            if o.room_clients:
                parts.append(("room", defaults(room, viewers=o.room_clients, gift_rate=o.gift_rate)))
            if o.hls_players:
                parts.append(("hls", defaults(HlsScenario(), players=o.hls_players)))
            if o.api_users:
                parts.append(("api", defaults(api, concurrency=o.api_users)))
            run.window.parties = len(parts)
            async with asyncio.TaskGroup() as group:
                for name, options in parts:
                    part = run.scoped(name + ".", options)
                    if name == "publishers":
                        group.create_task(PublishersScenario().run(part))
                    elif name == "viewers":
                        group.create_task(ViewersScenario().run(part, stage))
                    elif name == "room":
                        group.create_task(room.run(part, stage.stream_id, host))
                    elif name == "hls":
                        group.create_task(HlsScenario().run(part, stage))
                    else:
                        group.create_task(api.run(part))
        finally:
            await stage.close(run)
