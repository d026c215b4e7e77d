"""机构信息: the lab's particulars printed on every certificate, its 检定专用章 and its number pattern.

The page (``/lab/settings``), admin only; its API twin (``GET``/``PUT /api/v1/lab/settings``) is in api.py.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from metrolab.lab import services
from metrolab.lab.numbering import DEFAULT_PATTERN
from metrolab.web.i18n import _
from metrolab.web.pages import page, read_upload, see_other
from metrolab.web.permissions import perm

SETTINGS = perm("lab.settings")


def _form(
    values: dict[str, Any], errors: dict[str, str], status_code: int = 200, saved: bool = False
) -> Template:
    example = (
        ""
        if "number_pattern" in errors
        else services.number_example(values.get("number_pattern", ""))
    )
    return page(
        "lab/settings.html",
        status_code=status_code,
        title=_("机构信息"),
        values=values,
        errors={k: _(v) for k, v in errors.items()},
        fields=services.FIELDS,
        saved=saved,
        missing=services.missing_required(values),
        default_pattern=DEFAULT_PATTERN,
        example=example,
    )


@get("/lab/settings", opt=SETTINGS, include_in_schema=False)
async def settings_page(saved: bool = False) -> Template:
    return _form(await services.settings_for_page(), {}, saved=saved)


@post(
    "/lab/settings",
    opt=perm("lab.settings", api="PUT /api/v1/lab/settings"),
    include_in_schema=False,
)
async def settings_save(request: Request) -> Response:
    form = await request.form()
    raw = {f.key: form.get(f.key, "") for f in services.FIELDS}
    values = services.clean({k: v if isinstance(v, str) else "" for k, v in raw.items()})
    errors = services.validate(values)
    content, _filename = await read_upload(request, "seal")
    seal = None
    if content:
        seal, problem = services.seal_image(content)
        if problem:
            errors["seal"] = problem
    current = await services.settings_for_page()
    if errors:
        return _form({**values, "seal_sha256": current["seal_sha256"]}, errors, 400)
    await services.save_settings(
        values, seal=seal, remove_seal=form.get("remove_seal") == "1", actor=request.user
    )
    return see_other("/lab/settings?saved=1")


ROUTES = [settings_page, settings_save]
