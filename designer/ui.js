/* metrolab form designer — messages to the user: toast, modal dialog, banner. */
import { $, esc, t } from "./ctx.js";

let toastTimer = null;

export function toast(text, kind) {
  const el = $("#dz-toast");
  el.textContent = text;
  el.className = "dz-toast is-on" + (kind ? " is-" + kind : "");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = "dz-toast"; }, kind === "bad" ? 5000 : 2200);
}

export function dialog(title, lines) {
  const d = $("#dz-dialog");
  d.innerHTML = `<form method="dialog"><h2>${esc(title)}</h2><ul class="dz-dialog-list">${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul><div class="dz-dialog-actions"><button value="ok" autofocus>${t("ok")}</button></div></form>`;
  d.showModal();
}

/** The banner above the canvas; actions are [data-banner name, label] (handled in save.js). */
export function banner(kind, html, actions) {
  const el = $("#dz-banner");
  el.className = "dz-banner is-" + kind;
  el.hidden = false;
  el.setAttribute("role", kind === "conflict" || kind === "bad" ? "alert" : "status");
  el.innerHTML = `<div class="dz-banner-text">${html}</div><div class="dz-banner-actions">${(actions || []).map(([a, label]) => `<button type="button" class="${a === "reload" || a === "discard" || a === "close" ? "secondary" : ""}" data-banner="${a}">${esc(label)}</button>`).join("")}</div>`;
}

export function closeBanner() { const el = $("#dz-banner"); el.hidden = true; el.innerHTML = ""; }
