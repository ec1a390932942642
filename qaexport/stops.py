"""The stop of a run (Ctrl-C, SIGTERM, SIGHUP): one rule for the command, another for its children, and the one line
a stopped run prints.

Why a rule and not Python's own Ctrl-C: Python raises ``KeyboardInterrupt`` wherever the main thread is when a
signal is handled. Raised inside a finalizer (a ``__del__`` such as WeasyPrint's ``FontConfiguration.__del__``, a
weak reference's callback such as the import system's module-lock ``cb``, ``weakref.finalize``), it is printed as
"Exception ignored in: ..." with a traceback, and lost: the run goes on as if nothing had been asked. Raised in a
child after its work, inside multiprocessing's exit (``util._exit_function``), it is printed as "Process
ForkProcess-1:" and a traceback. Raised while Click builds the command, Typer turns it into a silent exit 130. And a
second signal interrupts the clean-up of the first.

The command (:func:`in_command`): the first stop signal raises ``KeyboardInterrupt`` once, in the code the main thread
runs, so that every ``finally`` and context manager on the way out runs (outputs left as they were, temporary files
removed); later stop signals are ignored, so that clean-up finishes. A signal that comes while a finalizer runs (or
code ``exec`` made from a string, which would turn the run's status 130 into death by SIGINT) waits until it has
returned (:func:`_must_wait`); one that lands in a finalizer this module does not know is not printed but raised
again once that finalizer has returned (:func:`_unraisable`): a stop is never printed as an error and never lost.
The run says :data:`MESSAGE` once (:func:`say`), whichever way the interrupt went.

A child (:func:`in_child`, every process :mod:`qaexport.forked` starts): SIGINT is not its to decide. A terminal's
Ctrl-C reaches the whole process group; the command decides the stop and ends its children with SIGTERM, which
interrupts a child's work once as in the command (its files removed, its outcome "interrupted"). Once its work has
ended the child holds every stop signal until it exits (:func:`hold_to_the_end`): nothing lands in multiprocessing's
exit, and a child never prints.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

TYPE_CHECKING = False  # typing itself not loaded either: this module loads before the command's rule is in place
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType
    from typing import Any

#: What a run stopped by Ctrl-C (or SIGTERM, SIGHUP) says, with exit status 130.
MESSAGE = "interrupted; every output file not finished was left as it was"

#: The stop signals there are here.
STOPS = frozenset(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

#: Methods Python calls from C that lose or disguise what leaves them: a ``__del__`` (printed as "Exception ignored"),
#: and a descriptor's ``__set_name__``, called as a class is made (``dataclasses.Field``'s, as modules load): CPython
#: 3.11 turns whatever leaves it into ``RuntimeError: Error calling __set_name__``, a traceback, not the stop.
_WRAPPED = frozenset({"__del__", "__set_name__"})

#: Finalizers known by their code's qualified name, besides every ``__del__``: weak references' callbacks (the import
#: system's module locks, weak dictionaries and sets) and ``weakref.finalize`` (``TemporaryDirectory``'s clean-up,
#: called when collected or at exit).
_FINALIZER_TAILS = ("<locals>.cb", "<locals>.remove", "<locals>._remove", "finalize.__call__", "finalize._exitfunc")


class _Rule:
    """The stop rule of one process (the fork copies it: each process installs its own). A plain class, not a
    dataclass: this module loads before the command's rule is in place, and ``dataclasses`` would add ~9 ms to that
    window (and to every run's start)."""

    def __init__(self, pid: int = 0, child: bool = False) -> None:
        self.pid = pid  #: the process the rule was installed in (0: none here)
        self.child = child  #: a child's rule (SIGINT not its own to decide)
        self.signum = 0  #: the stop signal that came first (0: none came)
        self.raised = False  #: the stop was raised, or the process is ending: later stop signals are ignored
        self.said = False  #: :data:`MESSAGE` (or the command's own word for it) was printed


_rule = _Rule()
#: The hook that printed unraisable exceptions before :func:`_install` (Python's, or a test runner's).
_previous_unraisable: list[Any] = []


def in_command() -> None:
    """The command's rule: a stop signal interrupts the run once (see the module's docstring). A stop signal the
    command was started with ignored stays ignored, as Python leaves SIGINT: a job a script starts in the background
    is deaf to the terminal's Ctrl-C, and one started under ``nohup`` to the terminal's hang-up."""
    _install(child=False)


def in_child() -> None:
    """A child's rule: SIGINT left to the command; SIGTERM and SIGHUP interrupt the work once (the command stops its
    children with SIGTERM, whatever it was started with)."""
    _install(child=True)


def _install(child: bool) -> None:
    global _rule
    _rule = _Rule(pid=os.getpid(), child=child)
    for sig in STOPS:
        if child or signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _stop)
    if sys.unraisablehook is not _unraisable:
        _previous_unraisable[:] = [sys.unraisablehook]
        sys.unraisablehook = _unraisable


def _ours() -> bool:
    return _rule.pid == os.getpid()


def _stop(signum: int, frame: FrameType | None) -> None:
    """The handler of every stop signal (see the module's docstring)."""
    if not _ours() or (_rule.child and signum == signal.SIGINT):
        return  # a process forked by a library and not through qaexport.forked: its parent decides too
    _rule.signum = _rule.signum or signum
    _raise_or_wait(frame)


def _raise_or_wait(frame: FrameType | None) -> None:
    """The stop raised as ``KeyboardInterrupt`` (once), unless it must wait (:func:`_must_wait`): then later."""
    if _rule.raised:
        return
    if _must_wait(frame) and _later():
        return
    _rule.raised = True
    raise KeyboardInterrupt


#: Seconds after which a stop that came while a finalizer ran is tried again (:func:`_later`).
LATER = 0.005


def _later() -> bool:
    """The stop tried again in :data:`LATER` seconds, by the interval timer (SIGALRM), once the finalizer (or the code
    made from a string) running now has most likely returned; False where there is no such timer (Windows) or it is in
    use. Not by raising the signal again at once: Python handles it at its next check, inside this very handler,
    without end."""
    if not hasattr(signal, "setitimer"):
        return False
    previous = signal.getsignal(signal.SIGALRM)
    if signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
        return previous is _again  # tried again already (a second signal meanwhile), or the timer is another's
    if previous is not _again:
        _previous_alarm[:] = [previous]
        signal.signal(signal.SIGALRM, _again)
    signal.setitimer(signal.ITIMER_REAL, LATER)
    return True


#: The SIGALRM handler before :func:`_later` set its own, given back when the timer has rung.
_previous_alarm: list[Any] = []


def _again(_signum: int, frame: FrameType | None) -> None:
    """The timer of :func:`_later`: the stop tried again where the main thread is now."""
    signal.signal(signal.SIGALRM, _previous_alarm.pop() if _previous_alarm else signal.SIG_DFL)
    if requested():
        _raise_or_wait(frame)


def _must_wait(frame: FrameType | None) -> bool:
    """Whether a stop raised in ``frame`` would be lost or misreported, so that it must wait: ``frame``, or a frame it
    was called from, is a finalizer's (a ``__del__``, a callback of :data:`_FINALIZER_TAILS`), a ``__set_name__``
    (:data:`_WRAPPED`), or runs code that
    ``exec`` or ``eval`` made from a string (``dataclasses`` and ``namedtuple`` make their methods so, as modules load):
    an interrupt leaving such code marks the interpreter to end by SIGINT at exit whatever status the run exits with
    (CPython 3.11's ``run_eval_code_obj`` sets ``_Py_UnhandledKeyboardInterrupt``): status -2, not 130."""
    while frame is not None:
        code = frame.f_code
        if code.co_name in _WRAPPED or code.co_qualname.endswith(_FINALIZER_TAILS) or code is _unraisable.__code__:
            return True
        if code.co_name == "<module>" and code.co_filename[:1] == "<" and frame.f_back is not None:
            return True  # a string run by exec/eval (the program's own -c code has no caller: not it)
        frame = frame.f_back
    return False


def _unraisable(unraisable: Any) -> None:
    """A stop that landed in a finalizer :func:`_must_wait` does not know, where Python would print it and go on:
    not printed, raised again once the finalizer has returned. Anything else is printed as Python prints it."""
    if requested() and _rule.raised and unraisable.exc_type is KeyboardInterrupt and _later():
        _rule.raised = False
        return
    (_previous_unraisable or [sys.__unraisablehook__])[0](unraisable)


def requested() -> bool:
    """Whether a stop signal came to this process since its rule was installed."""
    return _ours() and _rule.signum != 0


def stopped(exc: BaseException) -> bool:
    """Whether ``exc`` is this process's stop in another guise: a stop came, and the interrupt it raised is what
    ``exc`` was raised from or during (a library that turns whatever leaves its code into its own error, as CPython
    3.11 does with what leaves a ``__set_name__``). Then the run ends as a stopped run, never with a traceback."""
    if not requested():
        return False
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


def ending() -> None:
    """This process's command has returned: stop signals from now on are ignored, so that the clean-up at exit
    finishes. A stop that came before and waits for a finalizer to return (:func:`_later`) is raised now: the run was
    stopped before it ended."""
    waiting = requested() and not _rule.raised
    _rule.raised = True
    if waiting:
        raise KeyboardInterrupt


def say(message: str = MESSAGE) -> None:
    """Print ``message`` on stderr, once per stop: a run stopped by a signal says it once, whichever path the
    interrupt took. (An interrupt raised without a signal, as the tests raise it, is said each time.)"""
    if _ours() and _rule.said:
        return
    if requested():
        _rule.said = True
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def said() -> None:
    """The stop was said already, in the command's own words (``push``: what reached Anki stays)."""
    if requested():
        _rule.said = True


@contextlib.contextmanager
def held() -> Iterator[None]:
    """The stop signals held (blocked) while a child is started, and given back after: this process handles one that
    came meanwhile as soon as the child is started; the child starts with them held and lets them in once its rule is
    installed and its work under way (:func:`let_in`). Without this, a child stopped in its first milliseconds was
    interrupted inside multiprocessing's start-up, which prints "Process ForkProcess-1:" and a traceback."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def let_in() -> None:
    """The stop signals let in (a child's, held since before its fork: :func:`held`)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


def hold_to_the_end() -> None:
    """The stop signals held until this process exits (a child whose work is done): none lands in what runs at its
    exit (multiprocessing's ``util._exit_function``), where it would be printed with a traceback."""
    _rule.raised = True
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
