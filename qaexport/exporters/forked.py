"""Run a WeasyPrint job in a forked child process, with progress, and never leave it behind.

Layouts take hundreds of MiB that Python keeps after freeing; a child returns them to the system
when it ends. The work reaches the child by the fork (nothing is pickled on the way in), its
result comes back through a pipe. If this process is interrupted (Ctrl-C, SIGTERM, SIGHUP) or
fails while waiting, the child is killed: it must not go on writing a file the caller removes. The
children's temporary files live in a folder this process removes when they are done or killed.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from typing import Any, TypeVar

from ..errors import OutputError, QaexportError

T = TypeVar("T")
#: Seconds a stopped child has to clean up after SIGTERM before it is killed.
STOP_GRACE = 5.0
Report = Callable[[Any], None]


def run_forked(work: Callable[[Report], T], on_progress: Report, failure: Callable[[str], str]) -> T:
    """``work(report)`` in a child; each ``report(value)`` there calls ``on_progress(value)`` here.

    qaexport's own errors in the child are raised here as they are (message and exit code); any other failure
    becomes :class:`OutputError` with the message ``failure(cause)``; an interrupt of the child becomes
    :class:`KeyboardInterrupt` here.
    """
    return run_forked_all([work], on_progress, failure)[0]


def run_forked_all(works: Sequence[Callable[[Report], T]], on_progress: Report,
                   failure: Callable[[str], str]) -> list[T]:
    """Each ``work(report)`` in its own child, all at once (the book's parts on the machine's cores); results in
    the order of ``works``. Progress from every child reaches ``on_progress`` as it comes. The first failure or
    interrupt stops the children still running and is raised as :func:`run_forked` does: they get SIGTERM (the
    CLI turns it into an interrupt, so they remove their temporary files), then SIGKILL if they linger."""
    with tempfile.TemporaryDirectory(prefix="qaexport-") as scratch:
        return _run_all(works, on_progress, failure, scratch)


def _run_all(works: Sequence[Callable[[Report], T]], on_progress: Report, failure: Callable[[str], str],
             scratch: str) -> list[T]:
    ctx = multiprocessing.get_context("fork")
    children: list[tuple[Any, Any]] = []  # (process, receiving end)
    outcomes: dict[int, tuple[str, Any]] = {}
    try:
        for work in works:
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child_main, args=(work, child, scratch))  # not daemonic: may have children
            proc.start()
            child.close()
            children.append((proc, parent))
        waiting = {end: i for i, (_, end) in enumerate(children)}
        while waiting and all(kind == "done" for kind, _ in outcomes.values()):
            for end in wait(list(waiting)):
                try:
                    kind, value = end.recv()
                except EOFError:
                    kind, value = "error", "the child process ended without a result"
                if kind == "progress":
                    on_progress(value)
                else:
                    outcomes[waiting.pop(end)] = (kind, value)
    finally:
        for i, (proc, _) in enumerate(children):
            if proc.is_alive() and outcomes.get(i, ("",))[0] != "done":
                proc.terminate()  # interrupted, failed, or another child failed: it must not go on writing
        for proc, end in children:
            proc.join(STOP_GRACE)
            if proc.is_alive():
                proc.kill()
                proc.join()
            end.close()
    for kind, value in outcomes.values():
        if kind == "interrupted":
            raise KeyboardInterrupt
        if kind == "refused":
            code, message = value
            error = QaexportError(message)
            error.exit_code = code
            raise error
        if kind == "error":
            raise OutputError(failure(value))
    return [outcomes[i][1] for i in range(len(works))]


def _child_main(work: Callable[[Report], Any], end: Any, scratch: str) -> None:
    # Temporary files of the child (WeasyPrint copies @font-face fonts into a folder it removes only at a clean
    # exit) go to the parent's scratch folder, which the parent removes even when the child was killed.
    tempfile.tempdir = scratch
    try:
        try:
            outcome: tuple[str, Any] = ("done", work(lambda value: end.send(("progress", value))))
        except KeyboardInterrupt:
            outcome = ("interrupted", None)
        except QaexportError as exc:  # the user's mistake or the environment: raised again by the parent
            outcome = ("refused", (exc.exit_code, str(exc)))
        except Exception as exc:  # reported by the parent as one line
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        end.send(outcome)
    except (KeyboardInterrupt, OSError):
        pass  # stopped by the parent, or the parent is gone: nobody is left to tell
    finally:
        end.close()
