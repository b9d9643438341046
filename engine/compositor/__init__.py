"""Multi-host compositing: PK split screen, guest grid, picture-in-picture, the program feed.

Only alive while a live has guests: the owner starts a :class:`Compositor` when the first guest joins,
reads its program (decoded, for the HLS ladder) and its :class:`ProgramEncoder`'s packets (for the WHEP
``program`` producer), and closes it when the layout goes back to solo passthrough.
"""

from engine.compositor.board import PkBoard, PkPhase
from engine.compositor.compositor import CloseReason, Compositor
from engine.compositor.errors import CompositorClosed, CompositorError, DecodeError, LayoutError, ParticipantError
from engine.compositor.layout import Canvas, Layout, LayoutKind, Rect, Tile, arrange
from engine.compositor.program import ProgramInfo, ProgramPicture, ProgramSound, ProgramSource

__all__ = [
    "Canvas", "CloseReason", "Compositor", "CompositorClosed", "CompositorError", "DecodeError", "Layout",
    "LayoutError", "LayoutKind", "ParticipantError", "PkBoard", "PkPhase", "ProgramInfo", "ProgramPicture",
    "ProgramSound", "ProgramSource", "Rect", "Tile", "arrange",
]
