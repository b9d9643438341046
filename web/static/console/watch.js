// The watch page (/watch/<stream id>): WHEP playback of what the live's viewers see (the program), HLS
// (hls.js, LL-HLS) when WHEP fails, and a switch between them; chat, gifts with the coin balance, and the
// pinned product with a Buy button. Anyone may watch; chatting, gifting and buying need a sign-in.
import { accessToken, api, giftCatalogue, newKey, refresh, session } from "./api.js";
import { LiveRoom } from "./live.js";
import { $, action, authBox, drawBattle, el, mergeBattle, money, nameTag, prepend, showError, withScores } from "./ui.js";
import { WebRtcSession } from "./whip.js";

const streamId = decodeURIComponent(location.pathname.split("/").pop());
const state = { live: null, room: null, player: null, mode: null, gifts: new Map(), balance: null, battle: null, pinned: null,
  stage: null, camera: null };
window.console_state = state;

// Players ------------------------------------------------------------------------------------------------

class WhepPlayer {
  // Signed in, the viewer plays with a subscribe token (needed when the server turns anonymous WHEP off).
  async start(video) {
    const token = session() ? (await api("POST", "/api/media/tokens", { stream_id: streamId })).token : null;
    this.session = await WebRtcSession.play(`/whep/${encodeURIComponent(streamId)}/program`, video, token);
  }

  framesDecoded() {
    return this.session.framesDecoded();
  }

  async stop() {
    await this.session?.stop();
  }
}

class HlsPlayer {
  async start(video) {
    if (!window.Hls || !window.Hls.isSupported()) throw new Error("HLS playback needs hls.js (run `make web`)");
    this.video = video;
    this.hls = new window.Hls({ lowLatencyMode: true, backBufferLength: 30 });
    this.errors = [];  // what hls.js reported, fatal or not (it retries the others itself)
    this.hls.on(window.Hls.Events.ERROR, (_e, data) => {
      this.errors.push({ details: data.details, fatal: data.fatal, url: data.url || data.frag?.url || data.context?.url,
        code: data.response?.code });
      if (data.fatal) showError(`HLS playback failed: ${data.details}`);
    });
    this.hls.loadSource(`/hls/live/${encodeURIComponent(streamId)}/master.m3u8`);
    this.hls.attachMedia(video);
    this.hls.on(window.Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  }

  async framesDecoded() {
    const quality = this.video.getVideoPlaybackQuality ? this.video.getVideoPlaybackQuality() : null;
    return quality ? quality.totalVideoFrames - quality.droppedVideoFrames : 0;
  }

  async stop() {
    this.hls?.destroy();
  }
}

async function play(mode, why = "") {
  const video = $("#video");
  await state.player?.stop();
  video.srcObject = null;
  video.removeAttribute("src");
  state.player = mode === "whep" ? new WhepPlayer() : new HlsPlayer();
  state.mode = mode;
  $("#player").textContent = (mode === "whep" ? "WebRTC (WHEP)" : "HLS") + why;
  $("#switch").textContent = mode === "whep" ? "Switch to HLS" : "Switch to WebRTC";
  await state.player.start(video);
}

async function startPlayback() {
  try {
    await play("whep");
  } catch (err) {
    await play("hls", ` (WebRTC playback failed: ${err.message})`);
  }
}

// Room ---------------------------------------------------------------------------------------------------

function onSnapshot(snapshot) {
  $("#viewers").textContent = snapshot.viewers;
  if (snapshot.pk) showBattle(snapshot.pk);
  showPinned(snapshot.pinned_product);
}

function onEvent(event) {
  const data = event.data;
  switch (data.type) {
    case "viewer.joined": case "viewer.left": case "viewer.count":
      $("#viewers").textContent = data.viewers; break;
    case "chat.message":
      prepend($("#chat"), el("li", {}, nameTag(data.user_id), " ", data.text)); break;
    case "gift.sent": {
      const info = state.gifts.get(data.gift_id) || { name: data.gift_id, animation: "?" };
      prepend($("#gifts"), el("li", { class: "gift" }, nameTag(data.sender_id),
        ` sent ${info.name} ×${data.quantity} `, el("span", { class: "animation" }, `[${info.animation}]`)));
      break;
    }
    case "pk.invited": case "pk.countdown": case "pk.started": case "pk.ended": case "pk.cancelled":
      showBattle(data.battle); break;
    case "pk.score":
      if (state.battle) showBattle(withScores(state.battle, data.score_a, data.score_b));
      break;
    case "shop.pinned": showPinned(data.pin); break;
    case "cohost.left": case "cohost.declined":
      if (data.user_id === session()?.user.id) leaveStage(`Off stage (${data.reason}).`).catch(showError);
      break;
    case "room.ended": $("#player").textContent = "The live has ended."; break;
    default: break;
  }
}

function showBattle(view) {
  const battle = state.battle = mergeBattle(state.battle, view);
  if (["countdown", "active", "ended"].includes(battle.state)) drawBattle(battle, streamId);
}

function showPinned(pinned) {
  state.pinned = pinned;
  $("#product").hidden = !pinned;
  if (pinned) $("#product-card").textContent = `${pinned.product.title} · ${money(pinned.product.price, pinned.product.currency)}`;
}

// Gifts, balance, orders ---------------------------------------------------------------------------------

async function refreshBalance() {
  if (!session()) {
    $("#balance").textContent = "sign in to gift";
    return;
  }
  state.balance = (await api("GET", "/api/wallets")).coins;
  $("#balance").textContent = state.balance;
}

async function sendGift(giftId) {
  if (!session()) throw new Error("sign in to send gifts");
  const result = await api("POST", `/api/livestreams/${encodeURIComponent(streamId)}/gift`,
    { receiver_id: state.live.host_id, gift_id: giftId, quantity: 1 }, { "Idempotency-Key": newKey() });
  state.balance = result.balance;
  $("#balance").textContent = result.balance;
}

function drawPicker() {
  $("#gift-picker").replaceChildren(...[...state.gifts.values()].map((g) =>
    el("button", { type: "button", class: "gift-button", "data-gift": g.id, onclick: action(() => sendGift(g.id)) },
      `${g.name} · ${g.coin_price}`)));
}

async function buy(event) {
  if (!session()) throw new Error("sign in to buy");
  if (!state.pinned) throw new Error("nothing is pinned");
  const form = event.target;
  const address = Object.fromEntries(["name", "line1", "city", "postal_code", "country"].map((f) => [f, form[f].value]));
  const order = await api("POST", `/api/live-shopping/${state.pinned.session_id}/orders`,
    { product_id: state.pinned.product.product_id, quantity: 1, shipping_address: address, payment_method: "coins" },
    { "Idempotency-Key": newKey() });
  $("#order").textContent = `Ordered: ${order.order_id} · ${money(order.total, order.currency)}`;
  await refreshBalance();
}

// Stage: a viewer asks the host to come on stage; when the host accepts, the ticket (WHIP URL and media
// token) arrives on our socket and the camera is published as a co-host.

async function requestStage() {
  if (!session()) throw new Error("sign in to join the stage");
  await api("POST", `/api/multi-host/${encodeURIComponent(streamId)}/request`);
  $("#stage").textContent = "Asked the host…";
}

async function goOnStage(ticket) {
  state.camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  state.stage = await WebRtcSession.publish(new URL(ticket.whip_url).pathname, ticket.publish_token, state.camera);
  $("#stage").textContent = "On stage";
}

async function leaveStage(text) {
  await state.stage?.stop();
  state.camera?.getTracks().forEach((t) => t.stop());
  state.stage = state.camera = null;
  $("#stage").textContent = text;
}

// Wiring -------------------------------------------------------------------------------------------------

function connect() {
  state.room?.close();
  state.room = new LiveRoom(streamId, {
    token: accessToken, renew: refresh, onEvent, onSnapshot,
    onTicket: (ticket) => goOnStage(ticket).catch(showError),
    onRemoved: () => leaveStage("You were removed from this live.").catch(showError),
  });
}

async function main() {
  authBox(() => { connect(); refreshBalance().catch(showError); });
  $("#switch").addEventListener("click", action(() => play(state.mode === "whep" ? "hls" : "whep")));
  $("#chat-form").addEventListener("submit", action(async (event) => {
    if (!session()) throw new Error("sign in to chat");
    await state.room.call("chat", { room: streamId, text: event.target.text.value });
    event.target.reset();
  }));
  $("#buy").addEventListener("submit", action(buy));
  $("#stage-request").addEventListener("click", action(requestStage));
  state.live = await api("GET", `/api/livestreams/${encodeURIComponent(streamId)}`);
  $("#title").textContent = state.live.title;
  document.title = `Mixillo Live · ${state.live.title}`;
  if (state.live.status !== "live") {
    $("#player").textContent = state.live.status === "ended" ? "This live has ended." : "Not on air yet.";
  } else {
    startPlayback().catch(showError);
  }
  state.gifts = await giftCatalogue();
  drawPicker();
  connect();
  await refreshBalance();
}

main().catch(showError);
