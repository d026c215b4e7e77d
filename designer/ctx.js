/* metrolab form designer — the page's shared context: boot data, texts, the model, shared state.
 *
 * Read once when the page loads (the server writes the boot JSON into #dz-boot). Every page module
 * imports this; it imports only the model, so it is always evaluated first.
 */
import { Model } from "./model.js";

export const boot = JSON.parse(document.getElementById("dz-boot").textContent);
export const T = boot.T;
export const t = (k) => (k in T ? T[k] : k);
export const $ = (sel, root) => (root || document).querySelector(sel);
export const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
export const lang = boot.lang;
export const pick = (label) => (label && typeof label === "object" ? label[lang] || label.zh || label.en || "" : label || "");
export const csrf = (() => { try { return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"]; } catch (e) { return ""; } })();
export const editable = boot.editable;

/** Timings read by the browser tests and bench/designer.py. */
export const perf = (window.__dz = { renders: 0, lastDown: 0, lastRender: 0, ready: false, previews: 0 });
export const model = new Model(boot.definition, boot.functions);
export const app = $("#dz-app");
export const canvas = $("#dz-canvas");

/** State more than one module reads: the selected uid, the open tab, the input being typed in,
 * the server's revision of the draft. */
export const state = { selected: null, activeTab: "props", typingFor: null, revision: boot.revision };

export function clock(d) { return (d || new Date()).toLocaleTimeString("zh-CN", { hour12: false }); }
