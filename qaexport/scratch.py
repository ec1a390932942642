"""Temporary files and folders, named so that a later run can find the ones a crashed run left behind.

A run cleans up after itself, even on Ctrl-C or SIGTERM; only SIGKILL, a power cut or an out-of-memory kill can
leave something behind. So every temporary thing qaexport makes carries its owner in its name:
``qaexport-<pid>-<random>`` in the temporary folder, ``.qaexport-<pid>-<random>.<name>.tmp`` beside an output
(an output is written there and renamed into place). Each run :func:`sweep`\\ s the folders it is about to use:
what belongs to a process that is gone (or to a dead process whose number a newer one now has) is removed.
Anything else, another user's files or a running export's, is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "qaexport-"
_OWNED = re.compile(r"^\.?qaexport-(\d+)-")


def owned_prefix(hidden: bool = False) -> str:
    """The start of a temporary name of this process (``hidden``: with a leading dot, beside outputs)."""
    return f"{'.' if hidden else ''}{PREFIX}{os.getpid()}-"


def folder(kind: str = "", within: Path | None = None) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder of this process (in ``within``, else the temporary folder), removed when closed; what
    crashed runs left in the same place is swept first."""
    sweep_once(within if within is not None else Path(tempfile.gettempdir()))
    return tempfile.TemporaryDirectory(prefix=owned_prefix(within is not None) + (f"{kind}-" if kind else ""),
                                       dir=within)


def run_folder() -> tempfile.TemporaryDirectory[str]:
    """A folder of this run, made the temporary folder of the process (the CLI makes it that of every program the
    run starts too: TMPDIR): what libraries and their helpers write there (gcc's files while
    ``ctypes.util.find_library`` looks for Pango, fonts WeasyPrint copies) carries the run's name with it, so a
    killed run's are swept like ours. Removed when closed (and at exit): keep it."""
    run = folder("run")
    tempfile.tempdir = run.name
    return run


def beside(target: Path) -> tuple[str, str]:
    """(prefix, suffix) of a temporary name beside ``target``: hidden, owned, ending in ``.tmp``. What crashed runs
    left beside it is swept first."""
    sweep_once(target.parent)
    return owned_prefix(hidden=True), f".{target.name}.tmp"


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), where the system says (Linux's /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _zombie(pid: int) -> bool:
    """Whether process ``pid`` has ended and only waits to be reaped (Linux's /proc: state Z)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _gone(pid: int, made: float) -> bool:
    """Whether the process that made a temporary thing at ``made`` is gone: no process has its number, or the one
    that has it started after the thing was made (the number was used again)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, and another user's
        return False
    if _zombie(pid):  # killed, not yet reaped (an orphan waits for PID 1, which may be slow to reap it)
        return True
    started = _started(pid)
    return started is not None and started > made + 1


def sweep(*folders: Path) -> list[Path]:
    """Remove what crashed runs left in ``folders`` (their owners are gone); returns what was removed. Quiet and
    harmless: a folder that cannot be listed, or a thing that cannot be removed, is left as it is."""
    removed = []
    for place in folders:
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            match = _OWNED.match(entry.name)
            if not match:
                continue
            try:
                made = entry.stat(follow_symlinks=False).st_mtime
                if not _gone(int(match.group(1)), made):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


_swept: set[str] = set()


def sweep_once(place: Path) -> None:
    """:func:`sweep` ``place`` the first time this process uses it."""
    key = os.path.abspath(place)
    if key not in _swept:
        _swept.add(key)
        sweep(place)
