"""Protocol edges: WHIP (RFC 9725) and WHEP endpoints, SDP helpers, the Socket.IO server and its schemas."""
