/* metrolab form designer — saving: autosave with the draft's revision, save conflicts (another tab or
 * person saved first: nothing is overwritten), and a local copy in localStorage offered back on the
 * next visit when the server did not take it.
 */
import { api } from "./api.js";
import { changed, pushHistory, snapshot } from "./changes.js";
import { $, boot, clock, csrf, editable, esc, model, state, t } from "./ctx.js";
import { setServerProblems } from "./flags.js";
import { showProps } from "./properties.js";
import { renderAll } from "./render.js";
import { exportDefinition } from "./toolbar.js";
import { banner, closeBanner, toast } from "./ui.js";

const LOCAL = `metrolab.designer.${boot.version_id}.`;
let dirty = false;
let saving = null;
let saveTimer = null;
let localTimer = null;
let conflict = false;
let savedAt = boot.saved_at ? new Date(boot.saved_at) : null;
let recovery = null;

/** { dirty, conflict }: unsaved work, and whether saving stopped on a conflict. */
export function saveState() { return { dirty, conflict }; }

export function setStatus(kind, text) {
  const el = $("#dz-save");
  el.dataset.state = kind;
  el.textContent = text;
  if (kind !== "invalid") el.title = "";
}

/** Something changed: keep a local copy soon, save to the server a little later. */
export function markDirty() {
  if (!editable) return;
  dirty = true;
  if (!conflict) setStatus("dirty", t("unsaved"));
  clearTimeout(localTimer);
  localTimer = setTimeout(keepLocal, 300);
  clearTimeout(saveTimer);
  if (!conflict) saveTimer = setTimeout(save, 1500);
}

function keepLocal() {
  try { localStorage.setItem(LOCAL + state.revision, JSON.stringify({ definition: model.defn, at: Date.now(), revision: state.revision })); } catch (e) { /* quota: the server copy still autosaves */ }
}

function dropLocal() {
  try { Object.keys(localStorage).filter((k) => k.startsWith(LOCAL)).forEach((k) => localStorage.removeItem(k)); } catch (e) { /* ignore */ }
}

async function save() {
  clearTimeout(saveTimer);
  if (!dirty || conflict || !editable) return;
  if (saving) { await saving; if (dirty) return save(); return; }
  const body = { definition: model.defn, revision: state.revision };
  const sentJSON = JSON.stringify(body.definition);
  setStatus("saving", t("saving"));
  saving = (async () => {
    try {
      const r = await api("PUT", boot.urls.version, body);
      if (r.status === 200) {
        state.revision = r.body.revision;
        if (snapshot() === sentJSON) { dirty = false; dropLocal(); savedAt = new Date(); savedStatus(r.body.problems || []); }
        else { keepLocal(); setStatus("dirty", t("unsaved")); saveTimer = setTimeout(save, 1500); }
      } else if (r.status === 409) {
        await onConflict(r.body || {});
      } else if (r.status === 400 || r.status === 422) {
        // Drafts are kept with their problems; only a document without its key is refused.
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

/** Saved: with problems the draft is kept but cannot be submitted until they are fixed. */
function savedStatus(problems) {
  if (problems.length) {
    setStatus("problems", t("saved_problems").replace("{t}", clock(savedAt)).replace("{n}", problems.length));
    $("#dz-save").title = problems.map((p) => `${p.place}：${p.message}`).join("\n");
    setServerProblems(problems);
  } else setStatus("saved", t("saved_at").replace("{t}", clock(savedAt)));
}

/** The tab is closing: send the draft with a request that outlives the page (keepalive bodies are
 * limited to 64 KB; a bigger form keeps its local copy and asks before leaving). */
function saveOnLeave() {
  if (!dirty || conflict || !editable) return true;
  keepLocal();
  const body = JSON.stringify({ definition: model.defn, revision: state.revision });
  if (body.length > 60000) return false;
  try {
    fetch(boot.urls.version, { method: "PUT", keepalive: true, credentials: "same-origin", body, headers: { "Content-Type": "application/json", Accept: "application/json", "x-csrftoken": csrf } });
  } catch (e) { return false; }
  return true;
}

/** Save now (Ctrl+S, before submitting), or wait for the save under way. */
export async function saveNow() { if (dirty) await save(); else if (saving) await saving; }

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

function onBannerClick(e) {
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
    state.selected = null;
    renderAll();
    showProps();
    changed();
    toast(t("recovered"));
  } else if (act === "discard") { dropLocal(); closeBanner(); }
  else if (act === "close") closeBanner();
}

/** A local copy newer than the server's draft: offer it back (or to discard it). */
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
  const stale = best.revision !== state.revision ? " " + t("recover_stale").replace("{rev}", best.revision).replace("{cur}", state.revision) : "";
  banner("recover", `<b>${esc(t("recover_title"))}</b> ${esc(t("recover_text").replace("{when}", when))}${esc(stale)}`, [["recover", t("recover")], ["discard", t("discard")]]);
}

export function initSave() {
  $("#dz-banner").addEventListener("click", onBannerClick);
  window.addEventListener("beforeunload", (e) => {
    if (!saveOnLeave()) { e.preventDefault(); e.returnValue = ""; }
  });
  // Leaving the window (another tab, another program) saves at once, not 1.5 s later.
  window.addEventListener("blur", () => { if (dirty) save(); });
  document.addEventListener("visibilitychange", () => { if (document.hidden && dirty) save(); });
}

/** The save status shown when the page opens; a draft also looks for a local copy. */
export function startSave() {
  if (editable) {
    if (boot.problems && boot.problems.length && savedAt) savedStatus(boot.problems);
    else setStatus("saved", savedAt ? t("saved_at").replace("{t}", clock(savedAt)) : t("saved"));
    offerRecovery();
  } else {
    setStatus("readonly", t("readonly_short"));
  }
}
