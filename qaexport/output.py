"""The one place that writes output files: atomically, and with the build's own date (reproducible)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from . import scratch
from .errors import InputError, OutputError


def zip_date_time(time: float) -> tuple[int, int, int, int, int, int]:
    """Zip entry timestamp for the build time: zip cannot store dates before 1980."""
    dt = datetime.fromtimestamp(time, tz=UTC)
    if dt.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


#: The builds watching what is written (``watch_writes``): a target's absolute path -> ``reading.digest`` of its bytes.
_watching: list[dict[str, str]] = []


@contextlib.contextmanager
def watch_writes() -> Iterator[dict[str, str]]:
    """Collect the size and SHA-256 of every file :func:`atomic_path` puts in place while the block runs, taken from
    the bytes this process wrote (a build manifest records them: not whatever a concurrent run put there after)."""
    written: dict[str, str] = {}
    _watching.append(written)
    try:
        yield written
    finally:
        _watching.remove(written)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it over ``target`` only if the block succeeds.

    A failure (exception, Ctrl-C, disk full) leaves the previous file intact and no temp file.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = scratch.beside(target)
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write here ({exc.strerror or exc}); choose another --output") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        if _watching:
            from .reading import file_digest

            digest = file_digest(tmp) or ""
            for written in _watching:
                written[os.path.abspath(target)] = digest
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"{target}: write failed ({exc.strerror or exc}); the previous file is unchanged") \
            from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class _NotTheSameError(Exception):
    """The file being copied is not the one expected (changed meanwhile): the copy is dropped."""


def copy_verified(source: Path, target: Path, expected: str) -> bool:
    """Copy ``source`` to ``target`` atomically if its bytes have ``expected`` (``reading.digest``: size and
    SHA-256), checked on the very bytes copied; False, and nothing written, when they do not (or it is gone)."""
    import hashlib

    from .reading import open_regular

    hashed, size = hashlib.sha256(), 0
    try:
        with atomic_path(target) as tmp, open_regular(source) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                hashed.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            if f"{size}:{hashed.hexdigest()}" != expected:
                raise _NotTheSameError
    except (_NotTheSameError, InputError):
        return False
    return True


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


def _check_inside(target: Path, files: dict[str, bytes]) -> None:
    for rel in files:
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts:
            raise OutputError(f"{target}: refusing to write outside the folder ({rel!r})")


def write_tree(target: Path, files: dict[str, bytes], overwrite: bool = False) -> list[Path]:
    """Write ``files`` (relative POSIX paths) under the folder ``target``; nothing else there is touched.

    A new ``target`` is filled in a temporary sibling folder renamed into place. Into an existing folder
    (empty, or with ``overwrite``) each file is written atomically, and a failure removes the files and
    folders this call created, so no half-written set is left either way. Returns the written paths.
    """
    target = Path(target)
    _check_inside(target, files)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: is a file, not a folder; choose a folder for --output")
    for rel in files:  # a link inside the folder would carry the writes outside it
        inside = target
        for part in Path(rel).parts[:-1]:
            inside = inside / part
            if inside.is_symlink():
                raise OutputError(f"{inside}: is a symbolic link; writing through it would put files outside "
                                  f"{target}. Remove the link or choose another folder")
    if target.is_dir():
        if any(target.iterdir()) and not overwrite:
            raise OutputError(f"{target}: folder is not empty")
        _write_into(target, files)
    else:
        _write_new(target, files)
    return [target / rel for rel in files]


def _write_into(target: Path, files: dict[str, bytes]) -> None:
    created: list[Path] = []
    new_folders = sorted({p for rel in files for p in (target / rel).parents if target in p.parents and not p.exists()},
                         key=lambda p: len(p.parts), reverse=True)
    try:
        for rel, data in files.items():
            path = target / rel
            if path.is_dir():
                raise OutputError(f"{path}: is a folder; move it away or choose another --output")
            existed = path.exists()
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            if not existed:
                created.append(path)
    except BaseException:
        for path in created:  # ours alone: they did not exist before this call
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in new_folders:  # deepest first; only if nothing else was put there meanwhile
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _temporary_folder(target: Path) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = scratch.beside(target)
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=target.parent))
    except OSError as exc:
        raise OutputError(f"{target}: cannot write here ({exc.strerror or exc}); choose another --output") from None


def _fill(work: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
    for folder in sorted({p for rel in files for p in (work / rel).parents if work in p.parents}):
        os.chmod(folder, 0o755)
    os.chmod(work, 0o755)


def _write_new(target: Path, files: dict[str, bytes]) -> None:
    work = _temporary_folder(target)
    try:
        _fill(work, files)
        os.replace(work, target)
    except OSError as exc:
        raise OutputError(f"{target}: write failed ({exc.strerror or exc}); nothing was written") from None
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)  # our own temporary folder


def replace_tree(target: Path, files: dict[str, bytes], marker: str) -> None:
    """Make the folder ``target`` hold exactly ``files`` (a generated site: pages of removed content must go).

    The new set is written in a temporary sibling folder, then swapped in with two renames; the old folder is
    deleted after. Only a folder that is missing, empty, or holds ``marker`` (a file every set written here
    has) is replaced, so ``-o ~/Documents`` never deletes anything of the user's. Temporary siblings of
    ``target`` a killed run left behind (they hold ``marker``) are removed first.
    """
    target = Path(target)
    _check_inside(target, {**files, marker: b""})
    if marker not in files:
        raise ValueError(f"the files must include the marker {marker!r}")
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: is a file, not a folder; choose a folder for --output")
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise OutputError(f"{target}: folder is not empty and was not written by qaexport; choose a new or empty "
                          "folder")
    if target.parent.is_dir():
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            if stale.is_dir() and ((stale / marker).is_file() or (stale / target.name / marker).is_file()):
                shutil.rmtree(stale, ignore_errors=True)
    work = _temporary_folder(target)
    old: Path | None = None
    try:
        _fill(work, files)
        if target.is_dir():
            old = _temporary_folder(target)
            os.replace(target, old / target.name)
        for written in _watching:
            written[os.path.abspath(target)] = tree_digest(files, marker)
        os.replace(work, target)
    except OSError as exc:
        if old is not None and not target.exists() and (old / target.name).is_dir():
            os.replace(old / target.name, target)  # put the previous set back
        raise OutputError(f"{target}: write failed ({exc.strerror or exc}); the previous folder is unchanged") \
            from None
    finally:
        for folder in (work, old):
            if folder is not None and folder.exists():
                shutil.rmtree(folder, ignore_errors=True)  # our own temporary folders


#: A folder output's digest (``tree_digest``) starts with this; a file's is ``reading.digest``'s ``SIZE:SHA256``.
TREE = "tree:"


def tree_digest(files: dict[str, bytes], marker: str) -> str:
    """What a build manifest keeps of a folder :func:`replace_tree` wrote: every file's path, size and SHA-256 (and
    so the folders that hold them) in one digest, and the folder's marker (a copy is written with it)."""
    import hashlib

    return _tree_digest(((rel, len(files[rel]), hashlib.sha256(files[rel]).hexdigest()) for rel in sorted(files)),
                        len(files), marker)


def _tree_digest(entries: Iterator[tuple[str, int, str]], count: int, marker: str) -> str:
    import hashlib

    whole = hashlib.sha256()
    for rel, size, sha in entries:
        whole.update(f"{rel}\0{size}\0{sha}\n".encode("utf-8", "surrogateescape"))
    return f"{TREE}{count}:{whole.hexdigest()}:{marker}"


def tree_marker(digest: str) -> str:
    """The marker a :func:`tree_digest` names ("" if it is not one)."""
    return digest.split(":", 3)[3] if digest.startswith(TREE) and digest.count(":") >= 3 else ""


def _tree_files(folder: Path) -> list[str] | None:
    """The relative POSIX paths of the files below ``folder``, in order; None when it holds anything a set written
    by :func:`replace_tree` could not have (a link, an empty folder), or is not a folder."""
    if os.path.islink(folder) or not os.path.isdir(folder):
        return None
    found = []
    try:
        for here, dirs, names in os.walk(folder, onerror=_raise):
            if not dirs and not names and here != str(folder):
                return None  # replace_tree makes a folder only to hold a file
            if any(os.path.islink(os.path.join(here, name)) for name in dirs + names):
                return None
            found += [Path(os.path.relpath(os.path.join(here, name), folder)).as_posix() for name in names]
    except OSError:
        return None
    return sorted(found)


def _raise(exc: OSError) -> None:
    raise exc


def folder_digest(folder: Path, marker: str) -> str | None:
    """The :func:`tree_digest` of the files below ``folder``, read one at a time; None when it is not such a set or
    cannot be read."""
    from .reading import file_digest

    files = _tree_files(folder)
    if files is None:
        return None
    entries = []
    for rel in files:
        digest = file_digest(folder / rel)  # a regular file's, read in pieces; None for a device, a pipe
        if digest is None:
            return None
        size, sha = digest.split(":", 1)
        entries.append((rel, int(size), sha))
    return _tree_digest(iter(entries), len(files), marker)


def read_tree(folder: Path) -> dict[str, bytes] | None:
    """Every file below ``folder`` by its relative POSIX path, as :func:`replace_tree` would have been given them
    (None as for :func:`folder_digest`). Read whole: a build holds its folder's files in memory too."""
    from .reading import open_regular

    files = _tree_files(folder)
    if files is None:
        return None
    out: dict[str, bytes] = {}
    try:
        for rel in files:
            with open_regular(folder / rel) as fh:
                out[rel] = fh.read()
    except (InputError, OSError):
        return None
    return out


def copy_tree_verified(source: Path, target: Path, expected: str) -> bool:
    """Make ``target`` the copy of the folder ``source`` (through :func:`replace_tree`, as a build writes it) if its
    files have the ``expected`` :func:`tree_digest`, checked on the very bytes copied; False, and nothing written,
    when they do not (or it is gone)."""
    marker = tree_marker(expected)
    files = read_tree(source)
    if files is None or marker not in files or tree_digest(files, marker) != expected:
        return False
    replace_tree(target, files, marker)
    return True
