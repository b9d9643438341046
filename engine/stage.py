"""The media engine as one live's stage: :class:`EngineStage` implements the compositor's ``StageMedia``.

Who is on stage maps to a stream and a publisher slot: the live's host is the ``host`` slot of its own
stream, a co-host publishes under their own user id in it, and a PK opponent is the ``host`` slot of their
own stream. Their pictures and sound are the Producers' decoded frames (each publisher is decoded once,
whoever else reads them: the HLS ladder, another live's PK).
"""

from __future__ import annotations

import asyncio

from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from engine.compositor.encoder import ProgramEncoder, VideoCodec
from engine.compositor.program import ProgramSource
from engine.compositor.switch import Source
from engine.engine import Engine
from engine.hls import HostStream, ProgramStream
from engine.peer import forwardable
from engine.producer import Producer
from engine.program import ProgramPublication
from engine.router import HOST
from engine.tap import FrameSubscription


class EngineStage:
    def __init__(self, engine: Engine, stream_id: str, *, width: int = 720, height: int = 1280,
                 fps: int = 30) -> None:
        self.engine, self.stream_id = engine, stream_id
        self.width, self.height, self.fps = width, height, fps
        self.seats: dict[str, tuple[str, str]] = {}  # participant -> (stream id, slot)
        self.publication: ProgramPublication | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def seat(self, participant: str, stream_id: str | None = None, slot: str | None = None) -> None:
        """Where ``participant``'s media is published (default: their own slot in this live's stream)."""
        self.seats[participant] = (stream_id or self.stream_id, slot or participant)

    def producer(self, participant: str, kind: str) -> Producer | None:
        stream_id, slot = self.seats.get(participant, (self.stream_id, participant))
        router = self.engine.routers.get(stream_id)
        peer = router.publishers.get(slot) if router is not None else None
        return peer.producers.get(kind) if peer is not None else None

    # --- StageMedia -----------------------------------------------------------------------------------

    def subscribe(self, participant: str, kind: str) -> FrameSubscription | None:
        producer = self.producer(participant, kind)
        return producer.decoded_frames() if producer is not None else None

    def host_stream(self) -> HostStream:
        return HostStream(self.engine, self.stream_id, HOST, width=self.width, height=self.height, fps=self.fps)

    def program_stream(self, program: ProgramSource) -> Source:
        return ProgramStream(program)

    def publish_program(self, encoder: ProgramEncoder) -> None:
        self.unpublish_program()
        publication = ProgramPublication(self.stream_id, encoder, self.program_codecs())
        self.publication = publication
        self.engine.publish_program(self.stream_id, publication.producers)

    def unpublish_program(self) -> None:
        publication, self.publication = self.publication, None
        if publication is not None:
            self.engine.unpublish_program(self.stream_id)  # viewers move back to the host first
            task = asyncio.create_task(publication.close(), name=f"program-close:{self.stream_id}")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    # --- codecs ---------------------------------------------------------------------------------------

    def program_codecs(self) -> dict[str, RTCRtpCodecParameters]:
        """The program's codecs: the host's own, which every ``program`` viewer negotiated while the live
        was solo (the answer leads with them); the engine's first choice for a kind the host lacks."""
        codecs = {}
        for kind in ("video", "audio"):
            producer = self.producer_of_host(kind)
            if producer is not None and producer.codec.name.upper() in ("H264", "VP8", "OPUS"):
                codecs[kind] = producer.codec
            else:
                cap = forwardable(kind)[0]
                codecs[kind] = RTCRtpCodecParameters(mimeType=cap.mimeType, clockRate=cap.clockRate,
                                                     channels=cap.channels, payloadType=96,
                                                     parameters=dict(cap.parameters))
        return codecs

    def producer_of_host(self, kind: str) -> Producer | None:
        router = self.engine.routers.get(self.stream_id)
        peer = router.publishers.get(HOST) if router is not None else None
        return peer.producers.get(kind) if peer is not None else None

    def video_codec(self) -> VideoCodec:
        """What the compositor's encoder must produce for the viewers (see :meth:`program_codecs`)."""
        return VideoCodec.VP8 if self.program_codecs()["video"].name.upper() == "VP8" else VideoCodec.H264

    async def close(self) -> None:
        """Withdraws the program (if still published) and waits for the publications' readers to stop."""
        self.unpublish_program()
        for task in tuple(self._closing):
            await task
