"""Pages and API of the records feature."""

from litestar import Router

router = Router(path="/", route_handlers=[])
