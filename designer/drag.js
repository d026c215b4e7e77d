/* metrolab form designer — dragging with pointer events: drags propose, the model decides.
 *
 * While dragging, the list under the pointer is the target (the innermost .dz-list: a section's,
 * a column's, a table's columns, or the top level); it is highlighted and an insertion line shows
 * the gap the drop will land in. The gap is computed from the list's own nodes (the dragged node
 * itself not counted), so the drop lands exactly where the line was. Nothing in the DOM moves
 * while dragging: on release the model inserts / moves (or refuses) and the lists are redrawn.
 */
import { add, change } from "./changes.js";
import { $, canvas, editable, model, perf, t } from "./ctx.js";

const START_PX = 4; // a click that wobbles is not a drag
const EDGE_PX = 40; // near the canvas's edge, the canvas scrolls

let drag = null; // { kind | uid, source, x0, y0, started, ghost, target: { list, index } }
let line = null;
let endedAt = 0; // the click that ends a drag must not select what is under the pointer

function lineEl() {
  if (!line) {
    line = document.createElement("div");
    line.className = "dz-insert";
    line.setAttribute("aria-hidden", "true");
    document.body.appendChild(line);
  }
  return line;
}

/** The nodes of a list that count for the drop index (never the dragged node itself). */
function nodesOf(list) {
  return [...list.children].filter((c) => c.classList.contains("dn") && !(drag && drag.uid && +c.dataset.uid === drag.uid));
}

/** Where a drop at (x, y) lands: the innermost list under the pointer and the gap in it. */
function targetAt(x, y) {
  const hit = document.elementFromPoint(x, y);
  if (!hit || !canvas.contains(hit)) return null;
  let list = hit.closest(".dz-list");
  if (!list) return null;
  const item = drag.uid ? canvas.querySelector(`.dn[data-uid="${drag.uid}"]`) : null;
  if (item && item.contains(list)) return null; // not into itself
  // Over a node's head: the gap before or after that node, in the list that holds it.
  const nodes = nodesOf(list);
  let index = nodes.length;
  for (let i = 0; i < nodes.length; i++) {
    const r = nodes[i].getBoundingClientRect();
    if (y < r.top + r.height / 2) { index = i; break; }
  }
  return { list, index };
}

function showTarget(target) {
  document.querySelectorAll(".dz-list.is-target").forEach((el) => { if (!target || el !== target.list) el.classList.remove("is-target"); });
  const l = lineEl();
  if (!target) { l.hidden = true; return; }
  target.list.classList.add("is-target");
  const nodes = nodesOf(target.list);
  const box = target.list.getBoundingClientRect();
  let top;
  if (!nodes.length) top = box.top + Math.min(box.height / 2, 18);
  else if (target.index < nodes.length) top = nodes[target.index].getBoundingClientRect().top - 3;
  else top = nodes[nodes.length - 1].getBoundingClientRect().bottom + 3;
  l.hidden = false;
  l.style.left = `${box.left + 4 + window.scrollX}px`;
  l.style.width = `${Math.max(box.width - 8, 20)}px`;
  l.style.top = `${top - 1.5 + window.scrollY}px`;
}

function autoscroll(y) {
  const box = canvas.getBoundingClientRect();
  if (y < box.top + EDGE_PX) canvas.scrollTop -= 12;
  else if (y > box.bottom - EDGE_PX) canvas.scrollTop += 12;
}

function onDown(e) {
  if (!editable || e.button !== 0 || drag) return;
  const pal = e.target.closest(".dz-pal-item");
  const head = pal ? null : e.target.closest(".dn-head");
  if (!pal && (!head || !canvas.contains(head) || e.target.closest(".dn-btn"))) return;
  const source = pal || head.parentElement;
  drag = { kind: pal ? pal.dataset.make : null, uid: pal ? null : +source.dataset.uid, source, x0: e.clientX, y0: e.clientY, started: false, target: null };
  document.addEventListener("pointermove", onMove);
  document.addEventListener("pointerup", onUp);
  document.addEventListener("keydown", onKey, true);
}

function begin() {
  drag.started = true;
  drag.source.classList.add("dn-chosen");
  const ghost = document.createElement("div");
  ghost.className = "dz-ghost";
  ghost.textContent = (drag.source.querySelector(".dn-label") || drag.source).textContent.trim().slice(0, 40);
  document.body.appendChild(ghost);
  drag.ghost = ghost;
  document.body.classList.add("dz-dragging");
}

function onMove(e) {
  if (!drag) return;
  if (!drag.started) {
    if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) < START_PX) return;
    begin();
  }
  e.preventDefault();
  drag.ghost.style.transform = `translate(${e.clientX + 12}px, ${e.clientY + 8}px)`;
  autoscroll(e.clientY);
  drag.target = targetAt(e.clientX, e.clientY);
  showTarget(drag.target);
}

function end() {
  document.removeEventListener("pointermove", onMove);
  document.removeEventListener("pointerup", onUp);
  document.removeEventListener("keydown", onKey, true);
  if (drag && drag.started) {
    drag.source.classList.remove("dn-chosen");
    drag.ghost.remove();
    document.body.classList.remove("dz-dragging");
    endedAt = performance.now();
  }
  showTarget(null);
  drag = null;
}

function onKey(e) { if (e.key === "Escape") { e.preventDefault(); end(); } }

function onUp(e) {
  const d = drag;
  if (!d || !d.started) { end(); return; }
  const target = targetAt(e.clientX, e.clientY) || d.target;
  end();
  if (!target) return;
  const owner = +target.list.dataset.owner;
  const slot = target.list.dataset.slot;
  perf.lastDrop = { owner, slot, index: target.index, palette: !!d.kind };
  if (d.kind) { add(d.kind, owner, slot, target.index, target.list); return; }
  const place = model.parentOf(d.uid);
  if (place && place.owner === owner && place.slot === slot && place.index === target.index) return;
  const fromList = d.source.parentElement;
  change(() => model.move(d.uid, owner, slot, target.index, t), {
    lists: [[place.owner, place.slot, fromList], [owner, slot, target.list]],
    select: d.uid,
  });
}

/** One listener for the canvas and the palette (lists drawn later need nothing). */
export function initDrag() {
  if (!editable) return;
  canvas.addEventListener("pointerdown", onDown);
  $(".dz-palette").addEventListener("pointerdown", onDown);
  window.addEventListener("click", (e) => { if (performance.now() - endedAt < 80) { e.stopPropagation(); e.preventDefault(); } }, true);
  // A drag starts from the head: the browser's own text selection / image drag would fight it.
  canvas.addEventListener("dragstart", (e) => e.preventDefault());
}
