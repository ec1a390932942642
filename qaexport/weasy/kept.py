"""Laid-out parts of a booklet kept between runs: an author who edits one question of a book laid out in parts
(``weasy.parts``) lays out again only the part that holds it.

A body part's PDF is decided by its HTML, the stylesheet, the document identifier, the files the layout may load
(fonts, the wrap mark: their stamps), the library's media, and the versions of everything that lays it out
(``manifest.versions``: Python, qaexport and its package files, every library, the system's library cache). All of
that is the entry's key; a part whose key is found is copied from the folder, its file checked against the digest it
was stored with, and its laid-out
facts (page count, anchors, outline levels, characters no font had) are reported as a layout would report them.
So the merged book is the same bytes as one laid out with nothing kept (``tests/test_pdf_kept.py``) when
SOURCE_DATE_EPOCH is set (it is in the key): fontTools dates the font subsets it embeds in a part by it, else by the
moment, and then a kept part's fonts carry the date of the run that laid it out (a build without SOURCE_DATE_EPOCH is
never the same bytes twice anyway).

Entries live in ``layouts/`` beside the render cache and the build manifests (``--no-cache`` neither reads nor
writes them). An entry is written in a folder with an owned temporary name (``scratch``) and renamed into place,
so a run killed while writing one leaves a folder the next run sweeps; anything wrong with an entry (missing,
malformed, dense enough to cost far more memory parsed than its size, a file whose bytes changed) makes it a
miss, and the part is laid out. Past :data:`MAX_BYTES` (or
:data:`MAX_ENTRIES`) the least recently used entries are removed.

The render cache (``render.cache``) bounds itself by least recent use too, but not with this mechanism, and sharing
one would cost one of them: its entries are small texts read and written by the hundreds in one SQLite transaction
per run; an entry here is a part's PDF of megabytes (hundreds for a 50,000-question book) written by the layout
children in parallel and copied to a file for the merge. As rows of that table they would pass whole through memory
(or blob I/O), hold its one write lock while the children write, and share one budget in which a big book's parts
evict the texts every exporter's run reads; as files there, the texts would cost a file each.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import scratch
from ..formats.anki_package import BankError, refuse_dense
from ..model import Media
from ..output import copy_verified
from ..reading import file_digest

FOLDER = "layouts"
#: Bump when what an entry means changes (2: a part is always one file; it was two when its drawing was shared).
FORMAT = 2
#: The entries' files together stay under this (least recently used removed first): a 560-question booklet's
#: parts are a few MiB; a 50,000-question one's a few hundred.
MAX_BYTES = 512 * 2**20
MAX_ENTRIES = 2048
#: An entry's record is never read past this.
MAX_RECORD = 4 * 2**20
RECORD = "record.json"
PART = "part.pdf"


def prefix(versions: Mapping[str, str], identifier: str, files: Mapping[str, Path] | None,
           media: Mapping[str, Media] | None, dated: float | None) -> str:
    """What every part of one build shares in its key: versions, the document identifier, the stamps of the files
    the layout may load, a digest of the media, and ``dated``: the build's time when it is fixed
    (SOURCE_DATE_EPOCH), which fontTools also dates the font subsets it embeds in a part by (else by the moment)."""
    stamps = {}
    for url, path in sorted((files or {}).items()):
        try:
            info = os.stat(path)
            stamps[url] = f"{path} {info.st_size} {info.st_mtime_ns} {info.st_ino}"
        except OSError:
            stamps[url] = f"{path} absent"
    shown = hashlib.blake2b(digest_size=20)
    for name, item in sorted((media or {}).items()):
        data = item.data
        shown.update(f"{len(name)}\0{name}\0{item.mime}\0{len(data)}\0".encode("utf-8", "surrogatepass"))
        shown.update(data)
    return json.dumps({"format": FORMAT, "versions": dict(versions), "identifier": identifier, "files": stamps,
                       "media": shown.hexdigest(), "fonts dated": dated}, sort_keys=True)


def for_build(cache_dir: Path, identifier: str, files: Mapping[str, Path] | None,
              media: Mapping[str, Media] | None, dated: float | None) -> KeptLayouts:
    """The kept parts of one build, in ``cache_dir``; what a run killed while keeping one left there is swept
    first (every run that lays out in parts sweeps it, whether it keeps anything or not)."""
    from ..manifest import versions

    folder = cache_dir / FOLDER
    if folder.is_dir():
        scratch.sweep_once(folder)
    return KeptLayouts(folder, prefix(versions(), identifier, files, media, dated))


@dataclass(frozen=True)
class KeptLayouts:
    """The folder of kept parts and the key prefix of this build (picklable: the parts' children get it)."""

    folder: Path
    prefix: str

    def key(self, html: str, css: str) -> str:
        h = hashlib.blake2b(self.prefix.encode("utf-8", "surrogatepass"), digest_size=24)
        for text in (css, html):
            data = text.encode("utf-8", "surrogatepass")
            h.update(f"\0{len(data)}\0".encode())
            h.update(data)
        return h.hexdigest()

    def fetch(self, key: str, target: Path) -> dict[str, Any] | None:
        """The kept part under ``key`` copied to ``target``; its record, or None when there is none or anything about
        it is wrong (nothing copied then)."""
        entry = self.folder / key
        try:
            with open(entry / RECORD, "rb") as fh:
                raw = fh.read(MAX_RECORD + 1)
        except OSError:
            return None  # none kept (the usual miss)
        try:
            if len(raw) > MAX_RECORD:
                raise ValueError("too big")
            refuse_dense(raw, "a kept part's record")  # under MAX_RECORD, tiny values would still parse into ~26x
            record = json.loads(raw)
            digest = record["file"]
            if record.get("key") != key or not isinstance(digest, str):
                raise ValueError("unexpected values")
        except (BankError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return self._drop(entry, None)
        if not copy_verified(entry / PART, target, digest):
            return self._drop(entry, target)
        with contextlib.suppress(OSError):
            os.utime(entry)  # recently used: kept longest
        return record

    @staticmethod
    def _drop(entry: Path, target: Path | None) -> None:
        """A damaged entry removed (so that the part laid out again is kept in its place), nothing left copied."""
        if target is not None:
            target.unlink(missing_ok=True)
        shutil.rmtree(entry, ignore_errors=True)
        return None

    def store(self, key: str, path: Path, record: dict[str, Any]) -> None:
        """Keep the part's file at ``path`` and its ``record`` under ``key`` (atomically: a folder with an owned
        temporary name, renamed into place); then remove the least recently used entries past the bounds. Any failure
        only means the part is laid out next time."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            scratch.sweep_once(self.folder)
            work = Path(tempfile.mkdtemp(prefix=scratch.owned_prefix(hidden=True) + "layout-", dir=self.folder))
        except OSError:
            return
        try:
            shutil.copyfile(path, work / PART)
            (work / RECORD).write_text(json.dumps({**record, "key": key, "file": file_digest(work / PART)}),
                                       encoding="utf-8")
            os.rename(work, self.folder / key)  # fails when another run kept the same part meanwhile: theirs stays
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
            return
        self._evict()

    def _evict(self) -> None:
        entries = []
        try:
            for entry in os.scandir(self.folder):
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                    continue
                size = sum(f.stat().st_size for f in os.scandir(entry.path))
                entries.append((entry.stat().st_mtime_ns, entry.path, size))
        except OSError:
            return
        entries.sort(reverse=True)
        total = 0
        for count, (_time, path, size) in enumerate(entries):
            total += size
            if total > MAX_BYTES or count >= MAX_ENTRIES:
                shutil.rmtree(path, ignore_errors=True)
