"""The one place that writes output files: atomically, and with the build's own date (reproducible)."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import glob
import os
import shutil
import stat
import struct
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from . import scratch
from .errors import InputError, OutputError, OutputPlaceError


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
        raise cannot_write(target, exc) from None
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


def file_in_the_way(target: Path) -> Path | None:
    """The file that stands where a folder holding ``target`` must be (``README.md`` for ``README.md/x.pdf``: nothing
    can be made inside a file); None when there is none. Read from the top down: the first place that exists and is
    not a folder (a link is followed), until one does not exist (the write makes the folders from there)."""
    for place in reversed(Path(target).parents):
        try:
            if not stat.S_ISDIR(os.stat(place).st_mode):
                return place
        except OSError:  # not there (made by the write), or not readable: no file in the way
            return None
    return None


def not_a_folder(blocking: Path, other: str = "--output") -> str:
    """What to say of :func:`file_in_the_way`'s file, and how to fix it (``other``: what names the place)."""
    return f"{blocking} is a file, not a folder; choose another {other}, or move {blocking} away"


def cannot_write(target: Path, exc: OSError) -> OutputError:
    """The one line for a ``target`` whose folder cannot be made or written in: the file in its way, if that is why
    (the system says only "File exists" or "Not a directory"), else the folder and what the system said. The line
    names the folder, not the file: it is the folder that is wrong, and every output bound for it says the same line,
    which `qaexport all` then tells once for all the formats it stopped (``cli.export._export_at_once``)."""
    blocking = file_in_the_way(target)
    if blocking is not None:
        return OutputPlaceError(f"{target}: {not_a_folder(blocking)}")
    reason = exc.strerror or exc
    missing = next((place for place in reversed(Path(target).parents) if not os.path.lexists(place)), None)
    if missing is not None:  # the first folder of the path that is not there and could not be made
        return OutputError(f"{missing}: cannot make this folder ({reason}); choose another --output",
                           cause=f"{missing}: cannot make")
    folder = Path(target).parent
    if exc.errno == errno.ENOENT and folder.is_dir():  # /proc, /sys...: "no such file" of a folder that is there
        reason = f"it exists, but the system makes no files in it: {reason}"
    return OutputError(f"{folder}: cannot write in this folder ({reason}); choose another --output",
                       cause=f"{folder}: cannot write")


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
    ``level``: deflate level (zlib's default 6 when None; 1 is ~2.5x faster for ~25 % more bytes).

    The bytes are those :mod:`zipfile` writes for the same entries (:func:`_with_zipfile`, which writes the zips this
    writer does not: ZIP64, names zipfile would change, repeated names); what differs is that a big zip's entries
    are deflated on two threads (zlib lets go of the interpreter's lock while it deflates): deflating an EPUB of 560
    questions was ~26 ms of its export, in series at the end of the run with the other core idle."""
    stamp = zip_date_time(time)
    names = [name for name, _ in entries]
    if (len(entries) >= _MAX_PLAIN_ENTRIES or len(set(names)) != len(names)
            or any("\0" in name or (os.sep != "/" and os.sep in name) for name in names)
            or sum(len(data) for _, data in entries) >= _MAX_PLAIN_BYTES):
        _with_zipfile(target, entries, stamp, stored, level)
        return
    deflated = _deflated([data for name, data in entries if name not in stored], level)
    dostime = stamp[3] << 11 | stamp[4] << 5 | stamp[5] // 2
    dosdate = (stamp[0] - 1980) << 9 | stamp[1] << 5 | stamp[2]
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data in entries:
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_NAME
        body, method = (data, zipfile.ZIP_STORED) if name in stored else (next(deflated), zipfile.ZIP_DEFLATED)
        fields = (_VERSION, flags, method, dostime, dosdate, zlib.crc32(data), len(body), len(data), len(encoded))
        central.append(_CENTRAL.pack(b"PK\x01\x02", _VERSION, _CREATED_ON, *fields, 0, 0, 0, 0, _FILE_MODE, offset)
                       + encoded)
        header = _LOCAL.pack(b"PK\x03\x04", *fields, 0) + encoded
        out += [header, body]
        offset += len(header) + len(body)
    directory = b"".join(central)
    out += [directory, _END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), offset, 0)]
    with open(target, "wb") as fh:
        fh.write(b"".join(out))


#: Beyond these a zip needs ZIP64 records (zipfile's own limits, with room): :func:`_with_zipfile` writes it.
_MAX_PLAIN_ENTRIES = 0xFFFF
_MAX_PLAIN_BYTES = 2**31 - 2**27
#: What zipfile writes in the fields it fills for a plain entry: "version 2.0", made on Unix (3; 0 on Windows),
#: the names' UTF-8 flag, the file mode ``write_zip`` gives every entry.
_VERSION = 20
_CREATED_ON = 0 if sys.platform == "win32" else 3
_UTF8_NAME = 0x800
_FILE_MODE = 0o644 << 16
_LOCAL = struct.Struct("<4sHHHHHLLLHH")  # the signature, version, flags, method, time, date, CRC, sizes, name, extra
_CENTRAL = struct.Struct("<4sBBHHHHHLLLHHHHHLL")
_END = struct.Struct("<4sHHHHLLH")
#: Deflated bytes from which a zip's entries are deflated on two threads.
PARALLEL_DEFLATE_BYTES = 256 * 1024


def _deflate(data: bytes, level: int | None) -> bytes:
    """``data`` deflated as zipfile deflates an entry written whole (a raw stream, zlib's default level if None)."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION if level is None else level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _deflated(datas: list[bytes], level: int | None) -> Iterator[bytes]:
    """Each of ``datas`` deflated, in order; a big set on two threads, each its run of entries of about half the
    bytes (zlib releases the interpreter's lock inside each call)."""
    total = sum(len(d) for d in datas)
    if total < PARALLEL_DEFLATE_BYTES or len(datas) < 2:
        return (_deflate(d, level) for d in datas)
    half, count = 0, 0
    while half < len(datas) - 1 and count * 2 < total:
        count += len(datas[half])
        half += 1
    theirs: list[bytes] = []
    failed: list[BaseException] = []

    def deflate_second_half() -> None:
        try:
            theirs.extend(_deflate(d, level) for d in datas[half:])
        except BaseException as exc:  # re-raised in the calling thread
            failed.append(exc)

    import threading

    thread = threading.Thread(target=deflate_second_half, name="qaexport-deflate")
    thread.start()
    try:
        mine = [_deflate(d, level) for d in datas[:half]]
    finally:
        thread.join()
    if failed:
        raise failed[0]
    return iter(mine + theirs)


def _with_zipfile(target: Path, entries: list[tuple[str, bytes]], stamp: tuple[int, int, int, int, int, int],
                  stored: frozenset[str], level: int | None) -> None:
    """The zip written by :mod:`zipfile` itself (ZIP64 records, repeated names, names it rewrites)."""
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = _FILE_MODE
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
        raise OutputPlaceError(f"{target}: is a file, not a folder; choose a folder for --output")
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


#: A folder output the system does not let this user write (a read-only folder: moving it aside needs write
#: permission in it) is told as every file output tells it, "cannot write in this folder (Permission denied);
#: choose another --output", not as a failed write (trial10 #20). :func:`cannot_write` names the folder of the
#: path it is given: a file inside the output folder names the folder itself.
_NOT_ALLOWED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_ANY_FILE = "index.html"


def _temporary_folder(target: Path) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = scratch.beside(target)
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=target.parent))
    except OSError as exc:
        raise cannot_write(target, exc) from None


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
        if _watching:  # as atomic_path tells each file it puts in place (a build's "wrote" line counts them)
            from .reading import digest

            for written in _watching:
                written.update((os.path.abspath(target / rel), digest(data)) for rel, data in files.items())
    except OSError as exc:
        if exc.errno in _NOT_ALLOWED:
            raise cannot_write(target / _ANY_FILE, exc) from None
        raise OutputError(f"{target}: write failed ({exc.strerror or exc}); nothing was written") from None
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)  # our own temporary folder


#: In a marker file, the line after which :func:`replace_tree` lists the files it wrote, one per line: a later build
#: replaces those and keeps every other file (a ``CNAME``, a ``.nojekyll`` the user put there).
LISTING = b"\nFiles qaexport wrote (the next build replaces them and keeps every other file here):\n"
#: A marker larger than this is not read for its list (a site of 100,000 pages lists ~5 MiB).
MAX_MARKER = 32 * 2**20


def _with_listing(files: dict[str, bytes], marker: str) -> dict[str, bytes]:
    """``files`` with the marker listing the others (replacing any list it had: a copy of a written folder)."""
    head = files[marker].split(LISTING, 1)[0]
    listed = "".join(f"{rel}\n" for rel in sorted(files) if rel != marker).encode("utf-8", "surrogateescape")
    return {**files, marker: head + LISTING + listed}


def _listed(folder: Path, marker: str) -> set[str] | None:
    """The files the marker in ``folder`` lists (qaexport's), or None: no marker, one written before markers listed
    files (then every file is taken as qaexport's), or one that cannot be read."""
    from .reading import open_regular

    try:
        with open_regular(folder / marker) as fh:
            data = fh.read(MAX_MARKER + 1)
    except (InputError, OSError):
        return None
    if len(data) > MAX_MARKER or LISTING not in data:
        return None
    return set(data.split(LISTING, 1)[1].decode("utf-8", "surrogateescape").splitlines())


@dataclasses.dataclass(frozen=True)
class _Kept:
    """What the user put in a marked folder (:func:`_users_things`), kept by :func:`replace_tree`. ``entries``:
    files, links (to anything, or to nothing: never followed) and any other non-folder, taken as they are;
    ``folders``: every folder that holds one of them or is empty (a git checkout's ``.git/refs/tags``), parents
    first. A folder that held only files of earlier builds (a removed topic's) is not among them: it goes."""

    entries: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()


def _users_things(target: Path, marker: str, files: dict[str, bytes], writes_folders: set[str]) -> _Kept:
    """Everything in the marked folder ``target`` that no build wrote (its marker does not list it) and the new set
    does not write (trial11 #2: links and folders were deleted, only regular files kept). A folder that cannot be
    read, or a thing of the user's where the new set needs the other kind (a file where it writes a folder, a folder
    where it writes a file), stops the build before anything is replaced: it would be lost. ``writes_folders``: the
    folders the new set writes (:func:`_folders_of`)."""
    listed = _listed(target, marker)
    if listed is None:  # no marker list (a site written before markers listed files): the whole folder is qaexport's
        return _Kept()
    entries: list[str] = []
    folders: set[str] = set()

    def unreadable(exc: OSError) -> None:
        raise OutputError(f"{exc.filename}: a folder in the site folder that cannot be read ({exc.strerror or exc}), "
                          "so a new build would lose what it holds; make it readable or move it away") from None

    for here, dirs, names in os.walk(target, onerror=unreadable):  # a link to a folder is in dirs: not entered
        base = Path(os.path.relpath(here, target)).as_posix()
        links = [name for name in dirs if os.path.islink(os.path.join(here, name))]
        dirs[:] = sorted(name for name in dirs if name not in links)
        mine = [rel for rel in (name if base == "." else f"{base}/{name}" for name in sorted(names + links))
                if rel != marker and rel not in listed and rel not in files]  # else qaexport's, or replaced
        for rel in mine:
            if rel in writes_folders:
                raise OutputPlaceError(f"{target / rel}: is not qaexport's and the site now writes a folder of that "
                                       "name; move it away or choose another --output")
        entries += mine
        if base != "." and (mine or (not dirs and not names)):  # holds something of the user's, or is empty
            folders.update(parent.as_posix() for parent in [Path(base), *Path(base).parents] if parent.parts)
    for folder in sorted(folders):
        if folder in files:
            raise OutputPlaceError(f"{target / folder}: is a folder of yours and the site now writes a file of that "
                                   "name; move it away or choose another --output")
    return _Kept(tuple(entries), tuple(sorted(folders, key=lambda rel: (rel.count("/"), rel))))


def _folders_of(files: dict[str, bytes]) -> set[str]:
    """Every folder below the set's top that ``files`` (relative paths) are written in."""
    return {parent.as_posix() for rel in files for parent in Path(rel).parents if parent.parts}


def _keep(old: Path, work: Path, kept: _Kept, new_folders: set[str]) -> None:
    """Put what the user had in ``old`` into the new set ``work``: each entry hard-linked (the same file, at no cost,
    whatever its size; a link is linked as a link, never followed), or copied where the system cannot (a link made
    again, a regular file copied); the user's folders with their permissions and times. ``old`` is not changed:
    if the build fails now, the folder is as it was."""
    for rel in kept.folders:
        (work / rel).mkdir(exist_ok=True)
    for rel in kept.entries:
        source, copy = old / rel, work / rel
        try:
            os.link(source, copy, follow_symlinks=False)
        except OSError:
            if os.path.islink(source):
                os.symlink(os.readlink(source), copy)
            elif os.path.isfile(source):
                shutil.copy2(source, copy)
            else:
                raise
    for rel in reversed(kept.folders):  # deepest first: a folder's time is set after what goes in it
        if rel not in new_folders:
            shutil.copystat(old / rel, work / rel, follow_symlinks=False)


def replace_tree(target: Path, files: dict[str, bytes], marker: str) -> None:
    """Make the folder ``target`` hold exactly ``files`` (a generated site: pages of removed content must go).

    The new set is written in a temporary sibling folder, then swapped in with two renames; the old folder is
    deleted after. Only a folder that is missing, empty, or holds ``marker`` (a file every set written here
    has) is replaced, so ``-o ~/Documents`` never deletes anything of the user's; in it, what the marker does not
    list as written by a build is the user's and is kept as it was (:func:`_users_things`, :func:`_keep`).
    Temporary siblings of ``target`` a killed run left behind (they hold ``marker``) are removed first. A ``target``
    that is a link to a folder (a deploy link) is followed: the folder it names is replaced, beside it, and the link
    stays.
    """
    target = Path(target)
    _check_inside(target, {**files, marker: b""})
    if marker not in files:
        raise ValueError(f"the files must include the marker {marker!r}")
    named = os.path.abspath(target)  # what the build asked for (a manifest records it)
    if target.is_symlink():  # a deploy link (`-o public/` -> releases/site): its folder is replaced, the link kept
        if not target.is_dir():
            raise OutputPlaceError(f"{target}: is a link to {os.readlink(target)}, which is not a folder; remove "
                                   "the link or choose another --output")
        target = Path(os.path.realpath(target))
    if target.exists() and not target.is_dir():
        raise OutputPlaceError(f"{target}: is a file, not a folder; choose a folder for --output")
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise OutputPlaceError(f"{target}: folder is not empty and was not written by qaexport; choose a new or "
                               "empty folder")
    if target.parent.is_dir():
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            if stale.is_dir() and ((stale / marker).is_file() or (stale / target.name / marker).is_file()):
                shutil.rmtree(stale, ignore_errors=True)
    files = _with_listing(files, marker)
    new_folders = _folders_of(files)
    kept = _users_things(target, marker, files, new_folders) if target.is_dir() else _Kept()
    work = _temporary_folder(target)
    old: Path | None = None
    try:
        _fill(work, files)
        # The user's own files, links and folders (a CNAME, a deploy link, a git checkout's .git): a site host's
        # settings must survive every build.
        _keep(target, work, kept, new_folders)
        if target.is_dir():
            old = _temporary_folder(target)
            os.replace(target, old / target.name)
        for written in _watching:
            written[named] = tree_digest(files, marker)
        os.replace(work, target)
    except OSError as exc:
        if old is not None and not target.exists() and (old / target.name).is_dir():
            os.replace(old / target.name, target)  # put the previous set back
        if exc.errno in _NOT_ALLOWED:
            raise cannot_write(target / _ANY_FILE, exc) from None
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


def tree_count(digest: str) -> int | None:
    """How many files a :func:`tree_digest` names (its marker among them), or None if it is not one: what a build
    wrote in a folder it replaced, not the files the user keeps there."""
    count = digest.split(":", 2)[1] if digest.startswith(TREE) and digest.count(":") >= 2 else ""
    return int(count) if count.isdigit() else None


def tree_marker(digest: str) -> str:
    """The marker a :func:`tree_digest` names ("" if it is not one)."""
    return digest.split(":", 3)[3] if digest.startswith(TREE) and digest.count(":") >= 3 else ""


def _tree_files(folder: Path, marker: str = "") -> list[str] | None:
    """The relative POSIX paths of the files below ``folder``, in order; None when it holds anything a set written
    by :func:`replace_tree` could not have (a link, an empty folder), or is not a folder. With the ``marker`` of a
    set whose marker lists its files, only those (the user's own files beside them are not the build's; one
    missing is None)."""
    if not os.path.isdir(folder):  # a link to a folder is followed (replace_tree replaces its folder)
        return None
    listed = _listed(folder, marker) if marker else None
    if listed is not None:  # the set is what its marker lists, each a regular file (not a link) inside the folder
        inside = all(rel and not rel.startswith("/") and ".." not in rel.split("/") for rel in listed)
        if not inside or not all(os.path.isfile(folder / rel) and not os.path.islink(folder / rel) for rel in listed):
            return None
        return sorted(listed | {marker})
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

    files = _tree_files(folder, marker)
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


def read_tree(folder: Path, marker: str = "") -> dict[str, bytes] | None:
    """Every file below ``folder`` by its relative POSIX path, as :func:`replace_tree` would have been given them
    (None as for :func:`folder_digest`). Read whole: a build holds its folder's files in memory too."""
    from .reading import open_regular

    files = _tree_files(folder, marker)
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
    files = read_tree(source, marker)
    if files is None or marker not in files or tree_digest(files, marker) != expected:
        return False
    replace_tree(target, files, marker)
    return True
