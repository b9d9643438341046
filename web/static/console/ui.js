// Small DOM helpers shared by the pages, and the sign-in / register form.
import { register, session, signIn, signOut, userName } from "./api.js";

export const $ = (selector) => document.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// Errors go to the page's #error line: the problem's `detail` (see api.js), never a stack trace.
export function showError(err) {
  const line = $("#error");
  line.textContent = err ? String(err.message || err) : "";
  line.hidden = !err;
}

// Run an action from a button or form: clear the error line, report a failure there.
export function action(fn) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    showError(null);
    try {
      await fn(event);
    } catch (err) {
      showError(err);
    }
  };
}

export function prepend(list, item, keep = 50) {
  list.prepend(item);
  while (list.children.length > keep) list.lastChild.remove();
}

// The #auth box: a sign-in form (or register, with the account type) while signed out, the user's name
// and a sign-out button while signed in. `onChange(session)` runs after either.
export function authBox(onChange, accountType = "user") {
  const box = $("#auth");
  const draw = () => {
    const current = session();
    box.replaceChildren();
    if (current) {
      box.append(el("span", { id: "whoami" }, `Signed in as ${current.user.username}`), " ",
        el("button", { type: "button", onclick: action(async () => { await signOut(); draw(); onChange(null); }) },
          "Sign out"));
      return;
    }
    const login = el("input", { name: "login", placeholder: "username or email", required: "", autocomplete: "username" });
    const password = el("input", { name: "password", type: "password", placeholder: "password", required: "",
      autocomplete: "current-password" });
    const email = el("input", { name: "email", type: "email", placeholder: "email (to register)" });
    const form = el("form", { id: "signin", onsubmit: action(async () => {
      onChange(await signIn(login.value, password.value));
      draw();
    }) }, login, password, el("button", { type: "submit" }, "Sign in"), " or ", email,
    el("button", { type: "button", onclick: action(async () => {
      onChange(await register(login.value, email.value, password.value, accountType));
      draw();
    }) }, "Register"));
    box.append(form);
  };
  draw();
  return session();
}

export function money(minor, currency) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
}

// A user's name: drawn with the id at once, replaced by the username when it is known.
export function nameTag(userId, tag = "b") {
  const node = el(tag, { class: "user", "data-user": userId, title: userId }, userId);
  userName(userId).then((name) => { node.textContent = name; });
  return node;
}

// The PK score bar (both pages): this live's side on the left, whichever side of the battle it is.
export function drawBattle(battle, roomId) {
  const [me, them] = battle.a.room_id === roomId ? ["a", "b"] : ["b", "a"];
  $("#pk-board").hidden = false;
  $("#pk-a").replaceChildren(nameTag(battle[me].host_id, "span"));
  $("#pk-b").replaceChildren(nameTag(battle[them].host_id, "span"));
  $("#pk-score-a").textContent = battle[me].score;
  $("#pk-score-b").textContent = battle[them].score;
  // +1: a side with no points keeps a sliver of the bar
  $("#pk-a").style.flexGrow = battle[me].score + 1;
  $("#pk-b").style.flexGrow = battle[them].score + 1;
  const winner = battle.winner === "draw" ? "draw" : battle.winner ? `winner ${battle[battle.winner].host_id}` : "";
  $("#pk-state").textContent = battle.state + (winner ? ` · ${winner}` : "");
}

// A battle only moves forward (invited -> countdown -> active -> ended, or rejected/expired), and a REST
// answer can arrive after the room event that followed it: keep the further state and the larger scores.
const STAGES = { invited: 0, countdown: 1, active: 2, ended: 3, rejected: 3, expired: 3 };
export function mergeBattle(current, incoming) {
  if (!current || current.battle_id !== incoming.battle_id) return incoming;
  const latest = STAGES[incoming.state] >= STAGES[current.state] ? incoming : current;
  return withScores(latest, Math.max(current.a.score, incoming.a.score), Math.max(current.b.score, incoming.b.score));
}

// Scores only rise (rooms.events.PkScore): keep the larger of what we have and what arrives.
export function withScores(battle, scoreA, scoreB) {
  return { ...battle, a: { ...battle.a, score: Math.max(scoreA, battle.a.score) },
    b: { ...battle.b, score: Math.max(scoreB, battle.b.score) } };
}
