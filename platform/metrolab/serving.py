"""`metrolab serve`: uvicorn, with a listening socket that keeps TCP_NODELAY for several workers.

With `--workers N` uvicorn 0.54 binds the socket itself as `socket(AF_INET, SOCK_STREAM)` (protocol 0);
asyncio only sets TCP_NODELAY on connections whose socket says IPPROTO_TCP, so every keep-alive response
waited for the client's delayed ACK: about 40 ms a request (Kludex/uvicorn#3149). We bind the socket
with the protocol named and hand it to uvicorn's own supervisor."""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "metrolab.app:create_app"


def tcp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(host: str, port: int, workers: int, access_log: bool = False) -> None:
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=True,
    )
    if workers > 1:
        Multiprocess(config, sockets=[tcp_socket(host, port)]).run()
    else:
        uvicorn.Server(config).run()
