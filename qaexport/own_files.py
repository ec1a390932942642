"""The files qaexport wrote: a folder source skips them, as it skips ``./dist`` and site folders (mkdocs skips its
``site_dir`` so).

Why: ``qaexport anki . -o out.apkg`` puts a deck beside the bank; read as a source on the next run, it defines every
question a second time (or, without the apkg extra, stops the run). A name alone cannot say a file is qaexport's
(``deck.apkg`` may be one the user got elsewhere), so each build keeps, in one small file in the cache folder, the
stamp (absolute path, size, modification time, inode) of every file it wrote, and a folder's walk skips a file whose
stamp is one of them. A file changed or replaced since (another tool wrote it, the user copied a deck over it) has
another stamp and is read again. The record is only a guess that can be lost (the cache emptied): then the file is
read, as before, and the duplicate questions are told as errors naming both files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

#: The one file, in the cache folder.
NAME = "written-files.json"
#: Files remembered: the most recently written; older ones are forgotten.
KEEP = 512
#: A larger record is not read.
MAX_BYTES = 256 * 1024

Stamp = tuple[str, int, int, int]


def _stamp(path: Path) -> Stamp | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (os.path.abspath(path), info.st_size, info.st_mtime_ns, info.st_ino)


def _kept(folder: Path) -> list[Stamp]:
    from .hint_files import read_json

    kept = read_json(folder / NAME, MAX_BYTES)
    if not isinstance(kept, list):
        return []
    return [tuple(s) for s in kept  # type: ignore[misc]
            if isinstance(s, list) and len(s) == 4 and isinstance(s[0], str)
            and all(isinstance(n, int) for n in s[1:])]


def remember(folder: Path, written: Iterable[Path]) -> None:
    """Keep the stamps of the files just ``written`` (in the cache ``folder``); a folder that cannot be written only
    means they are not skipped later."""
    from .hint_files import write_json

    stamps = [s for s in map(_stamp, written) if s is not None]
    if not stamps:
        return
    paths = {s[0] for s in stamps}
    kept = [s for s in _kept(folder) if s[0] not in paths] + stamps
    write_json(folder / NAME, [list(s) for s in kept[-KEEP:]], MAX_BYTES)


class Written:
    """The stamps kept, read once per walk."""

    def __init__(self, folder: Path) -> None:
        self.stamps = set(_kept(folder))

    def __contains__(self, path: Path) -> bool:
        if not self.stamps:
            return False
        return _stamp(path) in self.stamps
