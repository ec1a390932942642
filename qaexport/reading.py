"""The one place that opens input files, bounded: only regular files are opened (a FIFO would block for ever, a device
never end), and a whole file is refused before reading when it is too large (a hostile file cannot exhaust
memory). Every reader goes through here, and so does anything else that reads a user's file (a previous
package, the config file)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import InputError


def not_regular(mode: int) -> str:
    """What a file that is not a regular file is, in a user's words ("" for a regular file)."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading if it is a regular file (checked on the open file, so nothing can swap it in
    between); :class:`InputError` otherwise. Opening never blocks: a FIFO is refused, not waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        kind = not_regular(os.fstat(fd).st_mode)
        if kind:
            raise InputError(path, f"{kind}, not a file qaexport can read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_limited(path: Path, limit: int, split_what: str) -> bytes:
    """The file's bytes; :class:`InputError` when it is over ``limit`` bytes, not a regular file, or unreadable."""
    with open_regular(path) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            data = b"" if size > limit else fh.read(limit + 1)  # a file growing meanwhile is caught too
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if size > limit or len(data) > limit:
        size = max(size, len(data))
        raise InputError(path, f"file is {size / 1e6:.1f} MB, over the {limit // 2**20} MiB limit; "
                               f"split the {split_what} into several files")
    return data
