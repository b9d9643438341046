// A viewer on the official socket.io-client: connect to /live with a token, join, gift, receive the events.
// Usage: node live_client.mjs <base url> <access token> <room> <receiver id>; prints one JSON report.
import { io } from "socket.io-client";

const [base, token, room, receiver] = process.argv.slice(2);
const socket = io(`${base}/live`, { auth: { token }, transports: ["websocket"], reconnection: false });
const events = [];
const done = (code, report) => {
  console.log(JSON.stringify(report));
  socket.close();
  process.exit(code);
};
setTimeout(() => done(1, { error: "timed out", events }), 15000);

socket.onAny((type, event) => events.push({ type, seq: event && event.seq, data: event && event.data }));
socket.on("connect_error", (err) => done(1, { error: `connect: ${err.message}` }));
socket.on("connect", async () => {
  const joined = await socket.timeout(10000).emitWithAck("join", { room });
  const sent = await socket.timeout(10000).emitWithAck("gift", {
    room, receiver_id: receiver, gift_id: "rose", quantity: 3, key: "js-gift-1",
  });
  const bad = await socket.timeout(10000).emitWithAck("gift", { room });
  socket.on("gift.sent", (event) => {
    if (event.data.transfer_id === sent.transfer_id) done(0, { joined, sent, bad, gift: event, events });
  });
  // The event may have arrived before the listener above: look in what was recorded.
  const early = events.find((e) => e.type === "gift.sent" && e.data.transfer_id === sent.transfer_id);
  if (early) done(0, { joined, sent, bad, gift: early, events });
});
