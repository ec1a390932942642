"""Small JSON files in the cache folder that only guess: read whole and bounded, written whole, and anything wrong
with one (missing, too big, damaged, a FIFO or a folder in its place, a cache folder that cannot be written) means
no guess, never an error. ``last_run`` (whether a ``pdf`` run will find nothing changed), ``weasy.last_setup`` (the
stylesheet the next layout process parses while it waits) and ``render.patterns`` (the lexers' compiled patterns)
keep one each; each checks what it reads itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, max_bytes: int) -> Any:
    """The JSON value kept at ``path``, or None: none kept, over ``max_bytes``, not JSON, or not a regular file (never
    waits on a FIFO)."""
    from .errors import InputError
    from .reading import open_regular

    try:
        with open_regular(path) as fh:
            raw = fh.read(max_bytes + 1)
        return None if len(raw) > max_bytes else json.loads(raw)
    except (InputError, OSError, ValueError, RecursionError):
        return None


def write_json(path: Path, value: Any, max_bytes: int) -> None:
    """Keep ``value`` at ``path`` (through ``output.atomic_path``, so a reader sees the old file or the new one), unless
    it is over ``max_bytes`` or the file holds these very bytes already (an unchanged guess is not written again)."""
    from .errors import InputError, OutputError
    from .output import atomic_path
    from .reading import open_regular

    data = json.dumps(value, sort_keys=True).encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        return
    try:
        with open_regular(path) as fh:
            if fh.read(max_bytes + 1) == data:
                return
    except (InputError, OSError):
        pass
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except (OutputError, OSError):
        pass
