"""Which ``Host`` a request to ``qaexport serve`` may name, checked before the application sees the request.

Listening on 127.0.0.1 keeps other machines out, not other web pages: a page from ``evil.example`` whose name is
then made to resolve to 127.0.0.1 (DNS rebinding) is same-origin with its own name and could read the bank through
the server. Its requests name ``evil.example`` in ``Host``, so only the names of the address serve listens on
(``localhost``, ``127.0.0.1``, ``[::1]``, with serve's port) and the names the user allowed (``--allow-host``, for
an ``/etc/hosts`` alias of 127.0.0.1) are answered; any other ``Host``, or none, gets 403 on every path (pages,
the event stream, the preview's cards and pictures) with a short page that says why and how to allow the name, and
nothing of the bank. Nothing served changes state (every route is GET or HEAD, anything else is refused), so
``Origin`` needs no check of its own.

A refused name is said once on the terminal too (a user who typed an alias sees why the page is blank elsewhere),
at most ``MAX_TOLD`` names: a rebinding page could send any number of them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError, shown

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The names of the loopback address a browser on this machine may use in its address bar.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: Refused names said on the terminal, each once; past these, one line says the rest are not.
MAX_TOLD = 20
#: What ``--allow-host`` takes: a DNS name or IPv4 address (letters, digits, ``-``, ``_``, dots), or an IPv6
#: address in brackets; no port (serve's own is implied) and no wildcard.
_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
                   r"|\[[0-9a-f:.]{2,45}\]")
_MAX_NAME = 253


def allowed_name(name: str) -> str:
    """``name`` as ``--allow-host`` takes it (lower case, one trailing dot dropped), or a usage error saying why."""
    value = name.strip().lower().removesuffix(".")
    if len(value) <= _MAX_NAME and _NAME.fullmatch(value):
        return value
    port = re.fullmatch(r"(.+):\d+", value)
    if port and _NAME.fullmatch(port.group(1)):
        raise UsageError(f"--allow-host {shown(name)}: give the name without a port (serve's own port is implied): "
                         f"--allow-host {port.group(1)}")
    raise UsageError(f"--allow-host {shown(name)}: not a host name; give a name such as bank.test (an alias of "
                     "127.0.0.1 in /etc/hosts), an IPv4 address, or an IPv6 address in brackets")


def allowed_hosts(address: tuple[Any, ...], names: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` values that name ``address`` (the listening socket's ``getsockname()``): each loopback name,
    the bound address and each of ``names`` (already checked by ``allowed_name``), with the port (without it only
    on port 80, which a browser leaves out)."""
    host, port = str(address[0]), int(address[1])
    every = {*LOOPBACK_NAMES, f"[{host}]" if ":" in host else host, *names}
    return frozenset({f"{name}:{port}" for name in every} | (every if port == 80 else set()))


@dataclass
class Refusal:
    """Why one request's ``Host`` was refused, for the page and the terminal."""

    named: str | None  # the one Host value (None: none, or several)
    port: int  # serve's
    name: str | None = field(init=False)  # the name in it, when it is one --allow-host takes
    other_port: bool = field(init=False)  # a name of ours with another port (a tunnel or proxy that moved it)

    def __post_init__(self) -> None:
        value = (self.named or "").lower()
        head, colon, tail = value.rpartition(":")
        if not colon or not tail.isdigit() or head.endswith(":"):  # no port (``[::1]`` alone has no colon left)
            head, tail = value, ""
        self.name = head if head and _NAME.fullmatch(head) and len(head) <= _MAX_NAME else None
        ours = {*LOOPBACK_NAMES}
        self.other_port = self.name in ours and tail not in ("", str(self.port))

    def line(self) -> str:
        """One terminal line."""
        if self.named is None:
            return "refused a request without one Host header (serve answers only its own address)"
        if self.other_port:
            return (f"refused a request for Host {shown(self.named)}: serve listens on port {self.port}; a tunnel "
                    f"or proxy must keep the port (ssh -L {self.port}:127.0.0.1:{self.port} ...)")
        told = (f"refused a request for Host {shown(self.named)}: serve answers only http://127.0.0.1:{self.port}/ "
                f"(or localhost, [::1]) so that no other site's page can read the bank (DNS rebinding)")
        if self.name:
            told += f"; if {self.name} is your own name for this machine, restart serve with --allow-host {self.name}"
        return told

    def page(self) -> bytes:
        """A short HTML page: what was refused, why, the address that works and the flag that allows the name.
        Nothing of the bank; the Host is shown escaped and bounded."""
        ours = f"http://127.0.0.1:{self.port}/"
        said = "no single Host header" if self.named is None else f"the name {shown(self.named)}"
        parts = [f"<p>This request named {html.escape(said)}. <code>qaexport serve</code> answers only "
                 f'<a href="{ours}">{ours}</a> (or <code>localhost:{self.port}</code>, '
                 f"<code>[::1]:{self.port}</code>), so that a page of another site whose name is made to resolve to "
                 "127.0.0.1 (DNS rebinding) cannot read the bank.</p>"]
        if self.other_port:
            parts.append(f"<p>serve listens on port {self.port}: a tunnel or proxy must keep the port, e.g. "
                         f"<code>ssh -L {self.port}:127.0.0.1:{self.port} host</code>.</p>")
        elif self.name:
            parts.append(f"<p>If <code>{html.escape(self.name)}</code> is your own name for this machine (an alias "
                         "of 127.0.0.1 in /etc/hosts), stop serve (Ctrl-C) and start it again so:</p>"
                         f"<pre>qaexport serve --allow-host {html.escape(self.name)} SOURCES</pre>")
        return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>403: host not allowed</title>'
                "</head><body><h1>403: this host name is not allowed</h1>" + "".join(parts)
                + "</body></html>\n").encode("utf-8")


class HostCheck:
    """ASGI middleware: a request whose ``Host`` is not one of ``hosts`` is refused (403, a page saying why) before
    ``app`` sees it; ``tell`` gets one line the first time each refused value is seen (at most ``MAX_TOLD``)."""

    def __init__(self, app: App, hosts: frozenset[str], port: int = 0,
                 tell: Callable[[str], None] = lambda line: None) -> None:
        self.app = app
        self.hosts = hosts
        self.port = port
        self.tell = tell
        self.told: set[str | None] = set()

    def named(self, scope: Scope) -> str | None:
        """The request's one ``Host`` value (None: none, or several)."""
        named = [value for key, value in scope.get("headers", ()) if key.lower() == b"host"]
        return named[0].decode("latin-1") if len(named) == 1 else None

    def allows(self, scope: Scope) -> bool:
        """Whether the request names exactly one ``Host``, one of ours (compared without regard to case)."""
        named = self.named(scope)
        return named is not None and named.lower() in self.hosts

    def refused(self, scope: Scope) -> Refusal:
        """Why the request is refused; said on the terminal the first time its value is seen."""
        refusal = Refusal(self.named(scope), self.port)
        key = None if refusal.named is None else refusal.named.lower()
        if key not in self.told and len(self.told) <= MAX_TOLD:
            self.told.add(key)
            self.tell(refusal.line() if len(self.told) <= MAX_TOLD else
                      f"refused requests for {MAX_TOLD} Host names; further ones are not said")
        return refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allows(scope):
            body = self.refused(scope).page()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
                                    (b"content-security-policy", b"default-src 'none'")]})
            await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})
            return
        if scope["type"] == "websocket" and not self.allows(scope):
            self.refused(scope)
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)
