/* metrolab form designer — the toolbar: undo / redo, import (checked by the server first), export,
 * submit for review (only what is saved and free of problems).
 */
import { api } from "./api.js";
import { change, redo, undo } from "./changes.js";
import { $, app, boot, editable, esc, model, state, t } from "./ctx.js";
import { hasKeyProblems, setServerProblems } from "./flags.js";
import { schedulePreview } from "./preview.js";
import { showProps } from "./properties.js";
import { saveNow, saveState, setStatus } from "./save.js";
import { showTab } from "./tabs.js";
import { askText, banner, dialog, toast } from "./ui.js";

export function exportDefinition() {
  const blob = new Blob([JSON.stringify(model.defn, null, 2) + "\n"], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${model.defn.key || "form"}-v${boot.number || ""}-r${state.revision}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function importFile(e) {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  if (file.size > 5 * 1024 * 1024) { dialog(t("import_refused"), [t("import_too_big")]); return; }
  const text = await file.text();
  const r = await api("POST", boot.urls.validate, { text });
  const body = r.body || {};
  if (r.status === 200 && body.ok) {
    change(() => { model.load(body.definition); state.selected = null; }, { full: true, select: null });
    showProps();
    toast(t("imported").replace("{name}", file.name));
  } else {
    dialog(t("import_refused") + "：" + file.name, (body.problems || []).map((p) => `${p.place}：${p.message}`).concat(body.detail ? [body.detail] : []));
  }
}

async function submit() {
  if (!editable) return;
  await saveNow();
  if (saveState().conflict) return;
  if (hasKeyProblems() || saveState().dirty) {
    // Never submit an older server copy while this one is unsaved (refused or not yet saved).
    showTab("problems");
    toast(t("submit_fix_first"), "bad");
    return;
  }
  const note = await askText(t("submit"), t("change_note"), t("submit"));
  if (note === null) return;
  const r = await api("POST", boot.urls.submit, { note });
  const body = r.body || {};
  if (r.status >= 200 && r.status < 300) {
    banner("ok", `<b>${esc(t("submitted"))}</b>`, [["reload", t("reload")]]);
    setStatus("saved", t("submitted_short"));
    const badge = $(".dz-badge");
    badge.className = "dz-badge is-" + body.status;
    badge.textContent = `v${boot.number} · ${t("status_" + body.status)}`;
    app.classList.add("is-readonly");
    $("[data-cmd=submit]").disabled = true;
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

export function initToolbar() {
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
  $("#dz-file").addEventListener("change", importFile);
}
