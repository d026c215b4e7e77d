"""The framework's ceiling: a bare Litestar endpoint, served the same way as metrolab (uvicorn, 1 worker)."""

from litestar import Litestar, get


@get("/ping", sync_to_thread=False)
def ping() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[ping])
