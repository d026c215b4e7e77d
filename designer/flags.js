/* metrolab form designer — problems: key problems found here (model.keyProblems) and definition
 * problems from the server's preview, flagged on their nodes and listed in the problems tab.
 */
import { $, esc, model, pick, state, t } from "./ctx.js";
import { KEYED, kindName, nodeKey } from "./keys.js";
import { breadcrumb } from "./properties.js";
import { elementFor } from "./render.js";
import { select } from "./selection.js";
import { showTab } from "./tabs.js";

let keyFlags = new Map(); // uid → message
let serverFlags = new Map(); // uid → [message]
let serverProblems = []; // [{place, message, uid}]

export function hasKeyProblems() { return keyFlags.size > 0; }

/** Recompute key problems and reflag what changed (every node when `all`). */
export function applyFlags(all) {
  const next = model.keyProblems(t);
  const touched = new Set([...keyFlags.keys(), ...next.keys(), ...serverFlags.keys()]);
  if (all) model.nodes.forEach((_, u) => touched.add(u));
  keyFlags = next;
  touched.forEach(flagNode);
  updateProblemCount();
}

function flagNode(uid) {
  const el = elementFor(uid);
  if (!el) return;
  const messages = [keyFlags.get(uid), ...(serverFlags.get(uid) || [])].filter(Boolean);
  el.classList.toggle("has-problem", messages.length > 0);
  const flag = el.querySelector(":scope > .dn-head > .dn-flag");
  if (flag) { flag.textContent = messages.length ? "!" : ""; flag.title = messages.join("\n"); }
  if (messages.length) el.setAttribute("aria-description", messages.join("；")); else el.removeAttribute("aria-description");
}

/** The server's problems ([{place, message}]); each is placed on its node when it can be. */
export function setServerProblems(problems) {
  const old = [...serverFlags.keys()];
  serverProblems = problems;
  serverFlags = new Map();
  for (const p of problems) {
    const uid = model.resolvePlace(p.place);
    p.uid = uid;
    if (uid) { if (!serverFlags.has(uid)) serverFlags.set(uid, []); serverFlags.get(uid).push(p.message); }
  }
  [...old, ...serverFlags.keys()].forEach(flagNode);
  updateProblemCount();
}

function updateProblemCount() {
  const n = serverProblems.length + [...keyFlags.keys()].filter((u) => !serverFlags.has(u)).length;
  const badge = $("#dz-problem-count");
  badge.textContent = n ? String(n) : "";
  badge.hidden = !n;
  if (state.activeTab === "problems") showProblems();
}

export function showProblems() {
  const items = [];
  keyFlags.forEach((m, uid) => items.push({ uid, place: breadcrumbWith(uid), message: m }));
  serverProblems.forEach((p) => { if (!items.some((i) => i.uid === p.uid && i.message === p.message)) items.push({ uid: p.uid, place: p.uid ? breadcrumbWith(p.uid) : p.place, message: p.message }); });
  $("#dz-problems").innerHTML = items.length
    ? `<ul class="dz-problem-list">${items.map((p) => `<li><button type="button" class="ml-link" data-goto="${p.uid || ""}">${esc(p.place)}</button><div>${esc(p.message)}</div></li>`).join("")}</ul>`
    : `<p class="dz-ok-note">✓ ${t("no_problems")}</p>`;
}

function breadcrumbWith(uid) {
  const n = model.nodes.get(uid);
  if (!n) return "";
  const here = (pick(n.label) || kindName(n, t)) + (nodeKey(n) && KEYED.has(n.type) ? ` (${nodeKey(n)})` : "");
  const up = breadcrumb(uid);
  return (up === t("top_level") ? "" : up + " › ") + here;
}

export function initFlags() {
  $("#dz-problems").addEventListener("click", (e) => {
    const b = e.target.closest("[data-goto]");
    if (b && b.dataset.goto) { select(+b.dataset.goto, { focus: true }); showTab("props"); }
  });
}
