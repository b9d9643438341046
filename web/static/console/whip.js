// WHIP (RFC 9725) publishing and WHEP playback: one HTTP POST of the SDP offer, the answer in the 201
// response, the session's URL in its Location header (relative to the endpoint), DELETE to end it.
// The offer waits (briefly) for ICE gathering, so it carries our candidates and no PATCH trickle is needed.

const GATHER_MS = 2000;

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_MS);
  });
}

function problemText(status, body) {
  try {
    const problem = JSON.parse(body);
    return problem.detail || problem.title || `HTTP ${status}`;
  } catch {
    return `HTTP ${status}: ${body.slice(0, 200)}`;
  }
}

export class WebRtcSession {
  constructor(pc, location, token) {
    this.pc = pc;
    this.location = location;
    this.token = token;
  }

  static async negotiate(endpoint, pc, token) {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const headers = { "Content-Type": "application/sdp" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(endpoint, { method: "POST", body: pc.localDescription.sdp, headers });
    const body = await response.text();
    if (response.status !== 201) {
      pc.close();
      throw new Error(problemText(response.status, body));
    }
    await pc.setRemoteDescription({ type: "answer", sdp: body });
    const where = new URL(response.headers.get("Location"), new URL(endpoint, window.location.href)).href;
    return new WebRtcSession(pc, where, token);
  }

  // WHIP: send every track of `stream` (camera and microphone) to `endpoint`.
  static async publish(endpoint, token, stream) {
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
    return WebRtcSession.negotiate(endpoint, pc, token);
  }

  // WHEP: receive one video and one audio track into `video`.
  static async play(endpoint, video, token = null) {
    const pc = new RTCPeerConnection();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    pc.addEventListener("track", (event) => {
      media.addTrack(event.track);
      video.srcObject = media;
    });
    return WebRtcSession.negotiate(endpoint, pc, token);
  }

  async framesDecoded() {
    let frames = 0;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded || 0;
    });
    return frames;
  }

  // DELETE first: closing the connection first lets the server reap the session, and the DELETE would 404.
  async stop() {
    const headers = this.token ? { Authorization: `Bearer ${this.token}` } : {};
    await fetch(this.location, { method: "DELETE", headers }).catch(() => {});
    this.pc.close();
  }
}
