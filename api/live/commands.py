"""Media commands: what the room domain asks every node's media to do, and the bytes they travel as.

The media of a live (its WHIP sessions in the engine, its program and HLS ladder) exists only on the node its
publishers reached, while the host's kick, mute or end may arrive at any node. So these acts are commands
sent to every node (``api.live.mediabus``); a node executes each for what it holds, and closing something
absent is nothing. :class:`StreamMedia` is what the commands leave behind for a stream (where its media is, ended,
barred slots, muted slots): the shared state a node that missed a command, or a node started later, acts on.

Wire format: one JSON object, UTF-8, ``{"v": 1, "node": <sender>, "op": <op>, ...}``; ``op`` is ``hosted``
(with ``url``), ``admit``, ``kick``, ``mute`` (with ``muted``), ``end`` (``stream`` only) or ``pk``
(``event``: the room event, as ``rooms.events.encode`` writes it). Unknown versions and ops are refused
(``ValueError``), never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from rooms import events
from rooms.events import RoomEvent

VERSION = 1


@dataclass(frozen=True, slots=True)
class Hosted:
    """The live's media (its program and ladder) is on the node whose base URL is ``url``: its publishers
    publish there, its viewers play from there."""

    stream: str
    url: str


@dataclass(frozen=True, slots=True)
class Admit:
    """A guest is (back) on stage with a new token: their slot publishes again, and the node holding the
    live seats them in its program."""

    stream: str
    user: str


@dataclass(frozen=True, slots=True)
class Kick:
    """A guest is off stage: bar their slot, close their session (``CloseReason.KICKED``), leave the program."""

    stream: str
    user: str


@dataclass(frozen=True, slots=True)
class Mute:
    """Take a guest out of (or back into) the program's mix and pause (resume) their audio producer."""

    stream: str
    user: str
    muted: bool


@dataclass(frozen=True, slots=True)
class End:
    """The live is over: its sessions close, its program ends, its ladder's playlists become the recording."""

    stream: str


@dataclass(frozen=True, slots=True)
class PkPicture:
    """A ``pk.*`` room event for the program of ``event.room`` (``api.live.pkstage.PkStage``)."""

    event: RoomEvent

    @property
    def stream(self) -> str:
        return self.event.room


MediaCommand = Hosted | Admit | Kick | Mute | End | PkPicture


@dataclass(frozen=True, slots=True)
class StreamMedia:
    """A stream's media state as the commands left it."""

    ended: bool = False
    barred: frozenset[str] = field(default_factory=frozenset)  # slots whose old tokens may not publish
    muted: frozenset[str] = field(default_factory=frozenset)
    home: str | None = None  # the base URL of the node holding the live's media (``Hosted``)

    def after(self, command: MediaCommand) -> StreamMedia:
        if isinstance(command, Hosted):
            return replace(self, home=command.url)
        if isinstance(command, Admit):
            return replace(self, barred=self.barred - {command.user})
        if isinstance(command, Kick):
            return replace(self, barred=self.barred | {command.user}, muted=self.muted - {command.user})
        if isinstance(command, Mute):
            muted = self.muted | {command.user} if command.muted else self.muted - {command.user}
            return replace(self, muted=muted)
        if isinstance(command, End):
            return StreamMedia(ended=True)  # every slot is refused now: the bars, mutes and home are moot
        return self


def encode(node: str, command: MediaCommand) -> bytes:
    body: dict[str, Any] = {"v": VERSION, "node": node}
    if isinstance(command, PkPicture):
        body |= {"op": "pk", "event": json.loads(events.encode(command.event))}
    elif isinstance(command, End):
        body |= {"op": "end", "stream": command.stream}
    elif isinstance(command, Hosted):
        body |= {"op": "hosted", "stream": command.stream, "url": command.url}
    elif isinstance(command, Mute):
        body |= {"op": "mute", "stream": command.stream, "user": command.user, "muted": command.muted}
    else:
        body |= {"op": "kick" if isinstance(command, Kick) else "admit", "stream": command.stream,
                 "user": command.user}
    return json.dumps(body, separators=(",", ":")).encode()


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"a media command's {key!r} is a non-empty string")
    return value


def decode(raw: bytes) -> tuple[str, MediaCommand]:
    """(sending node, command); ``ValueError`` for anything that is not a command of this version."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"a media command is a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("a media command is a JSON object")
    if body.get("v") != VERSION:
        raise ValueError(f"media command version {body.get('v')!r} is not {VERSION}")
    node, op = _text(body, "node"), body.get("op")
    if op == "pk":
        try:
            return node, PkPicture(events.decode(json.dumps(body.get("event"))))
        except ValidationError as exc:
            raise ValueError(f"a pk command carries a room event: {exc}") from None
    stream = _text(body, "stream")
    if op == "end":
        return node, End(stream)
    if op == "hosted":
        return node, Hosted(stream, _text(body, "url"))
    if op == "mute":
        if not isinstance(body.get("muted"), bool):
            raise ValueError("a mute command's 'muted' is true or false")
        return node, Mute(stream, _text(body, "user"), body["muted"])
    if op == "kick":
        return node, Kick(stream, _text(body, "user"))
    if op == "admit":
        return node, Admit(stream, _text(body, "user"))
    raise ValueError(f"unknown media command {op!r}")
