"""Multi-host compositing: PK split screen, guest grid, picture-in-picture, the program feed.

:class:`LiveProgram` is the entry point, one per live: its ``source`` (a :class:`ProgramSwitch`) feeds the
HLS ladder for the whole live; while anyone shares the stage it runs a :class:`Compositor` (decoders, clock,
mixer, :class:`ProgramEncoder`) and publishes the encoded program through :class:`StageMedia`; when the last
guest leaves it goes back to passthrough and closes the compositor.
"""

from engine.compositor.board import PkBoard, PkPhase
from engine.compositor.compositor import CloseReason, Compositor
from engine.compositor.encoder import EncodedPacket, EncoderSettings, ProgramEncoder, VideoCodec
from engine.compositor.errors import CompositorClosed, CompositorError, DecodeError, LayoutError, ParticipantError
from engine.compositor.layout import Canvas, Layout, LayoutKind, Rect, Tile, arrange
from engine.compositor.live import LiveProgram, StageMedia
from engine.compositor.program import ProgramInfo, ProgramPicture, ProgramSound, ProgramSource
from engine.compositor.switch import ProgramSwitch

__all__ = [
    "Canvas", "CloseReason", "Compositor", "CompositorClosed", "CompositorError", "DecodeError", "EncodedPacket",
    "EncoderSettings", "Layout", "LayoutError", "LayoutKind", "LiveProgram", "ParticipantError", "PkBoard",
    "PkPhase", "ProgramEncoder", "ProgramInfo", "ProgramPicture", "ProgramSound", "ProgramSource",
    "ProgramSwitch", "Rect", "StageMedia", "Tile", "VideoCodec", "arrange",
]
