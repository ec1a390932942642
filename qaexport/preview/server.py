"""Run the preview: the application served by uvicorn on the loopback address only, the bank's files watched
with watchfiles, every save re-read and announced to the open pages.

A save is seen within a few tens of milliseconds (``watcher``: watchfiles waits ``STEP`` ms for more changes of
the same save; a source folder replaced is watched again by its path), re-read in a worker thread so pages keep
being served meanwhile, and announced on the event stream; ``live.js`` in each open page then reloads it. Ctrl-C
(or SIGTERM) asks uvicorn to stop: the event streams end at once, the watcher with them, and the process ends
without waiting on an open page.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from .app import Served, make_app
from .bank import Reloaded
from .hosts import HostCheck, allowed_hosts
from .watcher import follow

HOST = "127.0.0.1"
#: The port tried first when none is given; any free port when it is taken.
DEFAULT_PORT = 8000
#: Seconds an open connection gets to finish once the server stops (event streams end at once).
GRACE = 1


def listening_socket(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1 (never another address): ``port``, or with 0 ``DEFAULT_PORT`` when it is
    free, else any free port."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: give a port from 1 to 65535 (or 0 for a free one)")
    for candidate in ([port] if port else [DEFAULT_PORT, 0]):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and not port:
                continue
            raise UsageError(f"--port {port}: cannot listen there ({exc.strerror or exc}); choose another port, "
                             "or leave --port out for a free one") from None
        sock.listen(64)
        return sock
    raise UsageError("no free port on 127.0.0.1; give one with --port")


async def run(served: Served, sock: socket.socket, report: Callable[[Reloaded], None],
              ready: Callable[[], None] = lambda: None, allow: tuple[str, ...] = (),
              refused: Callable[[str], None] = lambda line: None) -> None:
    """Serve until the server is asked to stop; each save's reload is given to ``report``. Requests naming a
    ``Host`` other than serve's own address or one of ``allow`` are refused, and ``refused`` told once per name."""
    import uvicorn

    address = sock.getsockname()  # no page for a rebound name
    app = HostCheck(make_app(served), allowed_hosts(address, allow), int(address[1]), refused)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=GRACE, access_log=False))

    async def follow_the_server() -> None:
        """Call ``ready`` once the server answers; end the event streams as soon as it is asked to stop (uvicorn
        would otherwise wait for them, and they never end by themselves)."""
        told = False
        while not server.should_exit:
            if server.started and not told:
                told = True
                ready()
            await asyncio.sleep(0.05)
        served.stopping.set()

    async def reload(changed: list[Path] | None) -> None:
        """Read the saved files again (None: every file, a source folder was replaced), in a worker thread; tell
        the open pages. A folder removed is seen twice (its files gone, then itself): its error is said once."""
        reloaded = await asyncio.to_thread(served.bank.reload, changed)
        if reloaded.changed:
            served.announce()
        if changed is not None or reloaded.changed:
            report(reloaded)

    tasks = [asyncio.create_task(follow_the_server()),
             asyncio.create_task(follow(served.bank.paths, served.stopping, reload))]
    try:
        await server.serve(sockets=[sock])
    finally:
        served.stopping.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
