"""Which ``Host`` a request to ``qaexport serve`` may name, checked before the application sees the request.

Listening on 127.0.0.1 keeps other machines out, not other web pages: a page from ``evil.example`` whose name is
then made to resolve to 127.0.0.1 (DNS rebinding) is same-origin with its own name and could read the bank through
the server. Its requests name ``evil.example`` in ``Host``, so only the names of the address serve listens on
(``localhost``, ``127.0.0.1``, ``[::1]``, with serve's port) are answered; any other ``Host``, or none, gets 403
and no content, on every path: pages, the event stream, the preview's cards and pictures. Nothing served changes
state (every route is GET or HEAD, anything else is refused), so ``Origin`` needs no check of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The names of the loopback address a browser on this machine may use in its address bar.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(address: tuple[Any, ...]) -> frozenset[str]:
    """The ``Host`` values that name ``address`` (the listening socket's ``getsockname()``): each loopback name and
    the bound address, with the port (without it only on port 80, which a browser leaves out)."""
    host, port = str(address[0]), int(address[1])
    names = {*LOOPBACK_NAMES, f"[{host}]" if ":" in host else host}
    return frozenset({f"{name}:{port}" for name in names} | (names if port == 80 else set()))


class HostCheck:
    """ASGI middleware: a request whose ``Host`` is not one of ``hosts`` is refused (403, no body) before ``app``
    sees it."""

    def __init__(self, app: App, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    def allows(self, scope: Scope) -> bool:
        """Whether the request names exactly one ``Host``, one of ours (compared without regard to case)."""
        named = [value for key, value in scope.get("headers", ()) if key.lower() == b"host"]
        return len(named) == 1 and named[0].decode("latin-1").lower() in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allows(scope):
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-length", b"0"), (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] == "websocket" and not self.allows(scope):
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)
