// Thin client for the Twister REST API and event stream (the same public API users script against).
const TOKEN_KEY = 'twister.token';
const USER_KEY = 'twister.user';

export function session() {
  const token = localStorage.getItem(TOKEN_KEY);
  const user = localStorage.getItem(USER_KEY);
  return token ? { token, user: user ? JSON.parse(user) : null } : null;
}

export function saveSession(token, user) {
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function clearSession() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status; this.code = code; this.details = details;
  }
}

export function resourceUrl(path) {
  return '/resources' + path.split('/').map(encodeURIComponent).join('/');
}

export async function api(method, path, body, headers = {}) {
  const h = { ...headers };
  const s = session();
  if (s) h['Authorization'] = 'Bearer ' + s.token;
  let payload;
  if (body !== undefined) { h['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const r = await fetch('/api/v1' + path, { method, headers: h, body: payload });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (r.status === 401 && path !== '/auth/login') {
    clearSession();
    window.dispatchEvent(new Event('twister:logout'));
  }
  if (!r.ok) {
    const e = data && data.error ? data.error : {};
    throw new ApiError(r.status, e.code || 'http_' + r.status, e.message || r.statusText, e.details);
  }
  return { data, etag: r.headers.get('ETag'), status: r.status };
}

// Fetches a file from the API with the session's token and hands it to the browser as a download named
// `filename`; resolves to its size in bytes, rejects with an ApiError carrying the server's message.
export async function downloadFile(path, filename) {
  const s = session();
  const r = await fetch('/api/v1' + path, { headers: s ? { Authorization: 'Bearer ' + s.token } : {} });
  if (!r.ok) {
    let e = {};
    try { e = (await r.json()).error || {}; } catch (_) { /* not JSON */ }
    throw new ApiError(r.status, e.code || 'http_' + r.status, e.message || r.statusText, e.details);
  }
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url; a.download = filename;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob.size;
}

// Live events over a WebSocket; the token travels as a subprotocol, never in the URL. Reconnects with back-off.
export function subscribe(topics, onEvent, onState) {
  let ws = null, closed = false, delay = 500;
  function open() {
    const s = session();
    if (!s || closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/api/v1/events?topics=${encodeURIComponent(topics.join(','))}`,
      ['twister.v1', 'bearer.' + s.token]);
    ws.onopen = () => { delay = 500; onState && onState('live'); };
    ws.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (_) { /* ignore malformed */ } };
    ws.onclose = () => {
      onState && onState('offline');
      if (!closed) { setTimeout(open, delay); delay = Math.min(delay * 2, 10000); }
    };
  }
  open();
  return { close() { closed = true; if (ws) ws.close(); } };
}
