"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import os

from litestar import Litestar, get
from litestar.middleware import DefineMiddleware
from litestar.response import File
from litestar.static_files import create_static_files_router

from metrolab import jobs
from metrolab.db import close_pool, open_pool
from metrolab.features import register_all
from metrolab.paths import PACKAGE_DIR
from metrolab.settings import get_settings
from metrolab.web import apidocs, labels
from metrolab.web.auth import AuthenticationMiddleware, permission_guard
from metrolab.web.csrf import TokenAwareCSRFMiddleware, csrf_config
from metrolab.web.errors import EXCEPTION_HANDLERS
from metrolab.web.openapi import declare_common_answers, openapi_config
from metrolab.web.permissions import PUBLIC
from metrolab.web.templating import template_config

_embedded: list[asyncio.Task[None]] = []


async def _start_worker() -> None:
    """`metrolab serve` renders certificates too (a lab with one host runs nothing else), unless
    METROLAB_EMBEDDED_WORKER=0 (hosts that only serve pages, render workers elsewhere)."""
    if jobs.queued() and os.environ.get("METROLAB_EMBEDDED_WORKER", "1") != "0":
        _embedded.append(asyncio.create_task(jobs.run_worker(), name="metrolab-worker"))


async def _stop_worker() -> None:
    while _embedded:
        task = _embedded.pop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await jobs.close()


async def _close_converter() -> None:
    from metrolab.certificates.services import close_converter

    close_converter()  # the warm LibreOffice servers of certificate issuing, if any were started


@get("/favicon.ico", opt=PUBLIC, include_in_schema=False, cache=86400)
async def favicon() -> File:
    """Browsers ask for /favicon.ico on every page whatever base.html links: the lab's icon, no login."""
    return File(
        PACKAGE_DIR / "web" / "static" / "favicon.svg",
        media_type="image/svg+xml",
        content_disposition_type="inline",
    )


def create_app() -> Litestar:
    settings = get_settings()
    static = create_static_files_router(
        path="/static",
        directories=[PACKAGE_DIR / "web" / "static"],
        opt=PUBLIC,
        name="static",
        send_as_attachment=False,
    )
    csrf = csrf_config(settings.secret_key, secure=settings.base_url.startswith("https"))
    app = Litestar(
        route_handlers=[static, favicon, apidocs.router, *register_all()],
        guards=[permission_guard],
        middleware=[
            AuthenticationMiddleware,
            DefineMiddleware(TokenAwareCSRFMiddleware, config=csrf),
        ],
        template_config=template_config(),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        on_startup=[open_pool, labels.load_roles, _start_worker],
        on_shutdown=[_stop_worker, close_pool, _close_converter],
        request_max_body_size=settings.upload_max_bytes + 1024 * 1024,
        debug=settings.debug,
    )
    declare_common_answers(app)
    return app
