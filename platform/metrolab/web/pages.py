"""Small helpers for page handlers: render a template, redirect, read a posted form."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template



def page(name: str, request: Request | None = None, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=name, context=context, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def see_other(url: str) -> Redirect:
    return Redirect(path=url, status_code=303)


async def form_dict(request: Request) -> dict[str, str]:
    """The posted form as {name: last value} with surrounding whitespace trimmed."""
    form = await request.form()
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items()}
