"""Pages and API of the indicator database."""

from litestar import Router

router = Router(path="/", route_handlers=[])
