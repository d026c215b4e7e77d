/* metrolab form designer — the palette's new nodes: what each palette item adds to the form.
 *
 * Pure: make(kind, model, owner, t, catalogue) returns a fresh node whose key is unique in the
 * scope of list `owner` (the model is read, not changed).
 */
import { ModelError } from "./model.js";

export function make(kind, model, owner, t, catalogue) {
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
    case "indicator_table": return { type: "indicator_table", key: key("items"), label: L(t("kind_indicator_table"), "Verification items"), catalogue: model.defn.catalogue || Object.keys(catalogue || {})[0], point_columns: [] };
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
