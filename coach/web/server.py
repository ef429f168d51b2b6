"""Running the app on uvicorn, on a socket bound first so the URL is known before serving
(port 0 picks a free port, as the tests do)."""

from __future__ import annotations

import ipaddress
import socket

import uvicorn

# Open event streams would hold a stopping server for ever: Ctrl-C gives them this long.
CLOSE_S = 1


class BindError(OSError):
    """The address cannot be listened on; `str(error)` says which and why."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (IPv4 or IPv6)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise BindError(f"cannot listen on {host} port {port}: {e.strerror or e}") from None
    sock.listen(64)
    return sock


def url(sock: socket.socket, host: str, token: str | None) -> str:
    """The address to open: this machine's for a loopback host; for 0.0.0.0, this machine's
    address on the network (what a phone on the same network reaches), with the token."""
    port = sock.getsockname()[1]
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = lan_address()
    if ":" in shown:
        shown = f"[{shown}]"
    query = f"?token={token}" if token else ""
    return f"http://{shown}:{port}/{query}"


def lan_address() -> str:
    """This machine's address on its network: the one a UDP socket would send from (nothing
    is sent); 127.0.0.1 when there is no network."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, never contacted
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def run(app, sock: socket.socket) -> None:
    """Serve `app` on `sock` until Ctrl-C or SIGTERM."""
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=CLOSE_S, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=[sock])
