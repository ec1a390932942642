"""The one place that opens input files, bounded: only regular files are opened (a FIFO would block for ever, a device
never end), and a whole file is refused before reading when it is too large (a hostile file cannot exhaust
memory). Every reader goes through here, and so does anything else that reads a user's file (a previous
package, the config file). It also tells a watching build manifest (``qaexport.manifest``) which files a build read,
with a digest of the very bytes read, and which it looked for and did not find."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import InputError
from .limits import mib


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


def size_at_most(paths: list[Path], limit: int, entries: int = 2_000) -> int | None:
    """The bytes of the regular files at or below ``paths``, without opening any, if they are at most ``limit``;
    None when they are more, or more than ``entries`` names had to be looked at, or a path cannot be looked at (a
    guess for deciding ahead of reading, never a reason to read: the readers decide what a source holds)."""
    total, seen, stack = 0, 0, list(paths)
    while stack:
        path = stack.pop()
        seen += 1
        try:
            mode = os.stat(path)
            if stat.S_ISDIR(mode.st_mode):
                with os.scandir(path) as listing:
                    stack.extend(Path(entry.path) for entry in listing)
            elif stat.S_ISREG(mode.st_mode):
                total += mode.st_size
        except OSError:
            return None
        if total > limit or seen > entries:
            return None
    return total


#: What the builds being watched read: a file's absolute path -> its size and SHA-256 (``digest``; "" where it was
#: looked for and not found; None where two reads of it in one build gave different bytes: edited meanwhile).
Reads = dict[str, "str | None"]
_watching: list[Reads] = []
#: What the watching builds listed: a folder's absolute path -> the files found below it, in order.
Listings = dict[str, list[str]]
_listing: list[Listings] = []


@contextlib.contextmanager
def watch() -> Iterator[tuple[Reads, Listings]]:
    """Collect every input file read (and looked for) while the block runs: what a build manifest must check."""
    reads: Reads = {}
    listings: Listings = {}
    _watching.append(reads)
    _listing.append(listings)
    try:
        yield reads, listings
    finally:
        _watching.remove(reads)
        _listing.remove(listings)


def digest(data: bytes) -> str:
    """What a build manifest keeps of an input file's bytes: ``SIZE:SHA256``, the size compared first."""
    return f"{len(data)}:{hashlib.sha256(data).hexdigest()}"


def noticed(path: Path, data: bytes | None) -> None:
    """Tell watching builds that ``path`` was read (``data``: its bytes) or looked for and not there (None)."""
    if not _watching:
        return
    name = os.path.abspath(path)
    value = digest(data) if data is not None else ""
    for reads in _watching:
        reads[name] = value if reads.get(name, value) == value else None


def noticed_file(path: Path) -> None:
    """Tell watching builds the bytes of a whole input file, read here (for readers that open their files
    another way: an Anki package). Read before the reader reads it, so an edit in between is a change."""
    if not _watching:
        return
    value = file_digest(path)
    if value is None:
        return  # the reader says what is wrong with it; the build fails and records nothing
    name = os.path.abspath(path)
    for reads in _watching:
        reads[name] = value if reads.get(name, value) == value else None


def file_digest(path: Path) -> str | None:
    """``digest`` of a whole regular file, read in pieces; None when it is not one or cannot be read."""
    hashed, size = hashlib.sha256(), 0
    try:
        with open_regular(path) as fh:
            while chunk := fh.read(1 << 20):
                hashed.update(chunk)
                size += len(chunk)
    except (InputError, OSError):
        return None
    return f"{size}:{hashed.hexdigest()}"


def listed(folder: Path, files: list[Path]) -> None:
    """Tell watching builds which files were found below ``folder`` (a file added or removed there changes a
    build)."""
    for listings in _listing:
        listings[os.path.abspath(folder)] = [os.path.abspath(f) for f in files]


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
        raise InputError(path, f"file is {mib(size)}, over the {mib(limit)} limit; "
                               f"split the {split_what} into several files")
    noticed(path, data)
    return data
