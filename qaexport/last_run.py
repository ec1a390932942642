"""The stamps of the last ``pdf`` run whose build manifest said "nothing changed" or was written: the command's first
step (:mod:`qaexport.launch`) reads them to guess, before anything loads, whether this run will find nothing changed.

Why: ``qaexport pdf`` forks its layout process before the command line loads (``launch.start_ahead``), and a run with
nothing changed ended it unused: ~0.125 s of CPU on the other core for a run that writes nothing. The build manifest
(:mod:`qaexport.manifest`) cannot be read then: its key needs the parsed options, the exporters' and the versions.
So the run that reads or writes a manifest also keeps, in one small file beside the manifests, the command line it
ran (its arguments, the working folder, the interpreter and the environment variables qaexport reads) and the stamp
(size, modification time, inode) of every path its record names: the inputs, the folders listed and those of the
files listed, the outputs. The next run with the same command line whose stamps are all the same does not start the
layout process ahead.

It is only a guess, and either way the run is the same: the manifest decides, as before, whether anything is built
(the same messages); a guess that was wrong (a version changed, a file rewritten with its old stamp) only means the
layout process starts later, when the PDF starts it before reading the sources (``start_before_reading``), as a run
not started through ``qaexport.launch`` does. The file is at most :data:`MAX_BYTES`; anything wrong with it is a
wrong guess, never an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

#: The one file, in the cache folder (beside the manifests' folder).
NAME = "last-pdf-run.json"
#: A larger file is not read (the stamps of a big bank's inputs are a few hundred KiB).
MAX_BYTES = 4 * 2**20


def _stamps(paths: Iterable[str]) -> list[list[object]]:
    stamps: list[list[object]] = []
    for path in paths:
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            stamps.append([path])
            continue
        stamps.append([path, info.st_size, info.st_mtime_ns, info.st_ino])
    return stamps


def _paths(inputs: Iterable[str], listings: dict[str, list[str]], outputs: Iterable[str]) -> list[str]:
    """Every path whose change the record would see: inputs (found or not), the folders listed and each folder of a
    listed file (a file added or removed changes its folder's time), the outputs."""
    folders = {os.path.dirname(f) for files in listings.values() for f in files}
    return sorted({*inputs, *listings, *folders, *outputs})


def nothing_changed_likely(folder: Path, command: list[object]) -> bool:
    """Whether the last recorded run (kept in the cache ``folder``) had this ``command`` line
    (``launch.command_line``) and every path it named has the same stamp now."""
    from .hint_files import read_json

    kept = read_json(folder / NAME, MAX_BYTES)
    return (isinstance(kept, dict) and kept.get("command") == json.loads(json.dumps(command))
            and isinstance(kept.get("stamps"), list) and all(isinstance(s, list) and s and isinstance(s[0], str)
                                                             for s in kept["stamps"])
            and _stamps(s[0] for s in kept["stamps"]) == kept["stamps"])


def remember(folder: Path, command: list[object], inputs: Iterable[str], listings: dict[str, list[str]],
             outputs: Iterable[str]) -> None:
    """Keep this run's ``command`` line (``launch.command_line``), in the cache ``folder``, and the stamps of the
    paths its manifest record names (after the record was found up to date, or written). A folder that cannot be
    written only means no guess next time."""
    from .hint_files import write_json

    write_json(folder / NAME, {"command": command, "stamps": _stamps(_paths(inputs, listings, outputs))}, MAX_BYTES)
