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

export function initPreview() {
  $("#dz-preview-refresh").addEventListener("click", () => schedulePreview(true));
}
