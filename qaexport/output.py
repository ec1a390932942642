"""The one place that writes output files: atomically, and with reproducible dates."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from .errors import OutputError


def build_time() -> float:
    """``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        try:
            return float(int(raw))
        except ValueError:
            raise OutputError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds; unset it or fix it") \
                from None
    return time.time()


def build_datetime() -> datetime:
    return datetime.fromtimestamp(build_time(), tz=UTC)


def zip_date_time() -> tuple[int, int, int, int, int, int]:
    """Zip entry timestamp: zip cannot store dates before 1980."""
    dt = build_datetime()
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


def write_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    with atomic_path(target) as tmp:
        write(tmp)
    return target


def write_zip(target: Path, entries: list[tuple[str, bytes]], stored: frozenset[str] = frozenset()) -> None:
    """A zip with entries in the given order and the build date on every entry (reproducible)."""
    stamp = zip_date_time()
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
