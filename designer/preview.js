/* metrolab form designer — the live preview: the server renders the form being designed (debounced)
 * and returns its problems, which are flagged on the canvas.
 */
import { api } from "./api.js";
import { $, boot, clock, esc, lang, model, perf, t } from "./ctx.js";
import { setServerProblems } from "./flags.js";

let previewTimer = null;
let previewSeq = 0;

export function schedulePreview(now) {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(runPreview, now ? 0 : 700);
}

async function runPreview() {
  const seq = ++previewSeq;
  const start = performance.now();
  $("#dz-preview-state").textContent = t("preview_busy");
  try {
    const r = await api("POST", boot.urls.preview, { definition: model.defn, lang, values: typedValues() });
    if (seq !== previewSeq) return;
    const body = r.body || {};
    if (r.status !== 200) throw new Error(body.detail || r.status);
    setServerProblems(body.problems || []);
    if (body.ok) {
      const focus = focused();
      $("#dz-preview").innerHTML = body.html;
      restore(focus);
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

/** What was typed into the preview, as (name, value) pairs: the server computes from these only. */
function typedValues() {
  const out = [];
  for (const el of $("#dz-preview").querySelectorAll("input[name], select[name], textarea[name]")) {
    if (el.disabled || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) continue;
    if (el.multiple) { for (const o of el.selectedOptions) out.push([el.name, o.value]); continue; }
    out.push([el.name, el.value]);
  }
  return out;
}

/** The preview is redrawn while someone types in it: keep their place (input id and caret). */
function focused() {
  const el = document.activeElement;
  if (!el || !el.id || !$("#dz-preview").contains(el)) return null;
  let caret = null;
  try { caret = el.selectionStart; } catch (e) { caret = null; }
  return { id: el.id, caret };
}

function restore(f) {
  if (!f) return;
  const el = document.getElementById(f.id);
  if (!el) return;
  el.focus();
  try { if (f.caret != null) el.setSelectionRange(f.caret, f.caret); } catch (e) { /* not a text input */ }
}

export function initPreview() {
  $("#dz-preview-refresh").addEventListener("click", () => schedulePreview(true));
  const pane = $("#dz-preview");
  pane.addEventListener("input", () => { clearTimeout(previewTimer); previewTimer = setTimeout(runPreview, 400); });
  pane.addEventListener("change", () => schedulePreview(true));
  pane.addEventListener("submit", (e) => e.preventDefault());
  pane.addEventListener("click", (e) => { if (e.target.closest("button")) e.preventDefault(); });
}
