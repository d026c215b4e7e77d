"""Small helpers for page handlers: render a template, redirect, read a posted form."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template


def page(
    name: str, request: Request | None = None, status_code: int = 200, **context: Any
) -> Template:
    return Template(template_name=name, context=context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def see_other(url: str) -> Redirect:
    return Redirect(path=url, status_code=303)


async def form_dict(request: Request) -> dict[str, str]:
    """The posted form as {name: last value} with surrounding whitespace trimmed."""
    form = await request.form()
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items()}


async def read_upload(request: Request, field: str = "file") -> tuple[bytes, str]:
    """(bytes, filename) of one uploaded file, read to at most upload_max_bytes + 1 (callers refuse
    the oversized); (b"", "") when the field is missing or not a file."""
    from metrolab.settings import get_settings

    form = await request.form()
    upload = form.get(field)
    if upload is None or isinstance(upload, str):
        return b"", ""
    data = await upload.read(get_settings().upload_max_bytes + 1)
    return data, upload.filename or ""
