"""Fixed-weight (static) fonts made from the variable text faces with HarfBuzz's subsetter (``uharfbuzz``).

Why: WeasyPrint turns every variable font it embeds into a static one with fontTools, in every document it
writes (about 0.2 s of a small booklet, and again in each of the flashcards' measuring documents), and the EPUB
made its fixed regular and bold files the same way (fontTools' subsetter and instancer: about half of its run).
HarfBuzz pins the axes and cuts a face down in milliseconds, with the same outlines and advances.

The print layouts (PDF, cards) name one static file per text face and weight the stylesheets use
(:data:`WEIGHTS`), so WeasyPrint has nothing to instantiate. Making the 12 files takes about a second of CPU,
so they are made once per installation and kept in a store (:func:`store_folder`: ``QAEXPORT_FONT_DIR``, else
``fonts/`` in the user's cache folder — not the render cache: emptying that does not empty this). Each file's
name holds the key of what it was made from (the source file's digest, HarfBuzz's version, :data:`VERSION`, the
weight) and the digest of its own bytes: a file whose bytes do not match its name (cut short, damaged) is made
again; files are written through :func:`qaexport.output.atomic_path` (never half-written).

The store keeps only what the running version uses: a file of another key (an older :data:`VERSION`, another
HarfBuzz, an earlier release of a font) is removed by :func:`prune`. A file another process may be reading is never
removed: every process that uses the store holds a shared lock on its ``.lock`` file for as long as it lives (its
forked children inherit it), and files are removed only by a process that gets the lock exclusively, that is while
no other process uses the store; one that does not get it leaves the files for a later run. Removing a file
(``unlink``) is atomic: a process sees the whole file or none. (Releases before this one took no lock; where none
can be taken, as on Windows, nothing is removed.)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from functools import cache
from pathlib import Path

from .. import font_files  # here, not in cut: the EPUB's prepare loads what its export uses (tests/test_epub.py)
from ..reading import file_digest

#: The weights the stylesheets draw text with: normal (400) and ``bold`` (700: headings, ``b``/``strong``/``th`` in
#: WeasyPrint's own stylesheet, the booklet's and the cards' bold rules, Pygments' bold tokens). No stylesheet says
#: ``bolder``/``lighter`` or another number (tests/test_fonts.py checks the stylesheets).
WEIGHTS = (400, 700)
#: Bump when the way the files are made changes (their names change: the old files are no longer found).
VERSION = 1


#: Where the CLI found the store (``QAEXPORT_FONT_DIR``, read at the edge: :func:`use_store`); None: the default.
_chosen: Path | None = None


def use_store(folder: Path | None) -> None:
    """The store this process keeps its instances in, as the CLI read it (None: :func:`store_folder`'s default).
    Set once before any layout; forked children inherit it."""
    global _chosen
    _chosen = folder
    static_faces.cache_clear()


def store_folder() -> Path:
    """Where the static instances are kept: the folder :func:`use_store` was given, else ``fonts`` in the user's
    cache folder."""
    if _chosen is not None:
        return _chosen
    from platformdirs import user_cache_path

    return user_cache_path("qaexport", appauthor=False) / "fonts"


def cut(path: Path, chars: set[str] | None = None, weight: int | None = None, layout: bool = True) -> bytes | None:
    """The font at ``path`` cut down to the glyphs of ``chars`` (every glyph when None), with what shaping them
    needs (every layout feature, every name); with ``weight``, every axis pinned (``wght`` at ``weight`` within
    its range, the others at their defaults): a static font. ``layout=False`` drops GSUB/GPOS/GDEF. None when the
    font has none of ``chars``. The same input gives the same bytes. :class:`~qaexport.errors.FontError` (naming the
    file, what is wrong, how to repair it) when the file is not a font or is damaged (:func:`font_files.check`):
    HarfBuzz makes what it can of a cut file, and would fail with no file named or find none of ``chars``."""
    import uharfbuzz as hb

    font_files.check(path)
    face = hb.Face(hb.Blob.from_file_path(str(path)))
    given = hb.SubsetInput()
    if chars is None:
        given.keep_everything()
    else:
        unicodes = {ord(c) for c in chars} & set(face.unicodes)
        if not unicodes:
            return None
        given.unicode_set.update(unicodes)
        given.layout_feature_tag_set.clear()
        given.layout_feature_tag_set.invert()
        given.name_id_set.clear()
        given.name_id_set.invert()
        given.flags = hb.SubsetFlags.NOTDEF_OUTLINE
    if not layout:
        for table in ("GSUB", "GPOS", "GDEF"):
            given.drop_table_tag_set.add(int.from_bytes(table.encode(), "big"))
    if weight is not None and face.axis_infos:
        given.pin_all_axes_to_default(face)
        for axis in face.axis_infos:
            if axis.tag == "wght":
                given.pin_axis_location(face, "wght", min(max(weight, axis.min_value), axis.max_value))
    try:
        made = hb.subset(face, given)
    except RuntimeError:  # "Subsetting failed": a table HarfBuzz cannot read
        made = None
    if made is None:
        raise font_files.damaged(path, "is damaged: HarfBuzz cannot subset it")
    return made.blob.data


def _tool_version() -> str:
    import uharfbuzz as hb

    return f"qaexport-instances-{VERSION} uharfbuzz-{hb.__version__} harfbuzz-{hb.version_string()}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def _stem(source: Path, weight: int) -> str:
    """The name of ``source``'s instance at ``weight`` but the digest of its bytes: the face, the weight and the key of
    what it is made from (the source file's digest, the tool's version)."""
    source_digest = file_digest(source)  # the project's one way to a file's digest (size and SHA-256)
    if source_digest is None:
        raise OSError(f"{source}: cannot read this font")
    key = _digest(f"{_tool_version()}\0{source_digest}".encode())
    return f"{source.stem.split('[')[0]}-{weight}-{key}"


def instance(source: Path, weight: int, folder: Path, stem: str | None = None) -> Path:
    """The static instance of the variable font ``source`` at ``weight`` in the store ``folder``: found when a file
    of this key is there and its bytes match its name, else made and written (atomically) first. ``stem``:
    :func:`_stem`, when known."""
    stem = stem or _stem(source, weight)
    for found in sorted(folder.glob(f"{stem}-*.ttf")):
        try:
            if _digest(found.read_bytes()) == found.stem.rsplit("-", 1)[1]:
                return found
        except OSError:
            pass
    data = cut(source, None, weight)
    assert data is not None  # every glyph was asked for
    target = folder / f"{stem}-{_digest(data)}.ttf"
    from ..output import atomic_path

    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    for found in folder.glob(f"{stem}-*.ttf"):  # a damaged file of the same key: replaced by the one just made
        if found != target:
            found.unlink(missing_ok=True)
    return target


@cache
def static_faces(faces: tuple, folder: Path | None = None) -> tuple:
    """The variable text ``faces`` (:func:`qaexport.books.fonts.text_faces`, passed in: this module sits under
    :mod:`~qaexport.books.fonts`) as one static file per face and weight of :data:`WEIGHTS`, from the store (made
    there on first use; the files no longer used removed: :func:`prune`); ``folder`` defaults to
    :func:`store_folder`."""
    from dataclasses import replace

    from ..errors import OutputError

    folder = store_folder() if folder is None else folder
    try:
        stems = {(face, weight): _stem(face.path, weight) for face in faces for weight in WEIGHTS}
        folder.mkdir(parents=True, exist_ok=True)
        if not _use(folder, set(stems.values())):  # another process has been pruning for too long
            return faces
        return tuple(replace(face, path=instance(face.path, weight, folder, stems[face, weight]), weights=str(weight))
                     for face in faces for weight in WEIGHTS)
    except (OutputError, OSError):  # the store cannot be written: the variable faces draw the same text (WeasyPrint
        return faces  # instancing them)


#: A file of the store, as :func:`instance` names it: face, weight, key, the digest of its bytes.
_STORE_NAME = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*-\d+-[0-9a-f]{20}-[0-9a-f]{20}\.ttf")
#: How long a process waits for another to finish pruning before it does without the store.
LOCK_WAIT_S = 10.0
#: The store folders this process holds a shared lock on, with the lock file's descriptor (kept open for the life of
#: the process: forked children share it).
_locks: dict[Path, int] = {}


def _use(folder: Path, stems: set[str] | None) -> bool:
    """Take a shared lock on ``folder``'s lock file for the life of this process (once per process and folder), first
    removing the files of the store this version does not use when no other process uses it (:func:`prune`; not when
    ``stems`` is None). False
    when another process held it exclusively (pruning) for :data:`LOCK_WAIT_S`."""
    if folder in _locks:
        return True
    try:
        import fcntl  # noqa: F401  (whether there is flock)
    except ImportError:  # no flock (Windows): nothing is ever pruned
        return True
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if stems is not None:
            prune(folder, stems, fd)
        if not _lock_shared(fd, LOCK_WAIT_S):
            os.close(fd)
            return False
    except BaseException:
        os.close(fd)
        raise
    _locks[folder] = fd
    return True


def _lock_shared(fd: int, wait: float) -> bool:
    """``fd``'s file locked shared, waiting at most ``wait`` seconds for a process that holds it exclusively (one
    pruning); False when it still does. The wait is a blocking ``flock``, woken as the lock comes free (it used to
    try again every 10 ms). ``flock`` takes no time limit, so it waits in a thread, on a duplicate of ``fd``: the
    same open file, so the lock it takes is ``fd``'s. Given up, the thread keeps its duplicate until the lock comes,
    then closes it, which lets the lock go (the caller closed ``fd``)."""
    import fcntl
    import threading

    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    waiter = os.dup(fd)
    taken = threading.Event()
    decided = threading.Lock()
    given_up = False

    def wait_for_the_lock() -> None:
        try:
            fcntl.flock(waiter, fcntl.LOCK_SH)
            with decided:
                if not given_up:
                    taken.set()
        except OSError:
            pass
        finally:
            os.close(waiter)

    threading.Thread(target=wait_for_the_lock, name="qaexport font store lock", daemon=True).start()
    if taken.wait(wait):
        return True
    with decided:
        given_up = True
        return taken.is_set()


def prune(folder: Path, stems: set[str], lock: int) -> list[Path]:
    """Remove the files of the store whose key is none of ``stems`` (:func:`_stem`: what this version uses), while no
    other process uses the store: with the lock file ``lock`` held exclusively, taken without waiting (refused while
    any process holds it shared, that is uses the store). Called before this process uses any file of the store; only
    files named as :func:`instance` names them are touched. The files removed."""
    import fcntl

    stale = [path for path in folder.glob("*.ttf")
             if _STORE_NAME.fullmatch(path.name) and path.stem.rsplit("-", 1)[0] not in stems]
    if not stale:
        return []
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return []  # another process uses the store: a later run removes them
    removed = []
    try:
        for path in stale:
            try:
                path.unlink()
                removed.append(path)
            except FileNotFoundError:
                pass
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)  # the shared lock is taken next (converting is not atomic anyway)
    return removed


#: The store's index: for each installation (:func:`_installation`), the faces :func:`static_faces` gave and the
#: stamps of their files and of the variable fonts they were made from.
INDEX = "index.json"
#: Installations an index remembers (several may share a store: a user's tools, a checkout).
INDEX_ENTRIES = 8
#: The largest index read, checked before it is read: one installation's faces and stamps take ~9 KiB, so 8 take
#: ~75 KiB. The store is the user's own folder, but what is in it is read as untrusted: a bigger file is not
#: parsed (at ~26 bytes of objects per byte of tiny JSON values, 512 KiB parses into at most ~13 MiB).
MAX_INDEX = 512 * 2**10


def _installation() -> str:
    """What decides which files the store holds for this process: Python, :data:`VERSION` and what is installed on
    the import path (:func:`qaexport.manifest.installed`: every distribution by name and version, each place's
    stamp; an upgrade of the font packages, of HarfBuzz or of qaexport changes it)."""
    from ..manifest import installed

    return _digest(json.dumps([sys.version, VERSION, installed()]).encode())


def _stamp(path: Path) -> str:
    info = os.stat(path)
    return f"{info.st_size} {info.st_mtime_ns} {info.st_ino}"


def _read_index(folder: Path, name: str = INDEX) -> dict:
    """The store's index (or the index ``name``): {} when it is missing, unreadable, not JSON, not an object, or over
    :data:`MAX_INDEX` (read bounded: at most one byte more than the limit)."""
    try:
        with open(folder / name, "rb") as fh:
            raw = fh.read(MAX_INDEX + 1)
        entries = json.loads(raw) if len(raw) <= MAX_INDEX else {}
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def known_faces(folder: Path | None = None) -> list[dict[str, str]] | None:
    """The static faces (as :func:`remember` recorded them: each face's fields) that this installation found or made
    in the store before, when every one of their files, and every variable font they were made from, has the stamp
    (size, modification time, inode) it had then; None otherwise (then :func:`static_faces` finds them by their
    digests, ~0.05 s of CPU with the font packages' lookup, and :func:`remember` records them again). A file made
    again, replaced or cut short has another stamp. Takes the store's shared lock first (:func:`_use`): nothing is
    pruned while this process lives."""
    folder = store_folder() if folder is None else folder
    try:
        entry = _read_index(folder).get(_installation())
        if not isinstance(entry, dict) or not _use(folder, None):
            return None
        if any(_stamp(Path(path)) != stamp for path, stamp in entry["stamps"].items()):
            return None
        faces = entry["faces"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(faces, list) or not all(isinstance(face, dict) and Path(face.get("path", "")).parent == folder
                                              for face in faces):
        return None
    return faces


def remember(faces: tuple, sources: tuple, folder: Path | None = None) -> None:
    """Record in the store's index that this installation's static faces are ``faces`` (their fields), made from the
    variable fonts ``sources``, with their files' stamps now (written atomically; the other installations'
    entries kept, the oldest dropped past :data:`INDEX_ENTRIES`). Nothing when the faces are not all in the store
    (it could not be written) or the index cannot be written."""
    from dataclasses import asdict

    from ..errors import OutputError
    from ..output import atomic_path

    folder = store_folder() if folder is None else folder
    if not faces or any(face.path.parent != folder for face in faces):
        return
    try:
        stamps = {str(path): _stamp(path) for path in [*(f.path for f in faces), *(f.path for f in sources)]}
        entries = _read_index(folder)
        key = _installation()
        entries.pop(key, None)
        entries[key] = {"faces": [{k: str(v) for k, v in asdict(face).items()} for face in faces], "stamps": stamps}
        kept = dict(list(entries.items())[-INDEX_ENTRIES:])
        with atomic_path(folder / INDEX) as tmp:
            tmp.write_text(json.dumps(kept, indent=1), encoding="utf-8")
    except (OSError, OutputError):
        pass


#: The variable text faces (:func:`qaexport.books.fonts.text_faces`) each installation found through fontpkg, with
#: their files' stamps: an index of its own (the static faces' index is rewritten whole by :func:`remember`).
TEXT_FACES_INDEX = "text-faces.json"


def known_text_faces(folder: Path | None = None) -> list[dict[str, str]] | None:
    """The variable text faces (each face's fields, as :func:`remember_text_faces` recorded them) that this
    installation (:func:`_installation`: an upgraded or added font package changes it) found before, when each file
    still has the stamp (size, modification time, inode) it had then and lies in a place modules are imported from
    (``sys.path``: the index is read as untrusted, and names no other file); None otherwise. Finding them through
    fontpkg reads every installed distribution's entry points twice and imports the font packages: 13-17 ms of CPU of
    an EPUB's ``prepare`` (beside the rendering: half of it on the run's longest path) and of a first print layout."""
    folder = store_folder() if folder is None else folder
    try:
        entry = _read_index(folder, TEXT_FACES_INDEX).get(_installation())
        if not isinstance(entry, dict):
            return None
        faces, stamps = entry["faces"], entry["stamps"]
        places = [Path(p).resolve() for p in sys.path if p and os.path.isdir(p)]
        if not (isinstance(faces, list) and faces and isinstance(stamps, dict)):
            return None
        for face in faces:
            if not (isinstance(face, dict) and all(isinstance(face.get(k), str)
                                                   for k in ("family", "path", "style", "weights"))):
                return None
            path = Path(face["path"])
            if (not path.is_absolute() or stamps.get(face["path"]) != _stamp(path)
                    or not any(path.resolve().is_relative_to(place) for place in places)):
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return faces


def remember_text_faces(faces: tuple, folder: Path | None = None) -> None:
    """Record in the store's text faces index that this installation's variable text faces are ``faces`` (their
    fields), with their files' stamps now (written atomically, the other installations' entries kept, the oldest
    dropped past :data:`INDEX_ENTRIES`). Nothing when the index cannot be written."""
    from dataclasses import asdict

    from ..errors import OutputError
    from ..output import atomic_path

    folder = store_folder() if folder is None else folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        entries = _read_index(folder, TEXT_FACES_INDEX)
        key = _installation()
        entries.pop(key, None)
        entries[key] = {"faces": [{k: str(v) for k, v in asdict(face).items()} for face in faces],
                        "stamps": {str(face.path): _stamp(face.path) for face in faces}}
        kept = dict(list(entries.items())[-INDEX_ENTRIES:])
        with atomic_path(folder / TEXT_FACES_INDEX) as tmp:
            tmp.write_text(json.dumps(kept, indent=1), encoding="utf-8")
    except (OSError, OutputError):
        pass
