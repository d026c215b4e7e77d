/* Shared by the designer's unit tests: the texts the model formats (the zh strings of
 * platform/metrolab/designer/texts.py for the keys used here) and a small form to work on.
 */
const ZH = {
  refuse_row: "不能放在这里：表格的列只能是字段或计算字段，“{kind}”不行",
  refuse_self: "不能把容器放进它自己里面",
  key_missing: "缺少键 key",
  key_ident: "键 “{key}” 不是合法标识符（字母开头，仅字母、数字、下划线）",
  key_reserved: "键 “{key}” 是保留名称",
  key_function: "键 “{key}” 与函数同名",
  key_duplicate: "键 “{key}” 在同一作用域内重复",
  kind_section: "分区", kind_heading: "标题", kind_columns: "分栏", kind_table: "表格", kind_group: "重复分组",
  kind_indicator_table: "检定项目表", kind_computed: "计算字段", kind_environment: "环境条件", kind_conclusion: "结论",
  ctl_text: "单行文本", ctl_number: "数字", ctl_date: "日期", ctl_select: "下拉选择", ctl_radio: "单选",
  ctl_checkbox: "多选", ctl_textarea: "多行文本", ctl_standard_picker: "标准器", ctl_signature: "签名",
  ctl_file: "附件", ctl_image: "图片",
  new_section: "新分区", opt: "选项",
};

export const t = (k) => (k in ZH ? ZH[k] : k);

/** Functions of the expression language (a key may not shadow one). */
export const FUNCTIONS = ["round", "abs", "maxabs", "within"];

/** A fresh form: a section (a field, two columns), a table, a repeating group, an indicator table. */
export function form() {
  return {
    format: "metrolab.form/1",
    key: "demo",
    kind: "record",
    catalogue: "fuel",
    context_names: ["today"],
    layout: [
      { type: "section", label: { zh: "基本" }, children: [
        { type: "field", key: "a", control: "number" },
        { type: "columns", columns: [[{ type: "field", key: "b", control: "text" }], []] },
      ] },
      { type: "table", key: "rows", columns: [{ type: "field", key: "r1", control: "number" }] },
      { type: "group", key: "g", children: [{ type: "field", key: "a", control: "text" }] },
      { type: "indicator_table", key: "items", point_columns: [{ type: "field", key: "E", control: "number" }],
        by_item: { X1: { point_columns: [] } } },
    ],
  };
}

/** What the palette sends for a plain field. */
export function field(key, control) { return { type: "field", key, control: control || "text" }; }

/** A deep copy, to compare a tree with what it was. */
export function copy(x) { return JSON.parse(JSON.stringify(x)); }
