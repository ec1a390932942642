"""Reading an input file whole, refused before reading when it is too large (a hostile file cannot
exhaust memory). Every reader that reads whole files goes through here."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def read_limited(path: Path, limit: int, split_what: str) -> bytes:
    """The file's bytes; :class:`InputError` when it is over ``limit`` bytes or cannot be read."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(path, f"file is {size / 1e6:.1f} MB, over the {limit // 2**20} MiB limit; "
                                   f"split the {split_what} into several files")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
