"""Anki packages as zips: :class:`PackageArchive`, the one bounded way to open one (``anki_package`` holds what a
package means: suffixes, qaexport's note types, the bank). The ``.apkg`` source reads decks through it, the Anki
exporter reads a previous package through it (and declines to copy a deck that came from one), so a hostile
package meets the same checks wherever it is named.

The zip is checked before anything else touches it: a readable, complete zip of a regular file with a collection
inside, sane member counts and declared sizes, a media map whose names stay inside their folder. The collection
is streamed through zip (and zstd, for current packages) with a size cap, never read whole.
"""

from __future__ import annotations

import io
import json
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

from ..errors import InputError
from ..limits import mib
from ..reading import open_regular
from .images import MAX_IMAGE_BYTES

INSTALL_HINT = "reading Anki packages needs the apkg extra; install it with: pip install 'qaexport[apkg]'"

# Limits: generous for real decks (AnkiWeb's shared decks are far below them), small enough that a hostile
# package is refused in bounded time and well under 500 MiB of memory.
MAX_MEMBERS = 200_000
MAX_COLLECTION = 256 * 2**20  # uncompressed collection database
MAX_MEMBER = 512 * 2**20  # any one member, as declared (videos can be big; they are never read)
MAX_DECLARED_TOTAL = 4 * 2**30  # all members together, as declared
MAX_RATIO = 1_000  # deflate of real data stays far below; zip bombs are far above
MAX_MEDIA_MAP = 16 * 2**20  # the media map itself
MAX_ZSTD_WINDOW = 2**26  # bounds the zstd decoder's memory whatever a frame header claims
CHUNK = 2**20

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
SQLITE_MAGIC = b"SQLite format 3\x00"
LEGACY_1, LEGACY_2, LATEST = 1, 2, 3
COLLECTION_FOR = {LEGACY_1: "collection.anki2", LEGACY_2: "collection.anki21", LATEST: "collection.anki21b"}

class PackageError(InputError):
    """A package refused before or while Anki reads it."""


def _refuse(path: Path, message: str) -> PackageError:
    return PackageError(path, message)


def safe_media_name(name: str) -> bool:
    """A media map name is a bare file name: no separators, no ``..``, not absolute, no control characters."""
    if not name or len(name) > 255 or name in (".", "..") or "/" in name or "\\" in name:
        return False
    if any(ord(ch) < 32 for ch in name) or PureWindowsPath(name).drive or PurePosixPath(name).is_absolute():
        return False
    return not name.startswith("..")


def _zstd():
    try:
        import zstandard
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)


class _CapExceededError(Exception):
    pass


def _copy_capped(src: IO[bytes], dst: IO[bytes] | None, cap: int) -> int:
    """Stream ``src`` into ``dst`` (or nowhere) and stop as soon as more than ``cap`` bytes come out."""
    total = 0
    while chunk := src.read(CHUNK):
        total += len(chunk)
        if total > cap:
            raise _CapExceededError
        if dst is not None:
            dst.write(chunk)
    return total


@dataclass
class PackageArchive:
    """An Anki package's zip, checked: version, collection member, media map (name → member)."""

    path: Path
    zf: zipfile.ZipFile
    version: int
    media: dict[str, str] = field(default_factory=dict)
    opened: Any = None  # the open file's context, closed with the archive

    @classmethod
    def open(cls, path: Path) -> PackageArchive:
        opened = open_regular(path)  # a FIFO or a device is refused, never waited on or read without end
        try:
            fh = opened.__enter__()
        except InputError as exc:
            raise _refuse(path, f"{exc.problem.message}; name an exported .apkg file") from None
        try:
            head = fh.read(4)
            fh.seek(0)
        except OSError as exc:
            opened.__exit__(None, None, None)
            raise _refuse(path, f"cannot read the file ({exc.strerror}); check the path and permissions") from exc
        archive = None
        try:
            if not head:
                raise _refuse(path, "the file is empty; export the deck again from Anki (File › Export)")
            if head not in ZIP_MAGIC:
                raise _refuse(path, "not an Anki package (not a zip file); export the deck from Anki as .apkg")
            try:
                zf = zipfile.ZipFile(fh)
                infos = zf.infolist()
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise _refuse(path, f"the zip is damaged or truncated ({exc}); download or export it again") from exc
            archive = cls(path, zf, LEGACY_1, opened=opened)
            archive._check_members(infos)
            archive.version = archive._version()
            archive.media = archive._media_map()
        except BaseException:
            if archive is not None:
                archive.zf.close()
            opened.__exit__(None, None, None)
            raise
        return archive

    def close(self) -> None:
        self.zf.close()
        if self.opened is not None:
            self.opened.__exit__(None, None, None)
            self.opened = None

    def __enter__(self) -> PackageArchive:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def collection_name(self) -> str:
        return COLLECTION_FOR[self.version]

    def _check_members(self, infos: list[zipfile.ZipInfo]) -> None:
        if len(infos) > MAX_MEMBERS:
            raise _refuse(self.path, f"the zip holds {len(infos)} files (limit {MAX_MEMBERS}); not a real deck")
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > MAX_MEMBER or total > MAX_DECLARED_TOTAL:
                raise _refuse(self.path, f"zip member {info.filename[:60]!r} declares {mib(info.file_size)} "
                                         "(a zip bomb?); refusing to unpack it")
            if info.compress_size and info.file_size > max(info.compress_size * MAX_RATIO, CHUNK):
                ratio = info.file_size // info.compress_size
                raise _refuse(self.path, f"zip member {info.filename[:60]!r} inflates {ratio}-fold "
                                         "(a zip bomb?); refusing to unpack it")

    def _has(self, name: str) -> bool:
        try:
            self.zf.getinfo(name)
        except KeyError:
            return False
        return True

    def _read_small(self, name: str, cap: int) -> bytes:
        """A whole member, decompressed by zip only, at most ``cap`` bytes."""

        out = io.BytesIO()
        try:
            with self.zf.open(name) as src:
                _copy_capped(src, out, cap)
        except _CapExceededError:
            raise _refuse(self.path, f"{name!r} inflates beyond {mib(cap)} (a zip bomb?); refusing it") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise _refuse(self.path, f"{name!r} is damaged inside the zip ({exc}); export the deck again") from exc
        return out.getvalue()

    def _version(self) -> int:
        if self._has("meta"):
            from anki.import_export_pb2 import PackageMetadata
            from google.protobuf.message import DecodeError

            try:
                meta = PackageMetadata.FromString(self._read_small("meta", 4096))
            except DecodeError as exc:
                raise _refuse(self.path, "the package's meta record is corrupt; export the deck again") from exc
            if meta.version not in COLLECTION_FOR:
                raise _refuse(self.path, f"package format {meta.version} is newer than this reader understands; "
                                         "update the anki package (pip install -U 'qaexport[apkg]')")
            version = meta.version
        else:
            version = LEGACY_2 if self._has("collection.anki21") else LEGACY_1
        if not self._has(COLLECTION_FOR[version]):
            raise _refuse(self.path, "no Anki collection inside the zip; is this really an .apkg/.colpkg export?")
        return version

    def _media_map(self) -> dict[str, str]:
        """name → zip member; every name checked (a map that climbs out of its folder refuses the package)."""
        if not self._has("media"):
            return {}
        raw = self._read_small("media", MAX_MEDIA_MAP)
        pairs: list[tuple[str, str]] = []
        if self.version == LATEST:
            from anki.import_export_pb2 import MediaEntries
            from google.protobuf.message import DecodeError

            try:
                entries = MediaEntries.FromString(self._zstd_bytes(raw, MAX_MEDIA_MAP, "media"))
            except DecodeError as exc:
                raise _refuse(self.path, "the media map is corrupt; export the deck again") from exc
            pairs = [(e.name, str(i)) for i, e in enumerate(entries.entries)]
        else:
            try:
                data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                raise _refuse(self.path, "the media map is not valid JSON; export the deck again") from exc
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise _refuse(self.path, "the media map is not a name table; export the deck again")
            pairs = [(name, str(member)) for member, name in data.items()]
        media: dict[str, str] = {}
        for name, member in pairs:
            if not safe_media_name(name):
                raise _refuse(self.path, f"media map entry {name[:80]!r} points outside the media folder; "
                                         "this package is unsafe, refusing it")
            media[unicodedata.normalize("NFC", name)] = member
        return media

    def _zstd_bytes(self, data: bytes, cap: int, what: str) -> bytes:

        try:
            with _zstd().stream_reader(io.BytesIO(data), read_across_frames=True) as src:
                out = io.BytesIO()
                _copy_capped(src, out, cap)
        except _CapExceededError:
            raise _refuse(self.path, f"{what} decompresses beyond {mib(cap)} (a zip bomb?); refusing it") from None
        except Exception as exc:  # zstandard.ZstdError and friends
            if isinstance(exc, ImportError):
                raise
            raise _refuse(self.path, f"{what} is not valid zstd data ({exc}); export the deck again") from exc
        return out.getvalue()

    def check_collection(self) -> int:
        """Stream the collection through every decompression layer with a cap; check it is an SQLite file.
        Returns its size, uncompressed."""
        name = self.collection_name
        try:
            with self.zf.open(name) as member:
                if self.version == LATEST:
                    with _zstd().stream_reader(member, read_across_frames=True) as src:
                        head = src.read(len(SQLITE_MAGIC))
                        size = len(head) + _copy_capped(src, None, MAX_COLLECTION)
                else:
                    head = member.read(len(SQLITE_MAGIC))
                    size = len(head) + _copy_capped(member, None, MAX_COLLECTION)
        except _CapExceededError:
            raise _refuse(self.path, f"the collection inflates beyond {mib(MAX_COLLECTION)} "
                                     "(a zip bomb?); refusing it") from None
        except ImportError:
            raise
        except Exception as exc:  # BadZipFile (CRC, truncation), ZstdError, OSError
            raise _refuse(self.path, f"the collection is damaged ({type(exc).__name__}: {str(exc)[:80]}); "
                                     "export the deck again") from exc
        if head != SQLITE_MAGIC:
            raise _refuse(self.path, "the collection inside is not an Anki database (corrupt); export the deck again")
        return size

    def extract_collection(self, target: Path) -> None:
        """The collection database written to ``target``, streamed through every decompression layer with the cap
        of :meth:`check_collection` (a previous package is read this way: never whole into memory)."""
        name = self.collection_name
        try:
            with self.zf.open(name) as member, target.open("wb") as out:
                if self.version == LATEST:
                    with _zstd().stream_reader(member, read_across_frames=True) as src:
                        _copy_capped(src, out, MAX_COLLECTION)
                else:
                    _copy_capped(member, out, MAX_COLLECTION)
        except _CapExceededError:
            raise _refuse(self.path, f"the collection inflates beyond {mib(MAX_COLLECTION)} "
                                     "(a zip bomb?); refusing it") from None
        except ImportError:
            raise
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise _refuse(self.path, f"the collection is damaged ({type(exc).__name__}: {str(exc)[:80]}); "
                                     "export the deck again") from exc
        except Exception as exc:  # ZstdError
            if isinstance(exc, OSError) and exc.filename:
                raise
            raise _refuse(self.path, f"the collection is damaged ({type(exc).__name__}: {str(exc)[:80]}); "
                                     "export the deck again") from exc

    def stripped_copy(self, target: Path) -> None:
        """The package as Anki's importer needs it, without media: ``meta`` + collection + an empty media map."""
        with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            if self._has("meta"):
                out.writestr("meta", self._read_small("meta", 4096))
            with self.zf.open(self.collection_name) as src, out.open(self.collection_name, "w") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            if self.version == LATEST:
                import zstandard

                out.writestr("media", zstandard.ZstdCompressor().compress(b""))
            else:
                out.writestr("media", "{}")

    def read_image(self, name: str) -> bytes | str:
        """The bytes of media ``name`` (by exact map lookup), or a one-line reason it cannot be used."""
        member = self.media.get(unicodedata.normalize("NFC", name))
        if member is None:
            return "not in the package's media"
        try:
            info = self.zf.getinfo(member)
        except KeyError:
            return "listed in the media map but missing from the zip"
        cap = MAX_IMAGE_BYTES
        if info.file_size > cap * (4 if self.version == LATEST else 1):
            return f"too large ({mib(info.file_size)}; limit {mib(cap)})"

        out = io.BytesIO()
        try:
            with self.zf.open(info) as src:
                if self.version == LATEST:
                    with _zstd().stream_reader(src, read_across_frames=True) as z:
                        _copy_capped(z, out, cap)
                else:
                    _copy_capped(src, out, cap)
        except _CapExceededError:
            return f"larger than {mib(cap)}"
        except ImportError:
            raise
        except Exception as exc:
            return f"damaged ({type(exc).__name__})"
        return out.getvalue()


