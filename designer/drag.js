/* metrolab form designer — dragging with SortableJS: drags propose, the model decides.
 *
 * SortableJS (a classic script from /static/vendor) moves DOM elements; onDrop translates the drop
 * into a model operation (insert / move), which may be refused, and the lists are then redrawn
 * from the model (render.syncList).
 */
import { add, change } from "./changes.js";
import { editable, model, perf, t } from "./ctx.js";

const SORT_OPTIONS = {
  group: { name: "form", pull: true, put: true },
  draggable: ".dn",
  handle: ".dn-head",
  filter: ".dn-btn",
  preventOnFilter: false,
  animation: 120,
  forceFallback: true,
  fallbackOnBody: true,
  fallbackTolerance: 4,
  swapThreshold: 0.65,
  invertSwap: false,
  emptyInsertThreshold: 14,
  ghostClass: "dn-ghost",
  chosenClass: "dn-chosen",
  dragClass: "dn-drag",
  onEnd: onDrop,
};

/** Make every list under `root` (and root itself, if a list) sortable, once. */
export function initSortables(root) {
  if (!editable) return;
  // Sortable's animation measures every sibling on each move: costly on very large forms.
  SORT_OPTIONS.animation = model.count() > 400 ? 0 : 120;
  const lists = root.matches && root.matches(".dz-list") ? [root] : [];
  lists.push(...root.querySelectorAll(".dz-list"));
  for (const el of lists) {
    if (el.__dz) continue;
    el.__dz = window.Sortable.create(el, SORT_OPTIONS);
  }
}

/** Palette lists: items are cloned out, nothing is dropped in. */
export function initPalette() {
  document.querySelectorAll(".dz-pal-list").forEach((el) => {
    window.Sortable.create(el, {
      group: { name: "form", pull: "clone", put: false },
      sort: false,
      draggable: ".dz-pal-item",
      forceFallback: true,
      fallbackOnBody: true,
      fallbackTolerance: 4,
      animation: 120,
      disabled: !editable,
      onEnd: onDrop,
    });
  });
}

/** Where the dropped element sits among the list's nodes (a palette item counts as a node). */
function domIndex(list, item) {
  let i = 0;
  for (const c of list.children) {
    if (c === item) return i;
    if (c.classList.contains("dn") && !c.classList.contains("dn-ghost")) i++;
  }
  return i;
}

function onDrop(evt) {
  const from = evt.from;
  const to = evt.to;
  perf.lastDrop = { owner: to.dataset.owner, slot: to.dataset.slot, index: evt.newDraggableIndex, newIndex: evt.newIndex, palette: from.classList.contains("dz-pal-list"), toClass: to.className };
  if (from.classList.contains("dz-pal-list")) {
    if (to === from || !to.classList.contains("dz-list")) return;
    const kind = evt.item.dataset.make;
    const index = domIndex(to, evt.item);
    evt.item.remove();
    add(kind, +to.dataset.owner, to.dataset.slot, index, to);
    return;
  }
  const uid = +evt.item.dataset.uid;
  const fromOwner = +from.dataset.owner;
  const fromSlot = from.dataset.slot;
  const toOwner = +to.dataset.owner;
  const toSlot = to.dataset.slot;
  const index = domIndex(to, evt.item);
  const place = model.parentOf(uid);
  if (place && place.owner === toOwner && place.slot === toSlot && place.index === index) return;
  change(() => model.move(uid, toOwner, toSlot, index, t), {
    lists: [[fromOwner, fromSlot, from], [toOwner, toSlot, to]],
    select: uid,
  });
}
