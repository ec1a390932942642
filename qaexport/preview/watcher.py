"""The bank's files watched for ``qaexport serve`` (watchfiles), by path: a source folder deleted and made again,
or moved away and replaced by another, is watched again where its path now leads.

A watch follows a folder, not its name: once ``bank/`` is removed (``rm -rf bank; mkdir bank``) or renamed
(``mv bank bank.old; mkdir bank``), the system's watch is gone or follows the old folder, and the new ``bank/`` is
never seen. So the folder holding each watched folder is watched too, for its entries only; when a watched
folder's path (or a folder on the way to it) is made, removed or renamed, both watches are made again from the
paths and every file is read again: a missing folder shows its one-line error on the pages, and the pages
recover when it comes back. The watches are in place before that read, so nothing written meanwhile is missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

#: Milliseconds watchfiles waits for another change before it reports a save (editors write in several steps).
STEP = 30
#: Milliseconds watchfiles gathers a burst of changes for at most before reporting them.
DEBOUNCE = 400
#: Seconds before watching again when a folder cannot be watched (unreadable, or gone meanwhile).
RETRY = 0.5


def watched(paths: list[Path]) -> list[Path]:
    """The folders to watch: a source folder itself, a source file's folder (editors replace files by renaming,
    which a watch on the file itself would lose); a source that is missing now, itself (it is watched from its
    parent until it comes back)."""
    return list(dict.fromkeys(p.resolve() if p.is_dir() or not p.exists() else p.resolve().parent
                              for p in paths))


def holders(folders: list[Path]) -> list[Path]:
    """The folders whose entries are watched: each watched folder's nearest existing parent."""
    found = []
    for folder in folders:
        holder = folder.parent
        while holder != holder.parent and not holder.is_dir():
            holder = holder.parent
        if holder != folder:
            found.append(holder)
    return list(dict.fromkeys(found))


def replaces(change: Path, folders: list[Path]) -> bool:
    """Whether a change among a holder's entries is a watched folder (or one on the way to it) made, removed or
    renamed."""
    return any(folder.is_relative_to(change) for folder in folders)


def concerns(change: Path, paths: list[Path]) -> bool:
    """Whether a changed path can be part of the bank: inside a source folder, or a source file itself."""
    change = change.resolve()
    return any(change == p or (p.is_dir() and change.is_relative_to(p)) for p in (q.resolve() for q in paths))


class Round:
    """The stop signal of one pair of watches: over when serve stops or a watched folder is replaced (watchfiles
    reads ``is_set`` from its thread, and calls ``set`` when its task is cancelled)."""

    def __init__(self, stopping: asyncio.Event) -> None:
        self.stopping = stopping
        self.over = False

    def is_set(self) -> bool:
        return self.over or self.stopping.is_set()

    def set(self) -> None:
        self.over = True


async def follow(paths: list[Path], stopping: asyncio.Event,
                 changed: Callable[[list[Path] | None], Awaitable[None]]) -> None:
    """Watch the bank under ``paths`` until ``stopping`` is set: ``changed`` gets the saved files' paths, or None
    after a watched folder was replaced (every file is to be read again)."""
    from watchfiles import awatch

    replaced = False
    while not stopping.is_set():
        folders = watched(paths)
        tops = holders(folders)
        this = Round(stopping)

        async def files(present: list[Path], this: Round = this) -> None:
            try:
                async for changes in awatch(*present, stop_event=this, step=STEP, debounce=DEBOUNCE,
                                            recursive=True):
                    saved = [Path(path) for _, path in changes if concerns(Path(path), paths)]
                    if saved:
                        await changed(saved)
            except OSError:  # gone or unreadable since it was listed: its holder's watch sees what comes next
                return

        async def entries(folders: list[Path] = folders, tops: list[Path] = tops, this: Round = this) -> None:
            try:
                async for changes in awatch(*tops, stop_event=this, step=STEP, debounce=DEBOUNCE, recursive=False,
                                            watch_filter=None):
                    if any(replaces(Path(path), folders) for _, path in changes):
                        break
            except OSError:  # a holder gone since it was listed (or unreadable): list them again shortly
                await asyncio.sleep(RETRY)
            this.set()

        present = [folder for folder in folders if folder.is_dir()]
        jobs = ([files(present)] if present else []) + ([entries()] if tops else [])
        tasks = [asyncio.create_task(job) for job in jobs]
        await asyncio.sleep(0)  # each task runs until its first wait: its watch is set up by then
        if replaced:
            await changed(None)
        replaced = True
        await asyncio.gather(*tasks) if tasks else await stopping.wait()
