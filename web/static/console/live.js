// The live room over Socket.IO `/live` (socket.io-client from npm, vendored by `make web`): connect with
// the access token (or anonymously, to watch), join the room, hand every room event to `onEvent` and
// resume with the last applied `seq` after a reconnect. Every action is acknowledged with
// {ok: true, ...} or {ok: false, error: <problem>}.
import { io } from "/static/vendor/socket.io.esm.min.js";

const SEEN = 1000;  // seqs remembered to drop duplicates

export class LiveRoom {
  // `token()` is read on every (re)connect; when the server refuses it (an access token lives 15 minutes),
  // `renew()` gets a new one (api.js: the refresh token) and the socket connects again.
  constructor(room, { token, renew, onEvent, onSnapshot, onTicket = () => {}, onRemoved = () => {} }) {
    this.room = room;
    this.seq = 0;  // the largest seq applied: where a rejoin resumes
    this.floor = 0;  // the last snapshot's seq
    this.seen = new Set();
    this.onEvent = onEvent;
    this.onSnapshot = onSnapshot;
    const auth = (send) => send(token() ? { token: token() } : {});
    this.socket = io("/live", { auth, transports: ["websocket"] });
    this.socket.on("events", (batch) => batch.forEach((event) => this.apply(event)));  // one tick's events
    this.socket.on("connect", () => this.join().catch((err) => console.error("join", err)));
    // The host accepted our request to come on stage: the ticket (where to publish, and the media token) is
    // sent to the user's own sockets on the default namespace (signaling.socketio), which needs a token.
    this.personal = token() ? io("/", { auth, transports: ["websocket"] }) : null;
    this.personal?.on("cohost.ticket", (ticket) => { if (ticket.room === room) onTicket(ticket); });
    // the server closed the socket: kicked from the live (socket.io-client does not reconnect by itself)
    this.socket.on("disconnect", (reason) => { if (reason === "io server disconnect") onRemoved(); });
    this.socket.on("connect_error", async () => {
      // socket.io-client retries a network failure itself (`active`); a refusal by the server it does not
      if (!this.socket.active && token() && (await renew())) this.socket.connect();
    });
  }

  // Events from two nodes can arrive out of seq order, and one can arrive twice (joining, resuming): apply
  // each seq once, and none the last snapshot already reflects.
  apply(event) {
    if (!event || typeof event.seq !== "number" || event.seq <= this.floor || this.seen.has(event.seq)) return;
    this.seen.add(event.seq);
    if (this.seen.size > SEEN) this.seen.delete(this.seen.values().next().value);
    this.seq = Math.max(this.seq, event.seq);
    this.onEvent(event);
  }

  async join() {
    // batch: the room's events arrive as one `events` event per tick (api.live.batches), cheaper for the
    // server in a crowded room than one Socket.IO event per room event
    const join = { room: this.room, batch: true };
    const answer = await this.call("join", this.seq ? { ...join, last_seq: this.seq } : join);
    const snapshot = answer.snapshot || (answer.resume && answer.resume.snapshot);
    if (snapshot) {
      this.floor = snapshot.seq;
      this.seq = Math.max(this.seq, snapshot.seq);
      this.onSnapshot(snapshot);
    }
    for (const event of (answer.resume && answer.resume.events) || []) this.apply(event);
  }

  async call(event, payload) {
    const answer = await this.socket.timeout(10000).emitWithAck(event, payload);
    if (!answer.ok) throw new Error(answer.error.detail || answer.error.title);
    return answer;
  }

  close() {
    this.socket.close();
    this.personal?.close();
  }
}
