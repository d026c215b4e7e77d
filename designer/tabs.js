/* metrolab form designer — the side tabs (properties, preview, JSON, problems) and the JSON view. */
import { $, model, state } from "./ctx.js";
import { showProblems } from "./flags.js";

export function showTab(name) {
  state.activeTab = name;
  document.querySelectorAll(".dz-tab").forEach((b) => { const on = b.dataset.tab === name; b.setAttribute("aria-selected", on); b.classList.toggle("is-on", on); b.tabIndex = on ? 0 : -1; });
  document.querySelectorAll(".dz-pane").forEach((p) => { p.hidden = p.dataset.pane !== name; });
  if (name === "json") showJSON();
  if (name === "problems") showProblems();
}

export function showJSON() { $("#dz-json").textContent = JSON.stringify(model.defn, null, 2); }

export function initTabs() {
  const bar = document.querySelector(".dz-tabs");
  bar.addEventListener("click", (e) => { const b = e.target.closest(".dz-tab"); if (b) showTab(b.dataset.tab); });
  bar.addEventListener("keydown", (e) => {
    const tabs = [...document.querySelectorAll(".dz-tab")];
    const i = tabs.findIndex((b) => b.dataset.tab === state.activeTab);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") { const n = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length]; showTab(n.dataset.tab); n.focus(); }
  });
}
