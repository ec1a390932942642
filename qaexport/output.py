"""The one place that writes output files: atomically, and with the build's own date (reproducible)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .errors import OutputError


def zip_date_time(time: float) -> tuple[int, int, int, int, int, int]:
    """Zip entry timestamp for the build time: zip cannot store dates before 1980."""
    dt = datetime.fromtimestamp(time, tz=UTC)
    if dt.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it over ``target`` only if the block succeeds.

    A failure (exception, Ctrl-C, disk full) leaves the previous file intact and no temp file.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write here ({exc.strerror or exc}); choose another --output") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"{target}: write failed ({exc.strerror or exc}); the previous file is unchanged") \
            from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_zip(target: Path, entries: list[tuple[str, bytes]], time: float,
              stored: frozenset[str] = frozenset(), level: int | None = None) -> None:
    """A zip with entries in the given order and the build time on every entry (reproducible).
    ``level``: deflate level (zlib's default 6 when None; 1 is ~2.5x faster for ~25 % more bytes)."""
    stamp = zip_date_time(time)
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=level)
