// The admin API, as scripts call it; the session cookie authenticates and every write echoes the CSRF token.
let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export function setCsrf(token) { csrf = token; }

export async function api(method, path, body) {
  const headers = { 'accept': 'application/json' };
  if (method !== 'GET') headers['x-sanjia-csrf'] = csrf ?? '';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await r.text();
  const json = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

export const get = (path) => api('GET', path);
