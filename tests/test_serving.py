"""`metrolab serve --workers N` answers keep-alive requests without Nagle's delay (TCP_NODELAY)."""

from __future__ import annotations

import asyncio
import socket

from conftest import run
from metrolab.serving import tcp_socket


def test_connections_accepted_on_the_workers_socket_have_tcp_nodelay():
    """asyncio sets TCP_NODELAY only where the listening socket names IPPROTO_TCP; uvicorn's own
    multi-worker socket does not, which cost ~40 ms per keep-alive request."""

    async def go() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):  # type: ignore[no-untyped-def]
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listener = tcp_socket("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted, 5)
        writer.close()
        server.close()
        return nodelay

    assert run(go()) == 1
