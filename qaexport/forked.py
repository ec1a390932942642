"""Run work (WeasyPrint layouts, `all`'s exporters) in child processes, with progress, never leaving one behind.

Layouts take hundreds of MiB that Python keeps after freeing; a child returns them to the system
when it ends. Where the system can fork (Linux, macOS), the work reaches the child by the fork (nothing is
pickled on the way in); where it cannot (Windows), the child is spawned and the work is pickled to it, so
every work given here is picklable (a module-level function, or a ``functools.partial`` of one, with picklable
arguments) — the few that are not (a laid-out document) are run only when :func:`can_fork`. The result comes
back through a pipe. If this process is interrupted (Ctrl-C, SIGTERM, SIGHUP) or fails while waiting, the child
is killed: it must not go on writing a file the caller removes. The children's temporary files live in a folder
this process removes when they are done or killed.
"""

from __future__ import annotations

import errno
import gc
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, TypeVar

from . import scratch, stops
from .compat_frames import with_room
from .errors import OutputError, QaexportError

T = TypeVar("T")
#: Seconds a stopped child has to clean up after SIGTERM before it is killed.
STOP_GRACE = 5.0
Report = Callable[[Any], None]


#: The system errors of a file that could not be written: the disk, not the work, failed.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


def failure_of(label: str, doing: str) -> Callable[[str], str]:
    """The one line for a child's failure while ``doing`` (``"PDF layout"``) for ``label``: a full disk, quota or
    read-only file system is said as every format says it, "write failed (No space left on device)" (trial10 #17:
    "PDF layout failed (OSError: [Errno 28] …)" blamed the layout); anything else as ``doing`` failed."""
    def say(cause: str) -> str:  # the child's cause is f"{type}: {exc}": "OSError: [Errno 28] No space left…"
        kind, _, rest = cause.partition(": [Errno ")
        number, _, reason = rest.partition("] ")
        if kind.endswith("Error") and number.isdigit() and int(number) in _WRITE_ERRNOS and reason:
            return f"{label}: write failed ({reason}); nothing was written"
        return f"{label}: {doing} failed ({cause}); nothing was written"
    return say


def cores() -> int:
    """The cores this process may run on: its affinity mask where the system has one (a container's CPU set,
    ``taskset``), else every core; at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether children can be forked here (not on Windows): then work reaches them without pickling."""
    return "fork" in multiprocessing.get_all_start_methods()


def process_context() -> Any:
    """The multiprocessing context children are made with: fork where it exists, else spawn."""
    return multiprocessing.get_context("fork" if can_fork() else "spawn")


def run_forked(work: Callable[[Report], T], on_progress: Report, failure: Callable[[str], str]) -> T:
    """``work(report)`` in a child; each ``report(value)`` there calls ``on_progress(value)`` here.

    qaexport's own errors in the child are raised here as they are (message and exit code); any other failure
    becomes :class:`OutputError` with the message ``failure(cause)``; an interrupt of the child becomes
    :class:`KeyboardInterrupt` here.
    """
    return run_forked_all([work], on_progress, failure)[0]


@dataclass(frozen=True)
class ChildFailure:
    """What an isolated child ended with instead of a result: its error (a qaexport error's message and exit code,
    or any other failure worded by ``failure``), or its death without a word."""

    message: str
    exit_code: int = 1


def run_forked_all(works: Sequence[Callable[[Report], T]], on_progress: Report,
                   failure: Callable[[str], str], at_once: int | None = None,
                   isolated: bool = False) -> list[T | ChildFailure]:
    """Each ``work(report)`` in its own child, ``at_once`` at a time (all at once by default), the next started
    as one ends; results in the order of ``works``. Progress from every child reaches ``on_progress`` as it
    comes. The first failure or interrupt stops the children still running and is raised as :func:`run_forked`
    does; with ``isolated``, a child's failure (whatever it raised, or its death) is its result, a
    :class:`ChildFailure`, and the others go on (an interrupt still stops them all)."""
    queue = list(works)
    with Children(lambda _i, value: on_progress(value), failure, isolated) as group:
        for work in queue[:max(1, at_once or len(queue))]:
            group.start(work)
        for _ in group.finished():
            if len(group) < len(queue):
                group.start(queue[len(group)])
        return group.results()


class Children:
    """Forked children running at once, more started as results come in; used as a context manager.

    ``on_progress(index, value)`` gets each child's ``report(value)``. The first failure or interrupt stops the
    children still running: they get SIGTERM (the CLI turns it into an interrupt, so they remove their temporary
    files), then SIGKILL if they linger; the failure is raised as :func:`run_forked` does. The children's
    temporary files go to a scratch folder removed when the group ends.
    """

    def __init__(self, on_progress: Callable[[int, Any], None], failure: Callable[[str], str],
                 isolated: bool = False) -> None:
        self.on_progress = on_progress
        self.failure = failure
        self.isolated = isolated
        self._ctx = process_context()
        self._procs: list[Any] = []
        self._waiting: dict[Any, int] = {}  # receiving end -> index
        self._outcomes: dict[int, tuple[str, Any]] = {}
        self._scratch = scratch.folder()

    def __enter__(self) -> Children:
        return self

    def __len__(self) -> int:
        """Children started so far."""
        return len(self._procs)

    def start(self, work: Callable[[Report], Any]) -> int:
        """Start a child running ``work(report)`` (forked, or spawned with ``work`` pickled); returns its index."""
        parent, child = self._ctx.Pipe(duplex=False)
        spawned = self._ctx.get_start_method() != "fork"
        proc = self._ctx.Process(target=_child_main, args=(work, child, self._scratch.name, spawned))  # not daemonic
        try:
            _start_without_the_parents_garbage(proc)
        finally:
            # A stop held while the child was forked is let in as the start ends (stops.held): the child runs all
            # the same, so it is the group's to end (__exit__) even then. Untracked, it finished its work, blocked
            # sending a result no one read, and the command's exit waited for it forever.
            child.close()
            if proc.pid is None:
                parent.close()
            else:
                self._procs.append(proc)
                self._waiting[parent] = len(self._procs) - 1
        return len(self._procs) - 1

    def finished(self) -> Iterator[tuple[int, Any]]:
        """(index, result) of each child as it ends, until none is running (including children started meanwhile,
        by the progress handler or the caller)."""
        while self._waiting:
            for end in wait(list(self._waiting)):
                try:
                    kind, value = end.recv()
                except EOFError:
                    kind, value = "error", "the child process ended without a result"
                index = self._waiting[end]
                if kind == "progress":
                    self.on_progress(index, value)
                    continue
                del self._waiting[end]
                end.close()
                self._outcomes[index] = (kind, value)
                self._raise(kind, value)
                yield index, value

    def end(self, index: int, within: float) -> None:
        """Wait for child ``index``, whose result has come, to exit (its memory is the system's again then), at most
        ``within`` seconds; one still alive after that is killed: it has sent its result and is stuck at its exit
        (a finalizer waiting for something), and must not hang the run. A caller that starts the next child after
        this never has a finished one and the next one alive at once (docs/benchmarks.md, "PDF 560: the parts'
        ends")."""
        proc = self._procs[index]
        proc.join(within)
        if proc.is_alive():
            proc.kill()
            proc.join()

    def results(self) -> list[Any]:
        """Every child's result, in the order they were started (an isolated child's failure as a
        :class:`ChildFailure`)."""
        for _ in self.finished():
            pass
        return [self._result(*self._outcomes[i]) for i in range(len(self._procs))]

    def _result(self, kind: str, value: Any) -> Any:
        if kind == "refused":
            return ChildFailure(value[1], value[0])
        if kind == "error":
            return ChildFailure(self.failure(value))
        return value

    def _raise(self, kind: str, value: Any) -> None:
        if kind == "interrupted":
            raise KeyboardInterrupt
        if self.isolated:
            return
        if kind == "refused":
            code, message = value
            raise QaexportError.carried(message, code)
        if kind == "error":
            raise OutputError(self.failure(value))

    def __exit__(self, *_exc: object) -> None:
        try:
            for i, proc in enumerate(self._procs):
                if proc.is_alive() and self._outcomes.get(i, ("",))[0] != "done":
                    proc.terminate()  # interrupted, failed, or another child failed: it must not go on writing
            for proc in self._procs:
                proc.join(STOP_GRACE)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
            for end in self._waiting:
                end.close()
        finally:
            self._scratch.cleanup()


def _start_without_the_parents_garbage(proc: Any) -> None:
    """Fork ``proc`` with every object of this process frozen, so the child's garbage collector never finalizes
    one of them.

    Garbage this process has not collected yet is copied into the child, and collecting it there runs its
    finalizers in a process that has none of this one's threads: a finalizer that waits for its threads waits
    forever. Anki's backend after a sync (its runtime's threads joined when it is dropped) hung a child this way,
    and with it the run. Objects frozen before the fork are never visited by the child's collector; this process
    collects its own garbage as before once the child is started (unless a caller froze them on purpose first).
    A spawned child starts from a fresh interpreter and has none of this process's objects; freezing around its
    start costs nothing and keeps one path for both start methods.
    """
    frozen_by_caller = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        with stops.held():  # the child lets them in under its own rule (_child_main)
            proc.start()
    finally:
        if not frozen_by_caller:
            gc.unfreeze()


#: How to end each child started ahead of its work and not used yet (:func:`started_ahead`).
_ahead: list[Callable[[], None]] = []


def started_ahead(stop: Callable[[], None]) -> None:
    """Record how to end a child started ahead of the work it waits for (the PDF's layout process, started while the
    texts render: ``weasy.warm``): :func:`end_started_ahead` calls ``stop`` at the end of the command (a run that
    failed before the work, or did without it); ``stop`` does nothing for a child already used."""
    _ahead.append(stop)


def end_started_ahead() -> None:
    """End every child started ahead and not used (the CLI calls this when a command ends, however it ends)."""
    while _ahead:
        _ahead.pop()()


def _child_main(work: Callable[[Report], Any], end: Any, scratch_dir: str, spawned: bool = False) -> None:
    """A child's life: its stop rule (``stops.in_child``: SIGINT is the command's to decide, SIGTERM from the command
    interrupts the work once), the work, its outcome sent, then the stop signals held until it exits, so that nothing
    it does at exit is interrupted and it never prints (``spawned``: a child spawned, not forked; the same)."""
    stops.in_child()
    # Temporary files of the child (WeasyPrint copies @font-face fonts into a folder it removes only at a clean
    # exit) go to the parent's scratch folder, which the parent removes even when the child was killed.
    tempfile.tempdir = scratch_dir
    try:
        try:
            stops.let_in()  # held since before the fork (stops.held): a stop now interrupts the work
            outcome: tuple[str, Any] = ("done", with_room(work, lambda value: end.send(("progress", value))))
        except KeyboardInterrupt:
            outcome = ("interrupted", None)
        except QaexportError as exc:  # the user's mistake or the environment: raised again by the parent
            outcome = ("refused", (exc.exit_code, str(exc)))
        except Exception as exc:  # reported by the parent as one line
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        try:
            end.send(outcome)
        finally:
            stops.hold_to_the_end()  # a stop that comes as this is called is taken just below
    except (KeyboardInterrupt, OSError):
        pass  # stopped by the parent, or the parent is gone: nobody is left to tell
    finally:
        end.close()
