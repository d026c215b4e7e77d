/* metrolab form designer — the page's entry point (a native ES module, no bundler).
 *
 * Model ↔ DOM: the definition (model.js) is the only truth. The canvas is rendered from it
 * (render.js); a drag only proposes an insert or move (drag.js) that the model may refuse; every change
 * goes through changes.js (undo step, redraw, autosave in save.js). One delegated listener per pane.
 * Modules only define things when imported; this file wires them up, in the order the page needs.
 */
import { addNear, redo, undo, updateHistoryButtons } from "./changes.js";
import { app, model, perf, state } from "./ctx.js";
import { initDrag } from "./drag.js";
import { initFlags } from "./flags.js";
import { initPreview, schedulePreview } from "./preview.js";
import { showProps } from "./properties.js";
import { initPropertyInput } from "./properties-input.js";
import { renderAll } from "./render.js";
import { initSave, saveNow, saveState, startSave } from "./save.js";
import { initSelection, select } from "./selection.js";
import { initTabs } from "./tabs.js";
import { initToolbar } from "./toolbar.js";

initSelection();
initPropertyInput();
initFlags();
initTabs();
initPreview();
initSave();
initToolbar();

initDrag();
renderAll();
showProps();
updateHistoryButtons();
startSave();
schedulePreview(true);
perf.ready = true;
perf.readyAt = performance.now();
app.dataset.ready = "1";
// For the browser tests and bench/designer.py.
perf.api = { model, select, undo, redo, addNear, save: saveNow, state: () => ({ ...saveState(), revision: state.revision, selected: state.selected }) };
