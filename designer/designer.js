/* metrolab form designer — the page: canvas, palette, properties, preview, history, autosave.
 *
 * Model ↔ DOM ↔ SortableJS: the definition (MLDesignerModel.Model) is the only truth. The canvas is
 * rendered from it; SortableJS only *proposes* a move: onEnd translates the drop into a model
 * operation (insert / move), which may be refused, and then the touched lists are reconciled with
 * the model by uid (keyed), so a refused or odd drop leaves the DOM exactly as the model says.
 * One delegated listener per pane (no per-node handlers); property edits re-render one node head.
 */
(function () {
  "use strict";

  const { Model, ModelError, nodeKey, kindName } = window.MLDesignerModel;
  const boot = JSON.parse(document.getElementById("dz-boot").textContent);
  const T = boot.T;
  const t = (k) => (k in T ? T[k] : k);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const lang = boot.lang;
  const pick = (label) => (label && typeof label === "object" ? label[lang] || label.zh || label.en || "" : label || "");
  const csrf = (() => { try { return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"]; } catch (e) { return ""; } })();

  const perf = (window.__dz = { renders: 0, lastDown: 0, lastRender: 0, ready: false, previews: 0 });
  const model = new Model(boot.definition, boot.functions);
  const app = $("#dz-app");
  const canvas = $("#dz-canvas");
  const editable = boot.editable;

  let selected = null;
  let undoStack = [];
  let redoStack = [];
  let revision = boot.revision;
  let keyFlags = new Map();
  let serverFlags = new Map();

  // ── rendering ───────────────────────────────────────────────────────────────────────────────

  const CONTAINER_CAPTION = { children: "", columns: "cap_table_columns", point_columns: "cap_point_columns" };

  function headHTML(node) {
    const key = nodeKey(node);
    const kind = kindName(node, t);
    let meta = [];
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
      (model.constructor && key && node.type !== "section" && node.type !== "heading" && node.type !== "columns" ? `<code class="dn-key">${esc(key)}</code>` : "") +
      (meta.length ? `<span class="dn-meta">${meta.join(" · ")}</span>` : "") +
      (node.visible_if ? `<span class="dn-cond" title="${esc(t("p_visible_if") + ": " + node.visible_if)}">${t("meta_cond")}</span>` : "") +
      `<span class="dn-flag" aria-hidden="true"></span>` +
      (editable ? `<span class="dn-tools"><button type="button" class="dn-btn" data-act="dup" tabindex="-1" title="${t("duplicate")} (Ctrl+D)">${t("duplicate")}</button><button type="button" class="dn-btn dn-del" data-act="del" tabindex="-1" title="${t("delete")} (Delete)">✕</button></span>` : "");
  }

  function slotCaption(node, slot, i) {
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
    let h = `<div class="dn dn-${esc(node.type)}${uid === selected ? " is-sel" : ""}" data-uid="${uid}" role="treeitem" tabindex="${uid === selected ? 0 : -1}" aria-selected="${uid === selected}"><div class="dn-head">${headHTML(node)}</div>`;
    const slots = model.slots(node);
    if (slots.length) {
      h += `<div class="dn-body${node.type === "columns" ? " is-cols" : ""}" role="group">`;
      slots.forEach(([slot, list], i) => { h += listHTML(uid, slot, list, slotCaption(node, slot, i)); });
      h += "</div>";
    }
    return h + "</div>";
  }

  function elementFor(uid) { return canvas.querySelector(`.dn[data-uid="${uid}"]`); }
  function listElement(owner, slot) {
    return owner === 0 ? canvas.querySelector(".dz-root") : canvas.querySelector(`.dz-list[data-owner="${owner}"][data-slot="${CSS.escape(slot)}"]`);
  }

  function fromHTML(html) {
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    return tpl.content.firstElementChild;
  }

  function renderAll() {
    const start = performance.now();
    canvas.innerHTML = `<div class="dz-list dz-root" data-owner="0" data-slot="layout" data-empty="${esc(t("drop_here_root"))}">${model.defn.layout.map(nodeHTML).join("")}</div>`;
    initSortables(canvas);
    applyFlags(true);
    rendered(start);
  }

  /** Make list element `el` show model list (owner, slot): keep elements by uid, create the new. */
  function syncList(el, owner, slot) {
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
        if (!elsewhere) initSortables(child);
      }
      if (el.children[i] !== child) el.insertBefore(child, el.children[i] || null);
    });
    keep.forEach((c) => c.remove());
  }

  function refreshNode(uid) {
    const el = elementFor(uid);
    const node = model.nodes.get(uid);
    if (!el || !node) return;
    el.querySelector(":scope > .dn-head").innerHTML = headHTML(node);
  }

  function rerenderNode(uid) {
    const el = elementFor(uid);
    const node = model.nodes.get(uid);
    if (!el || !node) return;
    const fresh = fromHTML(nodeHTML(node));
    el.replaceWith(fresh);
    initSortables(fresh);
  }

  function rendered(start) {
    perf.renders++;
    perf.lastRender = performance.now();
    perf.lastRenderMs = perf.lastRender - start;
    $("#dz-count").textContent = t("node_count").replace("{n}", model.count());
  }

  // ── SortableJS: drags propose, the model decides ─────────────────────────────────────────────

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

  function initSortables(root) {
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

  function initPalette() {
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
    const fromPalette = from.classList.contains("dz-pal-list");
    if (fromPalette) {
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

  // ── changes, history ────────────────────────────────────────────────────────────────────────

  function snapshot() { return JSON.stringify(model.defn); }

  /** Run a model operation: record history, refresh the touched lists, flag, autosave. */
  function change(op, opts) {
    opts = opts || {};
    if (!editable) return null;
    const start = performance.now();
    const before = snapshot();
    let result;
    try {
      result = op();
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      toast(e.message, "bad");
      (opts.lists || []).forEach(([o, s, el]) => syncList(el || listElement(o, s), o, s));
      rendered(start);
      return null;
    }
    pushHistory(before);
    if (opts.full) renderAll();
    else (opts.lists || []).forEach(([o, s, el]) => syncList(el && el.isConnected ? el : listElement(o, s), o, s));
    const sel = opts.select === undefined ? result : opts.select;
    if (sel !== undefined && sel !== null && model.nodes.has(sel)) select(sel, { focus: opts.focus !== false });
    else if (selected && !model.nodes.has(selected)) select(null);
    rendered(start);
    changed();
    return result;
  }

  function pushHistory(before) {
    undoStack.push(before);
    if (undoStack.length > 200) undoStack.shift();
    redoStack = [];
    updateHistoryButtons();
  }

  function restore(json) {
    const path = selected ? model.pathOf(selected) : null;
    model.load(JSON.parse(json));
    selected = path ? model.uidAtPath(path) : null;
    renderAll();
    showProps();
    changed();
  }

  function undo() {
    if (!editable || !undoStack.length) return;
    redoStack.push(snapshot());
    restore(undoStack.pop());
    updateHistoryButtons();
    toast(t("undone"));
  }

  function redo() {
    if (!editable || !redoStack.length) return;
    undoStack.push(snapshot());
    restore(redoStack.pop());
    updateHistoryButtons();
    toast(t("redone"));
  }

  function updateHistoryButtons() {
    $('[data-cmd="undo"]').disabled = !editable || !undoStack.length;
    $('[data-cmd="redo"]').disabled = !editable || !redoStack.length;
  }

  /** After any change: flags, JSON view, preview and autosave (debounced). */
  function changed() {
    applyFlags();
    if (activeTab === "json") showJSON();
    schedulePreview();
    markDirty();
  }

  // ── operations ──────────────────────────────────────────────────────────────────────────────

  function make(kind, owner) {
    const L = (zh, en) => ({ zh, en });
    const key = (base) => model.freshKey(base, owner);
    const field = (control, base, zh, en, extra) => Object.assign({ type: "field", key: key(base), control, label: L(zh, en) }, extra || {});
    const opts = () => [{ value: "A", label: L(t("opt") + " A", "Option A") }, { value: "B", label: L(t("opt") + " B", "Option B") }];
    switch (kind) {
      case "text": return field("text", "text", t("ctl_text"), "Text");
      case "number": return field("number", "number", t("ctl_number"), "Number", { decimals: 2 });
      case "date": return field("date", "date", t("ctl_date"), "Date");
      case "select": return field("select", "choice", t("ctl_select"), "Choice", { options: opts() });
      case "radio": return field("radio", "choice", t("ctl_radio"), "Choice", { options: opts() });
      case "checkbox": return field("checkbox", "checks", t("ctl_checkbox"), "Checks", { options: opts() });
      case "textarea": return field("textarea", "notes", t("ctl_textarea"), "Notes");
      case "standard_picker": return field("standard_picker", "standards", t("ctl_standard_picker"), "Standards used");
      case "signature": return field("signature", "signature", t("ctl_signature"), "Signature");
      case "file": return field("file", "attachment", t("ctl_file"), "Attachment");
      case "image": return field("image", "photo", t("ctl_image"), "Photo");
      case "section": return { type: "section", label: L(t("new_section"), "Section"), children: [] };
      case "heading": return { type: "heading", label: L(t("kind_heading"), "Heading") };
      case "columns": return { type: "columns", columns: [[], []] };
      case "table": return { type: "table", key: key("table"), label: L(t("kind_table"), "Table"), columns: [], min_rows: 1 };
      case "group": return { type: "group", key: key("group"), label: L(t("kind_group"), "Group"), repeat: true, children: [] };
      case "indicator_table": return { type: "indicator_table", key: key("items"), label: L(t("kind_indicator_table"), "Verification items"), catalogue: model.defn.catalogue || Object.keys(boot.catalogue)[0], point_columns: [] };
      case "computed": return { type: "computed", key: key("calc"), label: L(t("kind_computed"), "Computed"), expression: "" };
      case "environment": {
        const k = key("environment");
        return Object.assign({ type: "environment", label: L(t("kind_environment"), "Environment"), fields: ["temperature", "humidity"] }, k === "environment" ? {} : { key: k });
      }
      case "conclusion": {
        const k = key("conclusion");
        return Object.assign({ type: "conclusion", label: L(t("kind_conclusion"), "Conclusion") }, k === "conclusion" ? {} : { key: k });
      }
      default: throw new ModelError("?");
    }
  }

  function add(kind, owner, slot, index, listEl) {
    return change(() => model.insert(owner, slot, index, make(kind, owner), t), { lists: [[owner, slot, listEl]] });
  }

  /** Keyboard / double-click: into the selected container, else after the selected node. */
  function addNear(kind) {
    if (!editable) return;
    let owner = 0, slot = "layout", index = model.defn.layout.length;
    if (selected) {
      const node = model.nodes.get(selected);
      const slots = model.slots(node);
      if (slots.length) { owner = selected; slot = slots[0][0]; index = slots[0][1].length; }
      else { const p = model.parentOf(selected); owner = p.owner; slot = p.slot; index = p.index + 1; }
    }
    const uid = add(kind, owner, slot, index);
    if (uid) toast(t("added").replace("{kind}", kindName(model.nodes.get(uid), t)));
  }

  function removeNode(uid) {
    const order = model.order();
    const i = order.indexOf(uid);
    const place = model.parentOf(uid);
    change(() => { model.remove(uid); }, { lists: [[place.owner, place.slot]], select: null });
    const next = order.slice(i + 1).find((u) => model.nodes.has(u)) || order.slice(0, i).reverse().find((u) => model.nodes.has(u));
    select(next || null, { focus: true });
  }

  function duplicateNode(uid) {
    const place = model.parentOf(uid);
    change(() => model.duplicate(uid), { lists: [[place.owner, place.slot]] });
  }

  function shift(uid, delta) {
    const place = model.parentOf(uid);
    const target = place.index + delta;
    if (target < 0 || target >= place.list.length) return;
    change(() => model.move(uid, place.owner, place.slot, target, t), { lists: [[place.owner, place.slot]], select: uid });
  }

  // ── selection and keyboard ──────────────────────────────────────────────────────────────────

  function select(uid, opts) {
    if (selected) {
      const old = elementFor(selected);
      if (old) { old.classList.remove("is-sel"); old.tabIndex = -1; old.setAttribute("aria-selected", "false"); }
    }
    selected = uid && model.nodes.has(uid) ? uid : null;
    const el = selected && elementFor(selected);
    if (el) {
      el.classList.add("is-sel");
      el.tabIndex = 0;
      el.setAttribute("aria-selected", "true");
      if (opts && opts.focus) el.focus({ preventScroll: true });
      if (opts && opts.focus) el.scrollIntoView({ block: "nearest" });
    } else {
      const root = canvas.querySelector(".dn");
      if (root) root.tabIndex = 0;
    }
    showProps();
  }

  canvas.addEventListener("pointerdown", () => { perf.lastDown = performance.now(); }, true);
  document.addEventListener("pointerup", () => { perf.lastUp = performance.now(); }, true);
  document.querySelector(".dz-palette").addEventListener("pointerdown", () => { perf.lastDown = performance.now(); }, true);

  canvas.addEventListener("click", (e) => {
    const btn = e.target.closest(".dn-btn");
    const el = e.target.closest(".dn");
    if (!el) { select(null); return; }
    const uid = +el.dataset.uid;
    if (btn) {
      e.stopPropagation();
      if (btn.dataset.act === "del") removeNode(uid);
      if (btn.dataset.act === "dup") duplicateNode(uid);
      return;
    }
    select(uid, { focus: true });
  });

  // Tab / programmatic focus onto a node selects it (roving tabindex).
  canvas.addEventListener("focusin", (e) => {
    const el = e.target.closest(".dn");
    if (el && e.target === el && +el.dataset.uid !== selected) select(+el.dataset.uid);
  });

  canvas.addEventListener("dblclick", (e) => {
    if (e.target.closest(".dn")) focusProps();
  });

  canvas.addEventListener("keydown", (e) => {
    const el = e.target.closest(".dn");
    if (!el || e.target !== el) return;
    const uid = +el.dataset.uid;
    const ctrl = e.ctrlKey || e.metaKey;
    const order = model.order();
    const i = order.indexOf(uid);
    let handled = true;
    if (e.altKey && e.key === "ArrowUp") shift(uid, -1);
    else if (e.altKey && e.key === "ArrowDown") shift(uid, +1);
    else if (e.key === "ArrowDown") select(order[Math.min(i + 1, order.length - 1)], { focus: true });
    else if (e.key === "ArrowUp") select(order[Math.max(i - 1, 0)], { focus: true });
    else if (e.key === "ArrowLeft") { const p = model.parentOf(uid); if (p && p.owner) select(p.owner, { focus: true }); }
    else if (e.key === "ArrowRight") { const first = order[i + 1]; if (first && model.ancestors(first).includes(uid)) select(first, { focus: true }); }
    else if (e.key === "Home") select(order[0], { focus: true });
    else if (e.key === "End") select(order[order.length - 1], { focus: true });
    else if (e.key === "Delete" || e.key === "Backspace") removeNode(uid);
    else if (ctrl && (e.key === "d" || e.key === "D")) duplicateNode(uid);
    else if (e.key === "Enter") focusProps();
    else if (e.key === "Insert" || (!ctrl && !e.altKey && (e.key === "a" || e.key === "A"))) focusPalette();
    else handled = false;
    if (handled) e.preventDefault();
  });

  document.addEventListener("keydown", (e) => {
    const ctrl = e.ctrlKey || e.metaKey;
    const typing = e.target.matches("input, textarea, select");
    if (ctrl && !typing && (e.key === "z" || e.key === "Z") && !e.shiftKey) { e.preventDefault(); undo(); }
    else if (ctrl && !typing && (e.key === "y" || e.key === "Y" || ((e.key === "z" || e.key === "Z") && e.shiftKey))) { e.preventDefault(); redo(); }
    else if (ctrl && (e.key === "s" || e.key === "S")) { e.preventDefault(); saveNow(); }
    else if (e.key === "Escape" && e.target.closest(".dz-side, .dz-palette")) {
      const el = selected && elementFor(selected);
      if (el) el.focus(); else { const first = canvas.querySelector(".dn"); if (first) first.focus(); }
    }
  });

  function focusPalette() {
    const first = document.querySelector(".dz-pal-item");
    if (first) first.focus();
  }

  const palette = document.querySelector(".dz-palette");
  palette.addEventListener("keydown", (e) => {
    const item = e.target.closest(".dz-pal-item");
    if (!item) return;
    const items = [...palette.querySelectorAll(".dz-pal-item")];
    const i = items.indexOf(item);
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); addNear(item.dataset.make); }
    else if (e.key === "ArrowDown" || e.key === "ArrowRight") { e.preventDefault(); (items[i + 1] || item).focus(); }
    else if (e.key === "ArrowUp" || e.key === "ArrowLeft") { e.preventDefault(); (items[i - 1] || item).focus(); }
  });
  palette.addEventListener("dblclick", (e) => {
    const item = e.target.closest(".dz-pal-item");
    if (item) addNear(item.dataset.make);
  });

  // ── property panel ──────────────────────────────────────────────────────────────────────────

  const props = $("#dz-props");
  let typingFor = null; // the input whose edits form the current undo step

  function row(label, inner, hint) {
    return `<label class="dz-prop"><span class="dz-prop-l">${esc(label)}</span>${inner}${hint ? `<small class="dz-hint">${hint}</small>` : ""}</label>`;
  }
  function input(prop, value, attrs) { return `<input data-prop="${prop}" value="${esc(value == null ? "" : value)}" ${attrs || ""}${editable ? "" : " disabled"}>`; }
  function check(prop, value, text) { return `<label class="dz-check"><input type="checkbox" data-prop="${prop}"${value ? " checked" : ""}${editable ? "" : " disabled"}> ${esc(text)}</label>`; }
  function exprBox(prop, value, placeholder) {
    return `<div class="dz-expr"><textarea data-prop="${prop}" data-expr="1" rows="2" spellcheck="false" placeholder="${esc(placeholder || "")}"${editable ? "" : " disabled"}>${esc(value || "")}</textarea><div class="dz-expr-msg" data-msg-for="${prop}" aria-live="polite"></div></div>`;
  }

  function showProps() {
    const node = selected && model.nodes.get(selected);
    typingFor = null;
    if (!node) { props.innerHTML = formProps(); return; }
    const key = nodeKey(node);
    let h = `<div class="dz-props-head"><span class="dn-kind k-${node.type}">${esc(kindName(node, t))}</span><span class="dz-props-path">${esc(breadcrumb(selected))}</span></div>`;
    if (node.type !== "columns") {
      h += `<fieldset class="dz-fs"><legend>${t("p_label")}</legend>` +
        row(t("p_label_zh"), input("label.zh", node.label && node.label.zh, 'lang="zh"')) +
        row(t("p_label_en"), input("label.en", node.label && node.label.en, 'lang="en"')) + "</fieldset>";
    }
    if (model.constructor && window.MLDesignerModel.KEYED.has(node.type)) {
      h += row(t("p_key"), input("key", key, 'spellcheck="false" autocomplete="off" class="dz-mono"') + `<div class="dz-key-msg" aria-live="polite"></div>`, t("p_key_hint"));
    }
    h += typeProps(node);
    h += `<details class="dz-more"${node.visible_if ? " open" : ""}><summary>${t("p_visible_if")}</summary>` + exprBox("visible_if", node.visible_if, t("p_visible_if_ph")) + `</details>`;
    if (node.type !== "columns") h += `<details class="dz-more"${node.help ? " open" : ""}><summary>${t("p_help")}</summary>` + row(t("p_label_zh"), input("help.zh", node.help && node.help.zh)) + row(t("p_label_en"), input("help.en", node.help && node.help.en)) + "</details>";
    if (editable) h += `<div class="dz-prop-actions"><button type="button" class="secondary" data-pact="dup">${t("duplicate")}</button><button type="button" class="danger" data-pact="del">${t("delete")}</button></div>`;
    props.innerHTML = h;
    checkKeyInput();
    props.querySelectorAll("[data-expr]").forEach((ta) => checkExpression(ta, true));
  }

  function formProps() {
    const d = model.defn;
    return `<div class="dz-props-head"><span class="dn-kind k-form">${t("form_props")}</span></div>` +
      `<p class="dz-hint">${t("select_hint")}</p>` +
      row(t("p_title_zh"), input("form.title.zh", d.title && d.title.zh)) +
      row(t("p_title_en"), input("form.title.en", d.title && d.title.en)) +
      row(t("p_form_key"), `<input value="${esc(d.key)}" disabled class="dz-mono">`) +
      row(t("p_kind"), `<input value="${esc(t("form_kind_" + d.kind))}" disabled>`) +
      row(t("p_catalogue"), catalogueSelect("form.catalogue", d.catalogue, true)) +
      row(t("p_description"), `<textarea data-prop="form.description" rows="3"${editable ? "" : " disabled"}>${esc(d.description || "")}</textarea>`);
  }

  function catalogueSelect(prop, value, blank) {
    let h = `<select data-prop="${prop}"${editable ? "" : " disabled"}>`;
    if (blank) h += `<option value="">${t("none")}</option>`;
    for (const [code, c] of Object.entries(boot.catalogue)) h += `<option value="${esc(code)}"${code === value ? " selected" : ""}>${esc(c.name)} (${esc(code)})</option>`;
    if (value && !boot.catalogue[value]) h += `<option value="${esc(value)}" selected>${esc(value)}</option>`;
    return h + "</select>";
  }

  function catalogueName(code) { return code && boot.catalogue[code] ? boot.catalogue[code].name : code || t("none"); }

  function typeProps(node) {
    let h = "";
    if (node.type === "field") {
      h += row(t("p_control"), `<select data-prop="control"${editable ? "" : " disabled"}>${boot.controls.map((c) => `<option value="${c}"${c === node.control ? " selected" : ""}>${esc(t("ctl_" + c))}</option>`).join("")}</select>`);
      h += `<div class="dz-checks">${check("required", node.required, t("p_required"))}${check("readonly", node.readonly, t("p_readonly"))}</div>`;
      if (node.control === "number") {
        h += `<div class="dz-grid2">${row(t("p_unit"), input("unit", node.unit))}${row(t("p_decimals"), input("decimals", node.decimals, 'type="number" min="0" max="12" step="1"'))}${row(t("p_min"), input("min", node.min, 'inputmode="decimal"'))}${row(t("p_max"), input("max", node.max, 'inputmode="decimal"'))}</div>`;
      } else if (node.control === "text") {
        h += `<div class="dz-grid2">${row(t("p_unit"), input("unit", node.unit))}${row(t("p_pattern"), input("pattern", node.pattern, 'class="dz-mono"'))}</div>`;
      }
      if (["text", "number", "date", "textarea", "select", "radio"].includes(node.control)) {
        h += `<div class="dz-grid2">${row(t("p_default"), input("default", node.default))}${row(t("p_example"), input("example", node.example), t("p_example_hint"))}</div>`;
        h += row(t("p_placeholder"), input("placeholder", node.placeholder));
      }
      if (["select", "radio", "checkbox"].includes(node.control)) h += optionsEditor(node);
    } else if (node.type === "computed") {
      h += row(t("p_expression"), exprBox("expression", node.expression, "(a - b) / b * 100"), t("p_expression_hint"));
      h += `<div class="dz-grid2">${row(t("p_round"), input("round", node.round, 'placeholder="0.01" class="dz-mono"'))}${row(t("p_unit"), input("unit", node.unit))}</div>`;
      h += functionsHelp();
    } else if (node.type === "conclusion") {
      h += row(t("p_expression"), exprBox("expression", node.expression, t("p_conclusion_ph")), t("p_conclusion_hint"));
    } else if (node.type === "table") {
      h += `<div class="dz-grid2">${row(t("p_min_rows"), input("min_rows", node.min_rows, 'type="number" min="0"'))}${row(t("p_max_rows"), input("max_rows", node.max_rows, 'type="number" min="0"'))}</div>`;
      h += row(t("p_row_label"), input("row_label.zh", node.row_label && node.row_label.zh, 'placeholder="第{n}次"'));
    } else if (node.type === "group") {
      h += `<div class="dz-checks">${check("repeat", node.repeat, t("p_repeat"))}</div>`;
      h += `<div class="dz-grid2">${row(t("p_min"), input("min", node.min, 'type="number" min="0"'))}${row(t("p_max"), input("max", node.max, 'type="number" min="0"'))}</div>`;
    } else if (node.type === "indicator_table") {
      const code = node.catalogue || model.defn.catalogue;
      h += row(t("p_catalogue"), catalogueSelect("catalogue", node.catalogue, false));
      const type = boot.catalogue[code];
      if (type) {
        h += `<fieldset class="dz-fs"><legend>${t("p_items")}</legend><div class="dz-checks col">` +
          type.items.map((it) => `<label class="dz-check"><input type="checkbox" data-item="${esc(it.code)}"${!node.items || node.items.includes(it.code) ? " checked" : ""}${editable ? "" : " disabled"}> ${esc(it.name)} <code>${esc(it.code)}</code></label>`).join("") +
          `</div><small class="dz-hint">${t("p_params")}: ${esc(type.params.join(", ") || "—")}</small></fieldset>`;
      }
      h += row(t("p_item_result"), exprBox("item_result", node.item_result, "maxabs(points.E)"));
      h += row(t("p_item_conclusion"), exprBox("item_conclusion", node.item_conclusion, "within(result, mpe)"));
    } else if (node.type === "environment") {
      const fields = node.fields || ["temperature", "humidity", "pressure"];
      h += `<fieldset class="dz-fs"><legend>${t("p_env_fields")}</legend><div class="dz-checks">` +
        ["temperature", "humidity", "pressure"].map((f) => `<label class="dz-check"><input type="checkbox" data-env="${f}"${fields.includes(f) ? " checked" : ""}${editable ? "" : " disabled"}> ${t("env_" + f)}</label>`).join("") + "</div></fieldset>";
      h += `<div class="dz-checks">${check("required", node.required, t("p_required"))}</div>`;
    } else if (node.type === "columns") {
      h += `<div class="dz-prop"><span class="dz-prop-l">${t("p_column_count")}</span><div class="dz-stepper"><button type="button" class="secondary" data-pact="col-" ${editable ? "" : "disabled"}>−</button><b>${node.columns.length}</b><button type="button" class="secondary" data-pact="col+" ${editable ? "" : "disabled"}>+</button></div><small class="dz-hint">${t("p_column_hint")}</small></div>`;
    }
    return h;
  }

  function optionsEditor(node) {
    const opts = node.options || [];
    let h = `<fieldset class="dz-fs dz-options"><legend>${t("p_options")}</legend><div class="dz-opt-head"><span>${t("p_opt_value")}</span><span>${t("p_label_zh")}</span><span>${t("p_label_en")}</span><span></span></div>`;
    opts.forEach((o, i) => {
      h += `<div class="dz-opt" data-opt-index="${i}"><input data-opt="value" value="${esc(o.value)}" class="dz-mono" aria-label="${t("p_opt_value")} ${i + 1}"${editable ? "" : " disabled"}><input data-opt="zh" value="${esc(o.label && o.label.zh)}" aria-label="${t("p_label_zh")} ${i + 1}"${editable ? "" : " disabled"}><input data-opt="en" value="${esc(o.label && o.label.en)}" aria-label="${t("p_label_en")} ${i + 1}"${editable ? "" : " disabled"}>` +
        (editable ? `<span class="dz-opt-tools"><button type="button" class="dn-btn" data-opt-act="up" title="${t("move_up")}">↑</button><button type="button" class="dn-btn" data-opt-act="down" title="${t("move_down")}">↓</button><button type="button" class="dn-btn dn-del" data-opt-act="del" title="${t("delete")}">✕</button></span>` : "") + "</div>";
    });
    const values = opts.map((o) => o.value);
    if (new Set(values).size !== values.length) h += `<div class="dz-bad">${t("opt_duplicate")}</div>`;
    if (editable) h += `<button type="button" class="secondary dz-small" data-opt-act="add">＋ ${t("p_opt_add")}</button>`;
    return h + "</fieldset>";
  }

  function functionsHelp() {
    return `<details class="dz-more"><summary>${t("functions")}</summary><table class="dz-fn">${boot.function_help.map((f) => `<tr><td><code>${esc(f.usage)}</code></td><td>${esc(f.text)}</td></tr>`).join("")}</table></details>`;
  }

  function breadcrumb(uid) {
    const names = [...model.ancestors(uid)].reverse().map((u) => { const n = model.nodes.get(u); return pick(n.label) || kindName(n, t); });
    return names.length ? names.join(" › ") : t("top_level");
  }

  function focusProps() {
    showTab("props");
    const first = props.querySelector("input:not([disabled]), textarea, select");
    if (first) first.focus();
  }

  function numberOrText(v) {
    const s = String(v).trim();
    if (s === "") return undefined;
    const n = Number(s);
    return Number.isFinite(n) && String(n) === s ? n : s;
  }

  function setPath(obj, path, value) {
    const parts = path.split(".");
    const last = parts.pop();
    let o = obj;
    for (const p of parts) { if (!o[p] || typeof o[p] !== "object") o[p] = {}; o = o[p]; }
    if (value === undefined || value === "" || value === false) delete o[last];
    else o[last] = value;
    if (parts.length && Object.keys(o).length === 0) delete obj[parts[0]];
  }

  /** Property edits: one undo step per input while it keeps focus. */
  function edit(target, mutate, opts) {
    if (!editable) return;
    if (typingFor !== target) { pushHistory(snapshot()); typingFor = target; }
    mutate();
    if (opts && opts.rerender) rerenderNode(selected);
    else if (selected) refreshNode(selected);
    if (opts && opts.props) { const active = document.activeElement && document.activeElement.dataset.prop; showProps(); if (active) { const el = props.querySelector(`[data-prop="${active}"]`); if (el) el.focus(); } }
    changed();
  }

  props.addEventListener("focusout", () => { typingFor = null; });

  props.addEventListener("input", (e) => {
    const el = e.target;
    const node = selected && model.nodes.get(selected);
    const prop = el.dataset.prop;
    if (prop && prop.startsWith("form.")) {
      const value = el.type === "checkbox" ? el.checked : el.value;
      edit(el, () => setPath(model.defn, prop.slice(5), value || undefined));
      return;
    }
    if (!node) return;
    if (el.dataset.opt) {
      const i = +el.closest(".dz-opt").dataset.optIndex;
      edit(el, () => {
        const o = node.options[i];
        if (el.dataset.opt === "value") o.value = el.value;
        else { o.label = o.label || {}; if (el.value) o.label[el.dataset.opt] = el.value; else delete o.label[el.dataset.opt]; if (!Object.keys(o.label).length) delete o.label; }
      });
      return;
    }
    if (el.dataset.item) {
      edit(el, () => {
        const all = [...props.querySelectorAll("[data-item]")];
        const chosen = all.filter((c) => c.checked).map((c) => c.dataset.item);
        if (chosen.length === all.length) delete node.items; else node.items = chosen;
      });
      return;
    }
    if (el.dataset.env) {
      edit(el, () => {
        const chosen = [...props.querySelectorAll("[data-env]")].filter((c) => c.checked).map((c) => c.dataset.env);
        if (chosen.length === 3) delete node.fields; else node.fields = chosen;
      });
      return;
    }
    if (!prop) return;
    if (el.type === "checkbox") { edit(el, () => setPath(node, prop, el.checked)); return; }
    if (prop === "key") {
      edit(el, () => { if (el.value === "" && (node.type === "environment" || node.type === "conclusion")) delete node.key; else node.key = el.value; });
      checkKeyInput();
      return;
    }
    if (prop === "control") {
      edit(el, () => {
        node.control = el.value;
        if (["select", "radio", "checkbox"].includes(el.value) && !(node.options && node.options.length)) node.options = [{ value: "A", label: { zh: t("opt") + " A" } }, { value: "B", label: { zh: t("opt") + " B" } }];
        if (!["select", "radio", "checkbox"].includes(el.value)) delete node.options;
        if (el.value !== "number") ["decimals", "min", "max"].forEach((k) => delete node[k]);
      }, { props: true });
      return;
    }
    if (["decimals", "min_rows", "max_rows"].includes(prop) || (node.type === "group" && (prop === "min" || prop === "max"))) {
      edit(el, () => setPath(node, prop, el.value === "" ? undefined : Math.max(0, parseInt(el.value, 10) || 0)));
      return;
    }
    if (prop === "min" || prop === "max") { edit(el, () => setPath(node, prop, numberOrText(el.value))); return; }
    if (prop === "catalogue") { edit(el, () => { node.catalogue = el.value; delete node.items; }, { props: true }); return; }
    if (prop === "expression" && node.type === "computed") { edit(el, () => { node.expression = el.value; }); checkExpression(el); return; }
    edit(el, () => setPath(node, prop, el.value === "" ? undefined : el.value));
    if (el.dataset.expr) checkExpression(el);
  });
  props.addEventListener("change", (e) => { if (e.target.matches("select, input[type=checkbox]")) typingFor = null; });

  props.addEventListener("click", (e) => {
    const btn = e.target.closest("button");
    if (!btn || !selected) return;
    const node = model.nodes.get(selected);
    if (btn.dataset.pact === "del") removeNode(selected);
    else if (btn.dataset.pact === "dup") duplicateNode(selected);
    else if (btn.dataset.pact === "col+") { typingFor = null; edit(btn, () => node.columns.push([]), { rerender: true, props: true }); model.reindex(); }
    else if (btn.dataset.pact === "col-") {
      const last = node.columns[node.columns.length - 1];
      if (node.columns.length <= 1) return toast(t("cols_min"), "bad");
      if (last.length) return toast(t("cols_not_empty"), "bad");
      typingFor = null;
      edit(btn, () => node.columns.pop(), { rerender: true, props: true });
      model.reindex();
    } else if (btn.dataset.optAct) {
      typingFor = null;
      const opts = node.options || (node.options = []);
      const i = btn.closest(".dz-opt") ? +btn.closest(".dz-opt").dataset.optIndex : -1;
      edit(btn, () => {
        if (btn.dataset.optAct === "add") {
          const values = new Set(opts.map((o) => o.value));
          let n = opts.length + 1;
          while (values.has(String(n))) n++;
          opts.push({ value: String(n), label: { zh: t("opt") + " " + n } });
        } else if (btn.dataset.optAct === "del") opts.splice(i, 1);
        else if (btn.dataset.optAct === "up" && i > 0) opts.splice(i - 1, 0, opts.splice(i, 1)[0]);
        else if (btn.dataset.optAct === "down" && i < opts.length - 1) opts.splice(i + 1, 0, opts.splice(i, 1)[0]);
      }, { props: true });
      typingFor = null;
    }
  });

  function checkKeyInput() {
    const el = props.querySelector('[data-prop="key"]');
    const msg = props.querySelector(".dz-key-msg");
    if (!el || !msg) return;
    const node = model.nodes.get(selected);
    const key = el.value || nodeKey(node);
    const problem = model.checkKey(selected, key, t);
    msg.textContent = problem || "";
    msg.className = "dz-key-msg" + (problem ? " is-bad" : "");
    el.setAttribute("aria-invalid", problem ? "true" : "false");
  }

  // ── expression checks (server: the real evaluator) ──────────────────────────────────────────

  const exprTimers = new WeakMap();
  let exprSeq = 0;

  function checkExpression(el, immediate) {
    clearTimeout(exprTimers.get(el));
    exprTimers.set(el, setTimeout(() => runExpressionCheck(el), immediate ? 0 : 300));
  }

  async function runExpressionCheck(el) {
    const msg = props.querySelector(`[data-msg-for="${el.dataset.prop}"]`);
    if (!msg || !selected) return;
    const source = el.value;
    const required = el.dataset.prop === "expression" && model.nodes.get(selected).type === "computed";
    if (!source.trim()) {
      msg.className = "dz-expr-msg" + (required ? " is-bad" : "");
      msg.textContent = required ? t("expr_required") : "";
      return;
    }
    const seq = ++exprSeq;
    let names = model.namesFor(selected, boot.catalogue);
    if (el.dataset.prop === "item_result" || el.dataset.prop === "item_conclusion") names = names.concat(["points", "result"]);
    msg.className = "dz-expr-msg is-busy";
    msg.textContent = t("checking");
    try {
      const r = await api("POST", boot.urls.check, { expression: source, known_names: names });
      if (seq !== exprSeq && !msg.isConnected) return;
      const body = r.body || {};
      if (body.ok) {
        msg.className = "dz-expr-msg is-ok";
        msg.innerHTML = `✓ ${esc(t("expr_ok"))}` + (body.names && body.names.length ? ` · ${esc(t("expr_uses"))} <code>${esc(body.names.join(", "))}</code>` : "");
      } else {
        msg.className = "dz-expr-msg is-bad";
        const pos = body.position;
        let marker = "";
        if (pos) marker = `<pre class="dz-caret">${esc(source.split("\n").join(" "))}\n${" ".repeat(Math.max(0, pos - 1))}^</pre>`;
        msg.innerHTML = `✗ ${esc(body.message || body.detail || t("expr_bad"))}${pos ? ` <span class="dz-pos">${esc(t("at_column").replace("{n}", pos))}</span>` : ""}${marker}`;
      }
    } catch (e) {
      msg.className = "dz-expr-msg is-bad";
      msg.textContent = t("check_failed");
    }
  }

  // ── flags: duplicate keys (here) and definition problems (from the server) ───────────────────

  function applyFlags(all) {
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

  let serverProblems = [];
  function setServerProblems(problems) {
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
    if (activeTab === "problems") showProblems();
  }

  function showProblems() {
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
    const here = (pick(n.label) || kindName(n, t)) + (nodeKey(n) && window.MLDesignerModel.KEYED.has(n.type) ? ` (${nodeKey(n)})` : "");
    const up = breadcrumb(uid);
    return (up === t("top_level") ? "" : up + " › ") + here;
  }

  $("#dz-problems").addEventListener("click", (e) => {
    const b = e.target.closest("[data-goto]");
    if (b && b.dataset.goto) { select(+b.dataset.goto, { focus: true }); showTab("props"); }
  });

  // ── preview, JSON, tabs ─────────────────────────────────────────────────────────────────────

  let activeTab = "props";
  function showTab(name) {
    activeTab = name;
    document.querySelectorAll(".dz-tab").forEach((b) => { const on = b.dataset.tab === name; b.setAttribute("aria-selected", on); b.classList.toggle("is-on", on); b.tabIndex = on ? 0 : -1; });
    document.querySelectorAll(".dz-pane").forEach((p) => { p.hidden = p.dataset.pane !== name; });
    if (name === "json") showJSON();
    if (name === "problems") showProblems();
  }
  document.querySelector(".dz-tabs").addEventListener("click", (e) => { const b = e.target.closest(".dz-tab"); if (b) showTab(b.dataset.tab); });
  document.querySelector(".dz-tabs").addEventListener("keydown", (e) => {
    const tabs = [...document.querySelectorAll(".dz-tab")];
    const i = tabs.findIndex((b) => b.dataset.tab === activeTab);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") { const n = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length]; showTab(n.dataset.tab); n.focus(); }
  });

  function showJSON() { $("#dz-json").textContent = JSON.stringify(model.defn, null, 2); }

  let previewTimer = null;
  let previewSeq = 0;
  function schedulePreview(now) {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, now ? 0 : 700);
  }

  async function runPreview() {
    const seq = ++previewSeq;
    const start = performance.now();
    $("#dz-preview-state").textContent = t("preview_busy");
    try {
      const r = await api("POST", boot.urls.preview, { definition: model.defn, lang });
      if (seq !== previewSeq) return;
      const body = r.body || {};
      if (r.status !== 200) throw new Error(body.detail || r.status);
      setServerProblems(body.problems || []);
      if (body.ok) {
        $("#dz-preview").innerHTML = body.html;
        $("#dz-preview-state").textContent = t("preview_at").replace("{t}", clock());
      } else {
        $("#dz-preview").innerHTML = `<div class="dz-preview-bad"><b>${esc(t("preview_invalid"))}</b><ul>${(body.problems || []).map((p) => `<li><code>${esc(p.place)}</code> ${esc(p.message)}</li>`).join("")}</ul></div>`;
        $("#dz-preview-state").textContent = t("preview_invalid_short");
      }
      perf.previews++;
      perf.lastPreviewMs = performance.now() - start;
      perf.lastPreviewServerMs = body.ms;
    } catch (e) {
      if (seq === previewSeq) $("#dz-preview-state").textContent = t("preview_failed");
    }
  }
  $("#dz-preview-refresh").addEventListener("click", () => schedulePreview(true));

  // ── saving: autosave with the revision, conflicts, local copy ───────────────────────────────

  const LOCAL = `metrolab.designer.${boot.version_id}.`;
  let dirty = false;
  let saving = null;
  let saveTimer = null;
  let localTimer = null;
  let conflict = false;
  let savedAt = boot.saved_at ? new Date(boot.saved_at) : null;

  function clock(d) { return (d || new Date()).toLocaleTimeString("zh-CN", { hour12: false }); }

  function setStatus(state, text) {
    const el = $("#dz-save");
    el.dataset.state = state;
    el.textContent = text;
    if (state !== "invalid") el.title = "";
  }

  function markDirty() {
    if (!editable) return;
    dirty = true;
    if (!conflict) setStatus("dirty", t("unsaved"));
    clearTimeout(localTimer);
    localTimer = setTimeout(keepLocal, 300);
    clearTimeout(saveTimer);
    if (!conflict) saveTimer = setTimeout(save, 1500);
  }

  function keepLocal() {
    try { localStorage.setItem(LOCAL + revision, JSON.stringify({ definition: model.defn, at: Date.now(), revision })); } catch (e) { /* quota: the server copy still autosaves */ }
  }

  function dropLocal() {
    try { Object.keys(localStorage).filter((k) => k.startsWith(LOCAL)).forEach((k) => localStorage.removeItem(k)); } catch (e) { /* ignore */ }
  }

  async function save() {
    clearTimeout(saveTimer);
    if (!dirty || conflict || !editable) return;
    if (saving) { await saving; if (dirty) return save(); return; }
    const body = { definition: model.defn, revision };
    const sentJSON = JSON.stringify(body.definition);
    setStatus("saving", t("saving"));
    saving = (async () => {
      try {
        const r = await api("PUT", boot.urls.version, body);
        if (r.status === 200) {
          revision = r.body.revision;
          if (snapshot() === sentJSON) { dirty = false; dropLocal(); savedAt = new Date(); setStatus("saved", t("saved_at").replace("{t}", clock(savedAt))); }
          else { keepLocal(); setStatus("dirty", t("unsaved")); saveTimer = setTimeout(save, 1500); }
        } else if (r.status === 409) {
          await onConflict(r.body || {});
        } else if (r.status === 400 || r.status === 422) {
          // The forms API keeps only drafts that load; the local copy holds this state meanwhile.
          keepLocal();
          setStatus("invalid", t("save_invalid"));
          $("#dz-save").title = (r.body && r.body.detail) || "";
        } else {
          setStatus("error", t("save_failed") + (r.body && r.body.detail ? "：" + r.body.detail : ""));
          saveTimer = setTimeout(save, 10000);
        }
      } catch (e) {
        setStatus("error", t("save_offline"));
        saveTimer = setTimeout(save, 5000);
      } finally {
        saving = null;
      }
    })();
    return saving;
  }

  async function saveNow() { if (dirty) await save(); else if (saving) await saving; }

  async function onConflict(body) {
    conflict = true;
    keepLocal();
    setStatus("conflict", t("conflict_short"));
    let who = "", when = "", rev = "";
    try {
      const r = await api("GET", boot.urls.version);
      if (r.status === 200) {
        const v = r.body;
        who = v.updated_by_name || (v.updated_by && (v.updated_by.full_name || v.updated_by.name)) || v.updated_by || "";
        when = v.updated_at ? new Date(v.updated_at).toLocaleString("zh-CN", { hour12: false }) : "";
        rev = v.revision;
      }
    } catch (e) { /* the message below still explains */ }
    if (!who && body.updated_by_name) who = body.updated_by_name;
    banner("conflict",
      `<b>${esc(t("conflict_title"))}</b> ${esc(t("conflict_text").replace("{who}", who || t("someone")).replace("{when}", when || "—").replace("{rev}", rev || "?"))}` +
      (body.detail ? `<div class="dz-muted">${esc(body.detail)}</div>` : ""),
      [["export", t("conflict_export")], ["reload", t("conflict_reload")]]);
  }

  function banner(kind, html, actions) {
    const el = $("#dz-banner");
    el.className = "dz-banner is-" + kind;
    el.hidden = false;
    el.setAttribute("role", kind === "conflict" || kind === "bad" ? "alert" : "status");
    el.innerHTML = `<div class="dz-banner-text">${html}</div><div class="dz-banner-actions">${(actions || []).map(([a, label]) => `<button type="button" class="${a === "reload" || a === "discard" || a === "close" ? "secondary" : ""}" data-banner="${a}">${esc(label)}</button>`).join("")}</div>`;
  }
  function closeBanner() { const el = $("#dz-banner"); el.hidden = true; el.innerHTML = ""; }

  let recovery = null;
  $("#dz-banner").addEventListener("click", (e) => {
    const a = e.target.closest("[data-banner]");
    if (!a) return;
    const act = a.dataset.banner;
    if (act === "export") exportDefinition();
    else if (act === "reload") { dropLocal(); dirty = false; location.reload(); }
    else if (act === "recover" && recovery) {
      const json = JSON.stringify(recovery.definition);
      closeBanner();
      pushHistory(snapshot());
      model.load(JSON.parse(json));
      selected = null;
      renderAll();
      showProps();
      changed();
      toast(t("recovered"));
    } else if (act === "discard") { dropLocal(); closeBanner(); }
    else if (act === "close") closeBanner();
  });

  function offerRecovery() {
    let best = null;
    try {
      for (const k of Object.keys(localStorage)) {
        if (!k.startsWith(LOCAL)) continue;
        const v = JSON.parse(localStorage.getItem(k));
        if (v && v.definition && (!best || v.at > best.at)) best = v;
      }
    } catch (e) { return; }
    if (!best) return;
    if (JSON.stringify(best.definition) === JSON.stringify(boot.definition)) { dropLocal(); return; }
    recovery = best;
    const when = new Date(best.at).toLocaleString("zh-CN", { hour12: false });
    const stale = best.revision !== revision ? " " + t("recover_stale").replace("{rev}", best.revision).replace("{cur}", revision) : "";
    banner("recover", `<b>${esc(t("recover_title"))}</b> ${esc(t("recover_text").replace("{when}", when))}${esc(stale)}`, [["recover", t("recover")], ["discard", t("discard")]]);
  }

  window.addEventListener("beforeunload", (e) => {
    if (dirty && editable) { keepLocal(); e.preventDefault(); e.returnValue = ""; }
  });

  // ── toolbar: import / export / submit ───────────────────────────────────────────────────────

  $(".dz-bar").addEventListener("click", (e) => {
    const b = e.target.closest("[data-cmd]");
    if (!b) return;
    const cmd = b.dataset.cmd;
    if (cmd === "undo") undo();
    else if (cmd === "redo") redo();
    else if (cmd === "export") exportDefinition();
    else if (cmd === "import") $("#dz-file").click();
    else if (cmd === "submit") submit();
    else if (cmd === "preview") { showTab("preview"); schedulePreview(true); }
  });

  function exportDefinition() {
    const blob = new Blob([JSON.stringify(model.defn, null, 2) + "\n"], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${model.defn.key || "form"}-v${boot.number || ""}-r${revision}.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  $("#dz-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) { dialog(t("import_refused"), [t("import_too_big")]); return; }
    const text = await file.text();
    const r = await api("POST", boot.urls.validate, { text });
    const body = r.body || {};
    if (r.status === 200 && body.ok) {
      change(() => { model.load(body.definition); selected = null; }, { full: true, select: null });
      showProps();
      toast(t("imported").replace("{name}", file.name));
    } else {
      dialog(t("import_refused") + "：" + file.name, (body.problems || []).map((p) => `${p.place}：${p.message}`).concat(body.detail ? [body.detail] : []));
    }
  });

  async function submit() {
    if (!editable) return;
    await saveNow();
    if (conflict) return;
    if (keyFlags.size || dirty) {
      // Never submit an older server copy while this one is unsaved (refused or not yet saved).
      showTab("problems");
      toast(t("submit_fix_first"), "bad");
      return;
    }
    const r = await api("POST", boot.urls.submit, {});
    const body = r.body || {};
    if (r.status >= 200 && r.status < 300) {
      banner("ok", `<b>${esc(t("submitted"))}</b>`, [["reload", t("reload")]]);
      setStatus("saved", t("submitted_short"));
      app.classList.add("is-readonly");
    } else {
      // detail: "intro：place：message；place：message" (the forms API lists every problem)
      const detail = body.detail || t("submit_refused");
      const cut = detail.indexOf("：");
      const parts = cut >= 0 ? detail.slice(cut + 1).split("；") : [];
      const problems = parts.map((p) => { const j = p.indexOf("："); return j > 0 ? { place: p.slice(0, j), message: p.slice(j + 1) } : null; }).filter(Boolean);
      dialog(t("submit_refused"), cut >= 0 ? [detail.slice(0, cut)].concat(parts) : [detail]);
      if (problems.length) setServerProblems(problems);
    }
  }

  function dialog(title, lines) {
    const d = $("#dz-dialog");
    d.innerHTML = `<form method="dialog"><h2>${esc(title)}</h2><ul class="dz-dialog-list">${lines.map((l) => `<li>${esc(l)}</li>`).join("")}</ul><div class="dz-dialog-actions"><button value="ok" autofocus>${t("ok")}</button></div></form>`;
    d.showModal();
  }

  let toastTimer = null;
  function toast(text, kind) {
    const el = $("#dz-toast");
    el.textContent = text;
    el.className = "dz-toast is-on" + (kind ? " is-" + kind : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.className = "dz-toast"; }, kind === "bad" ? 5000 : 2200);
  }

  async function api(method, url, body) {
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

  // ── start ───────────────────────────────────────────────────────────────────────────────────

  initPalette();
  renderAll();
  showProps();
  updateHistoryButtons();
  if (editable) {
    setStatus("saved", savedAt ? t("saved_at").replace("{t}", clock(savedAt)) : t("saved"));
    offerRecovery();
  } else {
    setStatus("readonly", t("readonly_short"));
  }
  schedulePreview(true);
  perf.ready = true;
  perf.readyAt = performance.now();
  app.dataset.ready = "1";
  window.__dz.api = { model, select, undo, redo, addNear, save: saveNow, state: () => ({ dirty, conflict, revision, selected }) };
})();
