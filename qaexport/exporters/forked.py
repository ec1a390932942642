"""Run a WeasyPrint job in a forked child process, with progress, and never leave it behind.

Layouts take hundreds of MiB that Python keeps after freeing; a child returns them to the system
when it ends. The work reaches the child by the fork (nothing is pickled on the way in), its
result comes back through a pipe. If this process is interrupted (Ctrl-C, SIGTERM, SIGHUP) or
fails while waiting, the child is killed: it must not go on writing a file the caller removes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import OutputError

T = TypeVar("T")
Report = Callable[[Any], None]


def run_forked(work: Callable[[Report], T], on_progress: Report, failure: Callable[[str], str]) -> T:
    """``work(report)`` in a child; each ``report(value)`` there calls ``on_progress(value)`` here.

    A failure in the child becomes :class:`OutputError` with the message ``failure(cause)``; an interrupt of
    the child becomes :class:`KeyboardInterrupt` here.
    """
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def main() -> None:
        try:
            child.send(("done", work(lambda value: child.send(("progress", value)))))
        except KeyboardInterrupt:
            child.send(("interrupted", None))
        except Exception as exc:  # reported by the parent as one line
            child.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            child.close()

    proc = ctx.Process(target=main, daemon=True)
    proc.start()
    child.close()
    outcome: tuple[str, Any] = ("error", "the child process ended without a result")
    try:
        while True:
            try:
                kind, value = parent.recv()
            except EOFError:
                break
            if kind == "progress":
                on_progress(value)
                continue
            outcome = (kind, value)
            break
    except BaseException:
        proc.kill()
        raise
    finally:
        proc.join()
        parent.close()
    kind, value = outcome
    if kind == "interrupted":
        raise KeyboardInterrupt
    if kind == "error":
        raise OutputError(failure(value))
    return value
