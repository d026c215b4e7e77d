"""What the designer asks of the server: expression checks, previews, import validation, and the
page's data. Versions are read and drafts made through ``metrolab.forms.services`` only."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec

from metrolab.engine.expressions import FUNCTIONS, ExpressionError, check_names, compile_expression
from metrolab.engine.forms import DefinitionInvalid, load_definition, render_form
from metrolab.engine.forms.model import CONTROLS, parse_json
from metrolab.engine.forms.shape import shape_problems
from metrolab.engine.forms.submission import parse_submission

MAX_IMPORT_CHARS = 5 * 1024 * 1024
MAX_EXPRESSION = 5_000
MAX_NAMES = 5_000
MAX_BODY = 8 * 1024 * 1024


class CheckIn(msgspec.Struct):
    expression: Annotated[str, msgspec.Meta(max_length=MAX_EXPRESSION)]
    known_names: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=MAX_NAMES)
    ] = []


MAX_VALUES = 20_000
Typed = tuple[
    Annotated[str, msgspec.Meta(max_length=500)], Annotated[str, msgspec.Meta(max_length=5_000)]
]


class PreviewIn(msgspec.Struct):
    definition: dict[str, Any]
    lang: Literal["zh", "en"] | None = None
    # What was typed into the preview, as (input name, value) pairs; nothing typed → empty form.
    values: Annotated[list[Typed], msgspec.Meta(max_length=MAX_VALUES)] = []


class ValidateIn(msgspec.Struct):
    text: Annotated[str, msgspec.Meta(max_length=MAX_IMPORT_CHARS)]


def check_expression(source: Any, known_names: Any) -> dict[str, Any]:
    """Compile with the real evaluator and check root names against ``known_names``."""
    if not isinstance(source, str):
        return {
            "ok": False,
            "message": "表达式必须是文本",
            "position": None,
            "names": [],
            "code": "syntax",
        }
    names = (
        [n for n in (known_names or []) if isinstance(n, str)]
        if isinstance(known_names, list)
        else []
    )
    try:
        compiled = compile_expression(source)
        used = sorted(compiled.names)
        check_names(compiled, names)
    except ExpressionError as exc:
        return {
            "ok": False,
            "message": exc.message,
            "position": exc.position,
            "names": [],
            "code": exc.code,
        }
    return {
        "ok": True,
        "message": "",
        "position": None,
        "names": used,
        "functions": sorted(compiled.functions),
    }


def _problems(exc: DefinitionInvalid, lang: str) -> list[dict[str, str]]:
    return [
        {
            "place": p.place,
            "message": p.message_zh if lang == "zh" else (p.message_en or p.message_zh),
        }
        for p in exc.problems
    ]


def preview(
    raw: Any,
    catalogue: dict[str, Any] | None,
    lang: str = "zh",
    values: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Render the draft as a person would fill it: computed values come only from what was typed
    into the preview (``values``), never from invented inputs."""
    start = time.perf_counter()
    try:
        defn = load_definition(raw, catalogue)
    except DefinitionInvalid as exc:
        return {"ok": False, "html": "", "problems": _problems(exc, lang), "ms": _ms(start)}
    except (TypeError, KeyError, AttributeError) as exc:  # a shape the checks did not foresee
        return {
            "ok": False,
            "html": "",
            "problems": [{"place": "（根）", "message": f"定义无法读取：{exc}"}],
            "ms": _ms(start),
        }
    data = parse_submission(defn, _pairs(values or []), catalogue)
    html = render_form(defn, data, [], catalogue, {"standards": []}, lang=lang, mode="edit")
    return {"ok": True, "html": html, "problems": [], "ms": _ms(start)}


class _Posted:
    """Typed pairs in the shape parse_submission reads from a posted form."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def multi_items(self) -> list[tuple[str, str]]:
        return self.pairs


def _pairs(values: list[tuple[str, str]]) -> Any:
    return _Posted([(n, v.replace("\x00", "")) for n, v in values])


def validate_import(text: Any, form_key: str | None = None) -> dict[str, Any]:
    """A definition file's text, refused whole with every reason, or the parsed definition."""
    if not isinstance(text, str):
        return {"ok": False, "problems": [{"place": "文件", "message": "没有收到文件内容"}]}
    if len(text) > MAX_IMPORT_CHARS:
        return {"ok": False, "problems": [{"place": "文件", "message": "文件过大（上限 5 MB）"}]}
    try:
        raw = parse_json(text)
        problems = shape_problems(raw)
        if problems:
            raise DefinitionInvalid(problems)
        load_definition(raw)
    except DefinitionInvalid as exc:
        return {"ok": False, "problems": _problems(exc, "zh")}
    if form_key and raw.get("key") != form_key:
        return {
            "ok": False,
            "problems": [
                {
                    "place": "key",
                    "message": f"文件中的表单标识 “{raw.get('key')}” 与当前表单 “{form_key}” 不同，不能导入到此草稿",
                }
            ],
        }
    return {"ok": True, "definition": raw, "problems": []}


def catalogue_summary(types: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """Instrument types for the page: name, item codes and test-point parameter names."""
    out = {}
    for t in types:
        params: set[str] = set()
        for item in t.get("items", []):
            for point in item.get("points", []):
                params.update((point.get("params") or {}).keys())
        name = t.get("name")
        out[t["code"]] = {
            "name": (name.get(lang) or name.get("zh"))
            if isinstance(name, dict)
            else str(name or t["code"]),
            "params": sorted(params),
            "items": [
                {
                    "code": i["code"],
                    "name": (i.get("name") or {}).get(lang) or (i.get("name") or {}).get("zh", ""),
                }
                for i in t.get("items", [])
            ],
        }
    return out


def function_help(lang: str) -> list[dict[str, str]]:
    return [
        {"name": f.name, "usage": f.usage, "text": f.zh if lang == "zh" else f.en}
        for f in FUNCTIONS.values()
    ]


def function_names() -> list[str]:
    return sorted(FUNCTIONS)


def controls() -> list[str]:
    return list(CONTROLS)


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


# ── what the page and the API both answer ─────────────────────────────────────────────────────


async def preview_draft(data: PreviewIn, lang: str) -> dict[str, Any]:
    """The preview of a draft with the instrument types it names (off the event loop)."""
    import anyio

    from metrolab.forms import catalogue

    raw = data.definition
    codes = {raw.get("catalogue")} | _indicator_codes(raw.get("layout"))
    types = {
        c: t for c in codes if isinstance(c, str) and c and (t := await catalogue.get_catalogue(c))
    }
    return await anyio.to_thread.run_sync(
        preview, raw, types or None, data.lang or lang, list(data.values)
    )


def _indicator_codes(nodes: Any) -> set[str]:
    out: set[str] = set()
    stack = [nodes]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") == "indicator_table" and isinstance(item.get("catalogue"), str):
                out.add(item["catalogue"])
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
    return out


async def open_in_designer(key: str, user: Any) -> dict[str, Any]:
    """在设计器中修改: a draft of ``key`` (new, or the one already open), audited."""
    from metrolab.forms import services as forms

    return await forms.open_draft(key, user, event="form.draft_opened_in_designer")
