"""Rendering: a view tree for the Jinja partial ``forms/_render.html``.

The partial's macro ``render_form(defn, data, problems, catalogue, context, lang, mode)`` calls
:func:`form_view` (registered as the Jinja global ``ml_form_view`` by :func:`install`), which
computes the record and turns the layout into plain dicts the macro prints. The server is the only
place anything is computed; the browser posts the whole form on ``change`` and swaps ``#form-body``.

``context["asked_by_page"]``: paths of fields the host page asks in its own header (a record's
送检单位): they are rendered hidden (still posted, with the value the host put in), so a person is
asked once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from metrolab.engine.forms.compute import ENV_LABELS, compute
from metrolab.engine.forms.model import FormDefinition, describe, node_key, text_of
from metrolab.engine.forms.problems import FieldProblem, Labels, row_label
from metrolab.engine.forms.scopes import Entry, Scope, build
from metrolab.engine.forms.submission import _is_multi
from metrolab.engine.forms.walk import rows_of

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
MODES = ("edit", "view", "preview")


def install(env: Environment) -> Environment:
    """Register the globals the partial needs on the app's Jinja environment."""
    env.globals["ml_form_view"] = form_view
    return env


@lru_cache(maxsize=1)
def environment() -> Environment:
    """A private environment for :func:`render_form` (the app uses its own + :func:`install`)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return install(env)


def render_form(
    defn: FormDefinition,
    data: dict[str, Any] | None = None,
    problems: list[FieldProblem] | None = None,
    catalogue: Any = None,
    context: dict[str, Any] | None = None,
    lang: str = "zh",
    mode: str = "edit",
) -> str:
    """Render the partial outside a page (tests, previews, htmx fragments)."""
    template = environment().from_string(
        '{% from "forms/_render.html" import render_form %}'
        "{{ render_form(defn, data, problems, catalogue, context, lang, mode) }}"
    )
    return template.render(
        defn=defn,
        data=data,
        problems=problems,
        catalogue=catalogue,
        context=context,
        lang=lang,
        mode=mode,
    )


def dom_id(prefix: str, path: str) -> str:
    return prefix + "-" + path.replace(".", "-")


class _Builder:
    def __init__(
        self,
        defn: FormDefinition,
        data: Any,
        problems: list[FieldProblem] | None,
        catalogue: Any,
        context: dict[str, Any],
        lang: str,
        mode: str,
    ) -> None:
        self.defn, self.lang, self.mode, self.context = defn, lang, mode, context
        self.root, _ = build(defn, catalogue)
        self.result = compute(defn, data if isinstance(data, dict) else {}, catalogue, context)
        self.problems: dict[str, list[FieldProblem]] = {}
        for p in list(problems or []) + self.result.problems:
            self.problems.setdefault(p.path, []).append(p)

    def t(self, label: Any) -> str:
        return text_of(label, self.lang)

    def messages(self, path: str) -> list[dict[str, str]]:
        return [
            {"text": p.message(self.lang), "severity": p.severity}
            for p in self.problems.get(path, [])
        ]

    def hidden(self, path: str) -> bool:
        return path in self.result.hidden or path in self.context.get("asked_by_page", ())

    def nodes(
        self,
        nodes: list[dict[str, Any]],
        scope: Scope,
        data: dict[str, Any],
        prefix: str,
        labels: Labels,
    ) -> list[dict[str, Any]]:
        return [self.node(n, scope, data, prefix, labels) for n in nodes]

    def node(
        self, node: dict[str, Any], scope: Scope, data: dict[str, Any], prefix: str, labels: Labels
    ) -> dict[str, Any]:
        kind = node["type"]
        label = self.t(node.get("label"))
        if kind == "section":
            return {
                "kind": "section",
                "label": label,
                "children": self.nodes(node["children"], scope, data, prefix, labels),
            }
        if kind == "heading":
            return {"kind": "heading", "label": label}
        if kind == "columns":
            return {
                "kind": "columns",
                "columns": [
                    self.nodes(col, scope, data, prefix, labels) for col in node["columns"]
                ],
            }
        key = node_key(node) or ""
        entry = scope.entries[key]
        path = prefix + key
        view: dict[str, Any] = {
            "kind": kind,
            "label": label,
            "path": path,
            "hidden": self.hidden(path),
            "problems": self.messages(path),
            "help": self.t(node.get("help")),
        }
        value = data.get(key)
        if kind == "field":
            return view | self.field(node, path, value)
        if kind == "computed":
            return view | {
                "id": dom_id("c", path),
                "value": _text(value),
                "unit": node.get("unit", ""),
            }
        if kind == "conclusion":
            return view | {"id": dom_id("c", path), "value": self.result.conclusion or ""}
        if kind == "environment":
            return view | {
                "fields": [
                    self.env_field(name, path, value)
                    for name in node.get("fields", list(ENV_LABELS))
                ]
            }
        if kind in ("table", "group") and entry.inner is not None:
            return view | self.container(entry, path, value, labels)
        return view | self.indicator(entry, path, value, labels)

    def field(self, node: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
        multi = _is_multi(node)
        if value is None:
            value = node.get("default", [] if multi else "")
        options = []
        for opt in node.get("options", []):
            chosen = (
                opt["value"] in value
                if multi and isinstance(value, list)
                else opt["value"] == value
            )
            options.append(
                {
                    "value": opt["value"],
                    "label": self.t(opt.get("label")) or opt["value"],
                    "selected": chosen,
                }
            )
        standards = []
        if node.get("control") == "standard_picker":
            chosen = value if isinstance(value, list) else [value]
            for std in self.context.get("standards", []):
                standards.append(
                    {
                        "value": str(std.get("id") or std.get("code")),
                        "label": std.get("label") or std.get("name") or std.get("code"),
                        "selected": str(std.get("id") or std.get("code")) in chosen,
                        "disabled": bool(std.get("expired")),
                        "expiring": bool(std.get("expiring")),
                        "valid_until": std.get("valid_until") or "",
                    }
                )
        return {
            "id": dom_id("f", path),
            "name": path,
            "control": node.get("control"),
            "value": value,
            "multi": multi,
            "options": options,
            "standards": standards,
            "unit": node.get("unit", ""),
            "required": bool(node.get("required")),
            "placeholder": node.get("placeholder") or node.get("example") or "",
            "readonly": bool(node.get("readonly")),
            "min": node.get("min"),
            "max": node.get("max"),
        }

    def env_field(self, name: str, path: str, value: Any) -> dict[str, Any]:
        label, unit = ENV_LABELS[name]
        full = f"{path}.{name}"
        typed = value.get(name, "") if isinstance(value, dict) else ""
        return {
            "kind": "field",
            "id": dom_id("f", full),
            "name": full,
            "control": "number",
            "label": self.t(label),
            "value": typed,
            "unit": unit,
            "multi": False,
            "options": [],
            "standards": [],
            "required": False,
            "placeholder": "",
            "readonly": False,
            "problems": self.messages(full),
            "hidden": False,
            "help": "",
            "path": full,
        }

    def container(self, entry: Entry, path: str, value: Any, labels: Labels) -> dict[str, Any]:
        inner = entry.inner
        assert inner is not None
        node = entry.node
        children = node["columns"] if entry.kind == "table" else node["children"]
        if not entry.repeat:
            sub = value if isinstance(value, dict) else {}
            return {
                "repeat": False,
                "children": self.nodes(children, inner, sub, path + ".", labels),
            }
        rows = rows_of(value)
        fixed = entry.kind == "table" and inner.rows_param is not None
        editable = self.mode == "edit" and not fixed
        low = node.get("min_rows" if entry.kind == "table" else "min", 0)
        high = node.get("max_rows" if entry.kind == "table" else "max")
        out_rows = []
        for i, row in enumerate(rows):
            rl = row_label(node, i)
            out_rows.append(
                {
                    "label": rl[1] if self.lang == "en" else rl[0],
                    "cells": self.nodes(children, inner, row, f"{path}.{i}.", labels + (rl,)),
                    "remove": f"remove_row:{path}.{i}" if editable and len(rows) > low else None,
                }
            )
        return {
            "repeat": True,
            "rows": out_rows,
            "headers": [
                {"label": self.t(c.get("label")), "unit": c.get("unit", "")} for c in children
            ],
            "add": f"add_row:{path}" if editable and (high is None or len(rows) < high) else None,
        }

    def indicator(self, entry: Entry, path: str, value: Any, labels: Labels) -> dict[str, Any]:
        items_data = value if isinstance(value, dict) else {}
        items = []
        results = {r.path: r for r in self.result.items}
        for spec in entry.items:
            if spec.code == "*":
                continue
            ipath = f"{path}.{spec.code}"
            found = items_data.get(spec.code)
            idata = found if isinstance(found, dict) else {}
            points = []
            for j, pdata in enumerate(rows_of(idata.get("points"))):
                point = spec.points[j] if j < len(spec.points) else {}
                plabel = point.get("label") or {
                    "zh": point.get("code", ""),
                    "en": point.get("code", ""),
                }
                columns = spec.point_scope.entries
                nodes = [e.node for e in columns.values()]
                points.append(
                    {
                        "label": self.t(plabel),
                        "code": point.get("code"),
                        "path": f"{ipath}.points.{j}",
                        "cells": self.nodes(
                            nodes, spec.point_scope, pdata, f"{ipath}.points.{j}.", labels
                        ),
                    }
                )
            res = results.get(ipath)
            item = spec.item
            items.append(
                {
                    "code": spec.code,
                    "label": self.t(item.get("name")) or spec.code,
                    "path": ipath,
                    "requirement": self.t(item.get("requirement")),
                    "unit": item.get("unit") or "",
                    "mpe": item.get("mpe"),
                    "points": points,
                    "result": res.result if res else None,
                    "conclusion": res.conclusion if res else None,
                    "result_id": dom_id("c", ipath + ".result"),
                    "conclusion_id": dom_id("c", ipath + ".conclusion"),
                    "problems": self.messages(ipath + ".result")
                    + self.messages(ipath + ".conclusion"),
                }
            )
        return {
            "items": items,
            "missing_catalogue": entry.catalogue is None,
            "where": describe(entry.node, path),
        }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    return str(value)


def form_view(
    defn: FormDefinition,
    data: Any = None,
    problems: Any = None,
    catalogue: Any = None,
    context: Any = None,
    lang: str = "zh",
    mode: str = "edit",
) -> dict[str, Any]:
    """The view tree printed by the macro (see module docstring)."""
    if mode not in MODES:
        raise ValueError(f"未知的显示模式 “{mode}” (unknown mode)")
    context = dict(context or {})
    b = _Builder(defn, data, problems, catalogue, context, lang, mode)
    children = b.nodes(defn.layout, b.root, b.result.data, "", ())
    return {
        "key": defn.key,
        "title": text_of(defn.title, lang),
        "lang": lang,
        "mode": mode,
        "children": children,
        "compute_url": context.get("compute_url"),
        "conclusion": b.result.conclusion,
        "data": b.result.data,
    }
