"""The WebRTC media plane on aiortc: Router per live room, Producer per published track, Consumer per
subscribed track. Knows nothing of HTTP, Socket.IO, users or coins."""
