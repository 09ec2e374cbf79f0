// HTTP client for the WCS API: bearer token from session storage, errors with the server's reason.
const TOKEN_KEY = "wcs.token";

export function getToken() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(token) { sessionStorage.setItem(TOKEN_KEY, token); }
export function clearToken() { sessionStorage.removeItem(TOKEN_KEY); }

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const err = body && body.error ? body.error : null;
    const detail = err ? [err.reason || err.message, err.field].filter(Boolean).join(": ")
      : (body && typeof body.detail === "string" ? body.detail : fallback);
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { "Authorization": `Bearer ${getToken() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, null, "server unreachable");
  }
  let data = null;
  const text = await res.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
  if (!res.ok) throw new ApiError(res.status, data, res.statusText);
  return data;
}

// Lists come either bare or wrapped as {items: [...]}.
export function items(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}
