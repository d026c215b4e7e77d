"""Which certificate templates an instrument type prints with (§5.8.15): its own 检定证书 and
检定结果通知书 templates, or the shipped ones when it names none.

A type may name only a template of the right kind that has a published (reviewed) version; issuing
uses exactly that template and refuses rather than fall back to another layout. The templates are the
certificates feature's data (imported lazily: that feature reads instrument types from here).
"""

from __future__ import annotations

from typing import Any

from metrolab.indicators.catalogue import Problems

# field → (document kind, field label as the editor names it)
FIELDS = {
    "certificate_template": ("检定证书", "证书模板"),
    "notice_template": ("检定结果通知书", "检定结果通知书模板"),
}


async def known() -> dict[str, dict[str, Any]]:
    """Every template by key: key, name, kind, id, number (of its published version, or None)."""
    from metrolab.certificates import template_versions

    return await template_versions.published_templates()


def shipped_key(kind: str) -> str:
    from metrolab.certificates.template_versions import SHIPPED

    return next((key for key, _name, k in SHIPPED if k == kind), "")


def _problem(field: str, key: str, found: dict[str, Any] | None) -> str | None:
    kind, label = FIELDS[field]
    if found is None:
        return f"{label}“{key}”不存在，请选择已发布的{kind}模板"
    if found["kind"] != kind:
        return f"{label}“{key}”（{found['name']}）是{found['kind']}模板，不能用作{kind}模板"
    if found["number"] is None:
        return f"{label}“{key}”（{found['name']}）没有已发布的版本，不能使用：请先审核发布，或选择其他模板"
    return None


async def problems(catalogue: dict[str, Any]) -> Problems:
    """The named templates that cannot be used, by field (empty names are the shipped ones)."""
    templates = await known()
    out: Problems = {}
    for field in FIELDS:
        key = catalogue.get(field) or ""
        if key and (problem := _problem(field, key, templates.get(key))):
            out[field] = problem
    return out


async def choices() -> dict[str, list[dict[str, Any]]]:
    """Per field, the templates the editor offers: of that kind, with a published version."""
    templates = sorted((await known()).values(), key=lambda t: t["key"])
    return {
        field: [t for t in templates if t["kind"] == kind and t["number"]]
        for field, (kind, _label) in FIELDS.items()
    }


def in_use(catalogue: dict[str, Any], templates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per field: the template the type's documents are printed with, whether it is the shipped
    default, and the problem when it cannot be used (issuing is then refused)."""
    out = []
    for field, (kind, label) in FIELDS.items():
        key = catalogue.get(field) or ""
        used = key or shipped_key(kind)
        found = templates.get(used)
        problem = _problem(field, used, found)
        out.append(
            {
                "field": field,
                "label": label,
                "kind": kind,
                "key": key,
                "default": not key,
                "template": found if found and found["kind"] == kind else None,
                "problem": problem,
                "href": f"/certificate-templates/{found['id']}" if found else "",
            }
        )
    return out


async def in_use_of(catalogue: dict[str, Any]) -> list[dict[str, Any]]:
    return in_use(catalogue, await known())
