"""The API docs page (/api-docs): Swagger UI over /schema/openapi.json, for a signed-in developer.

Swagger UI is installed from npm and copied into static/vendor by `make assets` (labs run offline: no
CDN). "Try it out" runs in the signed-in browser session, so unsafe requests carry the CSRF header."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.response import Template

from metrolab.web.i18n import _
from metrolab.web.pages import page
from metrolab.web.permissions import AUTHENTICATED

SCHEMA_URL = "/schema/openapi.json"


@get("/api-docs", opt=AUTHENTICATED, include_in_schema=False, name="api_docs")
async def api_docs(request: Request) -> Template:
    return page("apidocs/api_docs.html", request, title=_("API 文档"), schema_url=SCHEMA_URL)


router = Router(path="/", route_handlers=[api_docs])
