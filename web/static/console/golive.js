// The go-live page: sign in, create and start a live, publish camera and microphone over WHIP with the
// publish token the start endpoint returns, and run the room: viewers, chat, gifts, PK, co-hosts, shop.
import { accessToken, api, giftCatalogue, refresh } from "./api.js";
import { LiveRoom } from "./live.js";
import { $, action, authBox, drawBattle, el, mergeBattle, money, nameTag, prepend, showError, withScores } from "./ui.js";
import { WebRtcSession } from "./whip.js";

const state = { me: null, live: null, room: null, media: null, camera: null, battle: null, shop: null, gifts: new Map() };
window.console_state = state;  // for tests and debugging: what the page currently shows

function status(text) {
  $("#status").textContent = text;
}

async function goLive(event) {
  if (!state.me) throw new Error("sign in first");
  const form = event.target;
  state.live = await api("POST", "/api/livestreams", { title: form.title.value, category: form.category.value || "general" });
  status("Starting camera…");
  state.camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  $("#preview").srcObject = state.camera;
  const go = await api("POST", `/api/livestreams/${state.live.id}/start`);
  // The start endpoint's URL names the configured public base; publish to its path on this origin.
  state.media = await WebRtcSession.publish(new URL(go.ingest.whip_url).pathname, go.ingest.publish_token, state.camera);
  state.media.pc.addEventListener("connectionstatechange", () => status(`On air: ${state.media.pc.connectionState}`));
  status(`On air: ${state.live.id}`);
  $("#create").hidden = true;
  $("#end").hidden = false;
  const link = $("#watch-link");
  link.href = `/watch/${state.live.id}`;
  link.hidden = false;
  state.room = new LiveRoom(state.live.id, { token: accessToken, renew: refresh, onEvent, onSnapshot });
  await loadProducts();
}

async function endLive() {
  await api("POST", `/api/livestreams/${state.live.id}/end`);
  await state.media?.stop();
  state.camera?.getTracks().forEach((t) => t.stop());
  state.room?.close();
  status("The live has ended.");
  $("#end").hidden = true;
}

// Room state -------------------------------------------------------------------------------------------

function onSnapshot(snapshot) {
  $("#viewers").textContent = snapshot.viewers;
  if (snapshot.pk) showBattle(snapshot.pk);
  showPinned(snapshot.pinned_product);
  $("#guests").replaceChildren();
  snapshot.seats.forEach((seat) => showGuest(seat.user_id));
}

function onEvent(event) {
  const data = event.data;
  switch (data.type) {
    case "viewer.joined": case "viewer.left": case "viewer.count":
      $("#viewers").textContent = data.viewers; break;
    case "chat.message":
      prepend($("#chat"), el("li", {}, nameTag(data.user_id), " ", data.text)); break;
    case "gift.sent": showGift(data); break;
    case "pk.invited": case "pk.countdown": case "pk.started": case "pk.ended": case "pk.cancelled":
      showBattle(data.battle); break;
    case "pk.score": showScore(data.score_a, data.score_b); break;
    case "cohost.requested": showRequest(data.user_id); break;
    case "cohost.joined": dropRequest(data.seat.user_id); showGuest(data.seat.user_id); break;
    case "cohost.left": case "cohost.declined": dropRequest(data.user_id); $(`#guest-${CSS.escape(data.user_id)}`)?.remove(); break;
    case "shop.pinned": showPinned(data.pin); break;
    case "shop.order":
      $("#orders").textContent = `${data.orders} order${data.orders === 1 ? "" : "s"} in this live`;
      loadProducts().catch(showError);  // the stock changed
      break;
    case "room.ended": status("The live has ended."); break;
    default: break;
  }
}

function showGift(gift) {
  const info = state.gifts.get(gift.gift_id) || { name: gift.gift_id, animation: "?" };
  prepend($("#gifts"), el("li", { class: "gift", "data-gift": gift.gift_id },
    nameTag(gift.sender_id), ` sent ${info.name} ×${gift.quantity} `,
    el("span", { class: "animation" }, `[${info.animation}]`),
    gift.combo_count > 1 ? ` combo ${gift.combo_count}` : "", ` · ${gift.coins} coins`));
}

function showBattle(view) {
  const battle = state.battle = mergeBattle(state.battle, view);
  const incoming = $("#pk-incoming");
  incoming.replaceChildren();
  if (battle.state === "invited" && battle.b.room_id === state.live.id) {
    incoming.append(nameTag(battle.a.host_id, "span"), " challenges you ",
      el("button", { type: "button", onclick: action(() => answerBattle("accept")) }, "Accept"),
      el("button", { type: "button", onclick: action(() => answerBattle("reject")) }, "Reject"));
  }
  drawBattle(battle, state.live.id);
}

function showScore(scoreA, scoreB) {
  if (state.battle) showBattle(withScores(state.battle, scoreA, scoreB));
}

async function inviteBattle(event) {
  const opponent = event.target.opponent.value.trim();
  showBattle((await api("POST", "/api/pk-battles", { room_id: state.live.id, opponent_room_id: opponent })).battle);
}

async function answerBattle(answer) {
  showBattle((await api("POST", `/api/pk-battles/${state.battle.battle_id}/${answer}`)).battle);
}

async function listLives() {
  const page = await api("GET", "/api/livestreams?limit=50");
  $("#lives").replaceChildren(...page.items.filter((l) => !state.live || l.id !== state.live.id)
    .map((l) => el("option", { value: l.id }, l.title)));
}

// Co-hosts -----------------------------------------------------------------------------------------------

function showRequest(userId) {
  dropRequest(userId);
  $("#requests").append(el("li", { id: `request-${userId}` }, nameTag(userId), " asks to join ",
    el("button", { type: "button", onclick: action(() => api("POST", `/api/multi-host/${state.live.id}/accept`, { user_id: userId })) }, "Accept"),
    el("button", { type: "button", onclick: action(async () => {
      await api("POST", `/api/multi-host/${state.live.id}/reject`, { user_id: userId });
      dropRequest(userId);
    }) }, "Decline")));
}

function dropRequest(userId) {
  $(`#request-${CSS.escape(userId)}`)?.remove();
}

function showGuest(userId) {
  $(`#guest-${CSS.escape(userId)}`)?.remove();
  $("#guests").append(el("li", { id: `guest-${userId}` }, nameTag(userId), " on stage ",
    el("button", { type: "button", onclick: action(() => api("POST", `/api/multi-host/${state.live.id}/kick`, { user_id: userId })) }, "Kick")));
}

// Shop ---------------------------------------------------------------------------------------------------

async function loadProducts() {
  const page = await api("GET", `/api/products?seller_id=${encodeURIComponent(state.me.user.id)}&limit=100`);
  $("#products").replaceChildren(...page.items.filter((p) => p.status === "active")
    .map((p) => el("option", { value: p.id }, `${p.title} · ${money(p.price, p.currency)} · ${p.stock} left`)));
}

async function addProduct(event) {
  const form = event.target;
  await api("POST", "/api/products", { title: form.title.value, price: Math.round(Number(form.price.value) * 100),
    stock: Number(form.stock.value) });
  form.reset();
  await loadProducts();
}

async function shopSession() {
  state.shop ??= await api("POST", "/api/live-shopping/session", { livestream_id: state.live.id });
  return state.shop;
}

async function pin(productId) {
  if (!state.live) throw new Error("go live first");
  await api("POST", `/api/live-shopping/${(await shopSession()).id}/pin-product`, { product_id: productId });
}

function showPinned(pinned) {
  $("#pinned").textContent = pinned ? `Pinned: ${pinned.product.title} · ${money(pinned.product.price, pinned.product.currency)}` : "Nothing pinned.";
}

// Wiring -------------------------------------------------------------------------------------------------

async function main() {
  state.me = authBox((s) => { state.me = s; if (s) loadProducts().catch(showError); }, "creator");
  state.gifts = await giftCatalogue();
  $("#create").addEventListener("submit", action(goLive));
  $("#end").addEventListener("click", action(endLive));
  $("#pk-invite").addEventListener("submit", action(inviteBattle));
  $("#pk-invite").opponent.addEventListener("focus", () => listLives().catch(showError));
  $("#chat-form").addEventListener("submit", action(async (event) => {
    if (!state.room) throw new Error("go live first");
    await state.room.call("chat", { room: state.live.id, text: event.target.text.value });
    event.target.reset();
  }));
  $("#product-new").addEventListener("submit", action(addProduct));
  $("#pin").addEventListener("submit", action(() => pin($("#products").value)));
  $("#unpin").addEventListener("click", action(() => pin(null)));
  if (state.me) await loadProducts();
}

main().catch(showError);
