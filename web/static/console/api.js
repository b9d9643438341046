// The REST side of the console: JSON requests with the signed-in user's bearer token, errors as
// RFC 9457 problem details (the user sees `detail`), and the session kept per tab (sessionStorage), so a
// broadcaster tab and a viewer tab of one browser can be different users.

const SESSION_KEY = "mixillo.session";

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function session() {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw ? JSON.parse(raw) : null;
}

function remember(value) {
  if (value) sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(SESSION_KEY);
}

// An Idempotency-Key for one user action (Stripe's semantics: a retry of the action reuses it).
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(method, path, body, headers) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  const current = session();
  if (current) init.headers.Authorization = `Bearer ${current.access_token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

// Trade the refresh token for a new session (rotated on every use); false when signed out or refused.
export async function refresh() {
  const current = session();
  if (!current) return false;
  const response = await fetch("/api/auth/refresh", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: current.refresh_token }),
  });
  if (!response.ok) {
    remember(null);
    return false;
  }
  remember(await response.json());
  return true;
}

// One API call. Access tokens live 15 minutes: a 401 is retried once after rotating the refresh token.
export async function api(method, path, body, headers = {}) {
  let response = await send(method, path, body, headers);
  if (response.status === 401 && session() && !path.startsWith("/api/auth/") && (await refresh())) {
    response = await send(method, path, body, headers);
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : { detail: await response.text() };
  if (!response.ok) throw new ProblemError(response.status, data);
  return data;
}

export async function signIn(login, password) {
  remember(await api("POST", "/api/auth/login", { login, password }));
  return session();
}

export async function register(username, email, password, accountType) {
  remember(await api("POST", "/api/auth/register", { username, email, password, account_type: accountType }));
  return session();
}

export async function signOut() {
  const current = session();
  remember(null);
  if (current) await api("POST", "/api/auth/logout", { refresh_token: current.refresh_token }).catch(() => {});
}

// The gift catalogue, by id; the animation's name is its asset's file name (`.../rose.json` -> "rose").
export async function giftCatalogue() {
  const gifts = await api("GET", "/api/gifts");
  return new Map(gifts.map((g) => [g.id, { ...g, animation: animationName(g.animation_url) }]));
}

export function animationName(url) {
  const file = String(url || "").split("/").pop() || "";
  return file.replace(/\.[^.]*$/, "");
}

// A user's public name (username), looked up once per id; the id itself when the lookup fails.
const names = new Map();
export function userName(userId) {
  if (!names.has(userId)) {
    names.set(userId, api("GET", `/api/users/${encodeURIComponent(userId)}`).then((p) => p.username, () => userId));
  }
  return names.get(userId);
}

export function accessToken() {
  const current = session();
  return current ? current.access_token : null;
}
