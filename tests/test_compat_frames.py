"""Work run with room on CPython's frame stack (``qaexport.compat_frames``): a computation that goes up and down across
a frame-stack chunk boundary no longer maps and unmaps a chunk at every crossing, in this process or in a forked
child (where every layout of a booklet part runs).

What is counted is the page faults of the process (``getrusage``): each chunk CPython maps is new memory, faulted in
when its first frame is written. Without room, a sweep of call depths across more than a chunk's worth of frames
crosses a boundary thousands of times (one fault or more each); with room, none of it."""

from __future__ import annotations

import resource
import sys

import pytest

from qaexport import compat_frames, forked

#: Calls made at each depth of the sweep: every one crosses a boundary that lies within its reach.
CALLS = 300
#: Depths swept: about 30 KiB of frames, more than one 16 KiB chunk, so that a sweep without room crosses a boundary.
DEPTHS = 260
#: Faults a sweep with room may take (a few pages of anything else); one without room takes over CALLS per boundary.
BOUND = CALLS // 2

chunked_cpython = pytest.mark.skipif(sys.implementation.name != "cpython"
                            or sys.version_info[:2] not in compat_frames.TESTED or not sys.platform.startswith("linux"),
                            reason="CPython's chunked frame stack (the versions read), counted on Linux")


def _down(n: int, a: int = 0, b: int = 0, c: int = 0) -> int:
    return _down(n - 1, a, b, c) if n else a + b + c


def _at(depth: int) -> None:
    if depth:
        _at(depth - 1)
        return
    for _ in range(CALLS):
        _down(4)


def _sweep(_report: object = None) -> int:
    """The page faults of a sweep: at each depth, calls that go a few frames deeper and back."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for depth in range(DEPTHS):
        _at(depth)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@chunked_cpython
def test_a_sweep_across_chunk_boundaries_faults_without_room_and_not_with_it():
    _sweep()  # whatever a first run maps once (the interpreter's own caches) is not counted
    bare = _sweep()
    roomy = compat_frames.with_room(_sweep)
    assert bare > 2 * CALLS, bare  # the premise: CPython maps a chunk at each crossing (else the module is moot)
    assert roomy < BOUND, (roomy, bare)


@chunked_cpython
@pytest.mark.skipif(not forked.can_fork(), reason="fork")
def test_a_forked_childs_work_runs_with_room():
    faults = forked.run_forked(_sweep, lambda _value: None, str)
    assert faults < BOUND, faults


def test_with_room_calls_the_function_as_it_is():
    assert compat_frames.with_room(divmod, 17, 5) == (3, 2)
    assert compat_frames.with_room(lambda *args: args) == ()
    with pytest.raises(ZeroDivisionError):
        compat_frames.with_room(divmod, 1, 0)


def test_outside_the_versions_read_the_function_is_simply_called(monkeypatch):
    compat_frames._roomy.cache_clear()
    monkeypatch.setattr(compat_frames, "TESTED", ())
    try:
        assert compat_frames._roomy() is None
        assert compat_frames.with_room(divmod, 17, 5) == (3, 2)
    finally:
        compat_frames._roomy.cache_clear()
