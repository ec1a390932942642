"""Memory of a whole process tree, read from Linux ``/proc``: the benchmark and the hostile corpus both report
the peak of everything a command started (forked layout parts, converters), not the largest process."""

from __future__ import annotations

import os


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant alive now (through each thread's ``children``; a process gone mid-walk is
    skipped)."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            for task in os.listdir(f"/proc/{pids[i]}/task"):
                with open(f"/proc/{pids[i]}/task/{task}/children") as fh:
                    pids += [int(c) for c in fh.read().split()]
        except OSError:
            pass
        i += 1
    return pids


def pss_kib(pid: int) -> int:
    """Proportional set size: pages shared after a fork count once across the tree (0 for a process gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(pid: int) -> int:
    """The summed PSS of ``pid``'s tree now."""
    return sum(pss_kib(p) for p in tree(pid))
