"""Deep work (WeasyPrint's layout) run with room on CPython's frame stack, so that no frame-stack boundary is crossed
thousands of times a second.

Why: CPython 3.11+ keeps its Python frames on a stack of *chunks* (``Python/pystate.c``: ``push_chunk``,
``_PyThreadState_PopFrame``): a chunk of 16 KiB is mapped (``mmap``) when a call does not fit in the current one and
unmapped (``munmap``) as soon as the call that opened it returns; nothing is kept for the next call. Where a
recursive computation goes up and down across such a boundary, every crossing maps, faults in and unmaps a chunk.
Where the boundary falls depends only on how deep the caller already is, so the same layout costs more or less
depending on the path it was called by: a part of the 560-question booklet laid out inside `qaexport all` (forked
from the PDF's own child, a few frames deeper than in `qaexport pdf`) made 122,600 ``mmap``/``munmap`` pairs of 16
KiB and 446,000 page faults, against 24,800 pairs and 130,000 faults for the very same part in `qaexport pdf`.

:func:`with_room` calls a function from a frame made big enough (``co_stacksize``, through the public
``CodeType.replace``) that CPython opens a chunk of :data:`CHUNK` bytes for it; the frames of the call then fill the
rest of that chunk (about half of it) before any boundary, deeper than WeasyPrint's layout goes. The function, its
arguments and its result are the same; only where its frames live changes. Where the chunked stack is not what is
described above (another interpreter, a CPython outside :data:`TESTED`), the function is simply called.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")

#: CPython versions (major, minor) whose frame stack works as described: 3.11 run and counted
#: (``tests/test_compat_frames.py``); ``push_chunk`` and ``_PyThreadState_PopFrame`` in ``Python/pystate.c`` read the
#: same from 3.11 to the main branch of 2026 (the chunk freed when its first frame returns, nothing kept).
TESTED = ((3, 11), (3, 12), (3, 13), (3, 14))
#: The chunk the roomy frame opens: CPython rounds a chunk up to a power of two above the frame plus 1,000 words.
CHUNK = 256 * 1024
#: Words of the roomy frame itself: just over half the chunk, so that CPython allocates ``CHUNK`` (not half of it)
#: and about half of it is left for the frames of the call.
FRAME_WORDS = CHUNK // 2 // 8


def _call(function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return function(*args)


@cache
def _roomy() -> Callable[[Callable[..., Any], tuple[Any, ...]], Any] | None:
    """:func:`_call` with a frame of :data:`FRAME_WORDS` words, or None where that would not do what it says."""
    if sys.implementation.name != "cpython" or sys.version_info[:2] not in TESTED:
        return None
    code = _call.__code__.replace(co_stacksize=FRAME_WORDS)
    return type(_call)(code, _call.__globals__, "_call_with_room")


def with_room(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)``, its frames in a frame-stack chunk of their own (see the module's docstring)."""
    roomy = _roomy()
    return roomy(function, args) if roomy is not None else function(*args)
