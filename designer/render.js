/* metrolab form designer — the canvas: the model drawn as nested lists, and kept in step with it.
 *
 * renderAll draws everything; after an operation only the touched lists are reconciled with the
 * model by uid (syncList), so a refused or odd drop leaves the DOM exactly as the model says.
 */
import { $, boot, canvas, editable, esc, model, perf, pick, state, t } from "./ctx.js";
import { applyFlags } from "./flags.js";
import { kindName, nodeKey } from "./keys.js";

const CONTAINER_CAPTION = { children: "", columns: "cap_table_columns", point_columns: "cap_point_columns" };
const UNKEYED_LOOK = new Set(["section", "heading", "columns"]);

export function catalogueName(code) { return code && boot.catalogue[code] ? boot.catalogue[code].name : code || t("none"); }

export function headHTML(node) {
  const key = nodeKey(node);
  const kind = kindName(node, t);
  const meta = [];
  if (node.type === "field") {
    if (node.unit) meta.push(esc(node.unit));
    if (node.control === "number" && node.decimals != null) meta.push(t("meta_decimals").replace("{n}", node.decimals));
    if (node.min != null || node.max != null) meta.push(`${node.min != null ? esc(node.min) : "−∞"} … ${node.max != null ? esc(node.max) : "∞"}`);
    if (Array.isArray(node.options) && node.options.length) meta.push(esc(node.options.map((o) => pick(o.label) || o.value).slice(0, 4).join(" / ")) + (node.options.length > 4 ? " …" : ""));
  }
  if (node.type === "computed" || node.type === "conclusion") {
    if (node.expression) meta.push(`<code class="dn-expr">= ${esc(node.expression.length > 60 ? node.expression.slice(0, 60) + "…" : node.expression)}</code>`);
    if (node.round) meta.push(t("meta_round").replace("{r}", esc(node.round)));
  }
  if (node.type === "indicator_table") meta.push(esc(t("meta_catalogue").replace("{c}", catalogueName(node.catalogue || model.defn.catalogue))));
  if (node.type === "group" && node.repeat) meta.push(t("meta_repeat"));
  if (node.type === "environment") meta.push(esc((node.fields || ["temperature", "humidity", "pressure"]).map((f) => t("env_" + f)).join("、")));
  const label = node.type === "columns" ? t("cols_n").replace("{n}", (node.columns || []).length) : pick(node.label);
  return `<span class="dn-grip" aria-hidden="true">⠿</span>` +
    `<span class="dn-kind k-${node.type}">${esc(kind)}</span>` +
    `<span class="dn-label">${esc(label) || `<i class="dn-nolabel">${t("no_label")}</i>`}${node.required ? '<b class="dn-req" title="' + t("p_required") + '">*</b>' : ""}</span>` +
    (key && !UNKEYED_LOOK.has(node.type) ? `<code class="dn-key">${esc(key)}</code>` : "") +
    (meta.length ? `<span class="dn-meta">${meta.join(" · ")}</span>` : "") +
    (node.visible_if ? `<span class="dn-cond" title="${esc(t("p_visible_if") + ": " + node.visible_if)}">${t("meta_cond")}</span>` : "") +
    `<span class="dn-flag" aria-hidden="true"></span>` +
    (editable ? `<span class="dn-tools"><button type="button" class="dn-btn" data-act="dup" tabindex="-1" title="${t("duplicate")} (Ctrl+D)">${t("duplicate")}</button><button type="button" class="dn-btn dn-del" data-act="del" tabindex="-1" title="${t("delete")} (Delete)">✕</button></span>` : "");
}

function slotCaption(slot) {
  if (/^col\d+$/.test(slot)) return t("cap_column").replace("{n}", +slot.slice(3) + 1);
  if (slot.startsWith("by:")) return t("cap_by_item").replace("{c}", slot.slice(3));
  return CONTAINER_CAPTION[slot] ? t(CONTAINER_CAPTION[slot]) : "";
}

function listHTML(owner, slot, list, caption) {
  let h = `<div class="dz-slot${/^col\d+$/.test(slot) ? " is-col" : ""}">`;
  if (caption) h += `<div class="dz-slot-cap">${esc(caption)}</div>`;
  h += `<div class="dz-list" data-owner="${owner}" data-slot="${esc(slot)}" data-empty="${esc(t("drop_here"))}">`;
  for (const n of list) if (n && typeof n === "object") h += nodeHTML(n);
  return h + "</div></div>";
}

function nodeHTML(node) {
  const uid = model.uidOf(node);
  const sel = uid === state.selected;
  let h = `<div class="dn dn-${esc(node.type)}${sel ? " is-sel" : ""}" data-uid="${uid}" role="treeitem" tabindex="${sel ? 0 : -1}" aria-selected="${sel}"><div class="dn-head">${headHTML(node)}</div>`;
  const slots = model.slots(node);
  if (slots.length) {
    h += `<div class="dn-body${node.type === "columns" ? " is-cols" : ""}" role="group">`;
    slots.forEach(([slot, list]) => { h += listHTML(uid, slot, list, slotCaption(slot)); });
    h += "</div>";
  }
  return h + "</div>";
}

export function elementFor(uid) { return canvas.querySelector(`.dn[data-uid="${uid}"]`); }

export function listElement(owner, slot) {
  return owner === 0 ? canvas.querySelector(".dz-root") : canvas.querySelector(`.dz-list[data-owner="${owner}"][data-slot="${CSS.escape(slot)}"]`);
}

function fromHTML(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  return tpl.content.firstElementChild;
}

export function renderAll() {
  const start = performance.now();
  canvas.innerHTML = `<div class="dz-list dz-root" data-owner="0" data-slot="layout" data-empty="${esc(t("drop_here_root"))}">${model.defn.layout.map(nodeHTML).join("")}</div>`;
  applyFlags(true);
  rendered(start);
}

/** Make list element `el` show model list (owner, slot): keep elements by uid, create the new. */
export function syncList(el, owner, slot) {
  if (!el) return;
  const list = model.list(owner, slot);
  const keep = new Map();
  for (const c of [...el.children]) {
    if (c.classList.contains("dn") && c.dataset.uid) keep.set(+c.dataset.uid, c);
    else c.remove();
  }
  list.forEach((node, i) => {
    const uid = model.uidOf(node);
    let child = keep.get(uid);
    if (child) keep.delete(uid);
    else {
      const elsewhere = elementFor(uid);
      child = elsewhere || fromHTML(nodeHTML(node));
    }
    if (el.children[i] !== child) el.insertBefore(child, el.children[i] || null);
  });
  keep.forEach((c) => c.remove());
}

/** Redraw one node's head (a property changed). */
export function refreshNode(uid) {
  const el = elementFor(uid);
  const node = model.nodes.get(uid);
  if (!el || !node) return;
  el.querySelector(":scope > .dn-head").innerHTML = headHTML(node);
}

/** Redraw one node with its lists (its shape changed, e.g. a column added). */
export function rerenderNode(uid) {
  const el = elementFor(uid);
  const node = model.nodes.get(uid);
  if (!el || !node) return;
  const fresh = fromHTML(nodeHTML(node));
  el.replaceWith(fresh);
}

/** Count a render (the tests wait on perf.renders) and show the node count. */
export function rendered(start) {
  perf.renders++;
  perf.lastRender = performance.now();
  perf.lastRenderMs = perf.lastRender - start;
  $("#dz-count").textContent = t("node_count").replace("{n}", model.count());
}
