"""新建表单: a new form from a starter (designer/starters/*.json: empty, 委托单, 原始记录 with an
indicator table), version 1 as a draft opened in the designer."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from metrolab.kernel.errors import Refused
from metrolab.paths import data_folder

KEY = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


class NewFormRefused(Refused):
    """A field of the 新建表单 form is wrong: ``extra`` is {field: message}."""


@cache
def starters() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(data_folder("designer").joinpath("starters").glob("*.json")):
        found[path.stem] = json.loads(path.read_text("utf-8"))
    return dict(sorted(found.items(), key=lambda kv: kv[1].get("order", 99)))


def starter_list(lang: str) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "name": s["name"].get(lang) or s["name"]["zh"],
            "description": s["description"].get(lang) or s["description"]["zh"],
            "kind": s["kind"],
            "needs_catalogue": s["needs_catalogue"],
        }
        for code, s in starters().items()
    ]


async def create_form(
    *,
    starter: str,
    key: str,
    title_zh: str,
    title_en: str = "",
    kind: str = "record",
    catalogue: str = "",
    user: Any,
) -> dict[str, Any]:
    """The starter filled with the form's key, title, kind and instrument type; audited."""
    from metrolab.audit.log import record
    from metrolab.forms import catalogue as indicators
    from metrolab.forms import services as forms

    problems: dict[str, str] = {}
    template = starters().get(starter)
    if template is None:
        problems["starter"] = "请选择起点"
    key, title_zh, title_en = key.strip(), title_zh.strip(), title_en.strip()
    if not KEY.match(key):
        problems["key"] = "表单标识须以小写字母开头，只含小写字母、数字和下划线（2–60 个字符）"
    elif await forms.get_definition(key):
        problems["key"] = f"表单标识 “{key}” 已被使用"
    if not title_zh:
        problems["title_zh"] = "请填写表单名称"
    if template and template["kind"]:
        kind = template["kind"]
    if kind not in forms.KINDS:
        problems["kind"] = "请选择表单类别"
    if template and template["needs_catalogue"] and not catalogue:
        problems["catalogue"] = "原始记录的指标表须选择器具类型"
    if catalogue and await indicators.get_catalogue(catalogue) is None:
        problems["catalogue"] = "器具类型不存在"
    if problems:
        raise NewFormRefused("；".join(problems.values()), extra=problems)
    assert template is not None
    raw = copy.deepcopy(template["definition"])
    raw.update(key=key, kind=kind, title={"zh": title_zh, "en": title_en or title_zh})
    if catalogue:
        raw["catalogue"] = catalogue
    version = await forms.create_definition(raw, user)
    await record(
        "form.created_in_designer",
        actor=user,
        target_type="form_version",
        target_id=version["id"],
        details={"key": key, "starter": starter},
    )
    return version
