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

/** Ask for a line of text (the change note): resolves to the trimmed text, or null if cancelled. */
export function askText(title, label, okLabel) {
  const d = $("#dz-dialog");
  d.innerHTML = `<form method="dialog" class="dz-ask"><h2>${esc(title)}</h2><label class="dz-ask-label">${esc(label)} <b class="dz-req">*</b><textarea name="text" rows="3" maxlength="2000" aria-required="true"></textarea></label><p class="dz-ask-msg" role="alert"></p><div class="dz-dialog-actions"><button value="ok">${esc(okLabel)}</button><button value="cancel" class="secondary" formnovalidate>${t("cancel")}</button></div></form>`;
  const area = d.querySelector("textarea");
  return new Promise((resolve) => {
    d.querySelector("form").addEventListener("submit", (e) => {
      const ok = e.submitter && e.submitter.value === "ok";
      if (ok && !area.value.trim()) { e.preventDefault(); d.querySelector(".dz-ask-msg").textContent = t("note_required"); area.focus(); return; }
      resolve(ok ? area.value.trim() : null);
    });
    d.addEventListener("cancel", () => resolve(null), { once: true });
    d.showModal();
    area.focus();
  });
}
