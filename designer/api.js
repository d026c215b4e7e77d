/* metrolab form designer — talking to the server: JSON over fetch with the CSRF header. */
import { csrf } from "./ctx.js";

/** → { status, body } (body null when the answer is not JSON); throws only when offline. */
export async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: Object.assign({ Accept: "application/json" }, body !== undefined ? { "Content-Type": "application/json" } : {}, method !== "GET" ? { "x-csrftoken": csrf } : {}),
    body: body !== undefined && method !== "GET" ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, body: data };
}
