"""The build manifest: a build whose inputs, options, versions and outside state are unchanged, and whose outputs are
there unchanged, renders nothing and writes nothing.

After a build that wrote files, the CLI records what decided it: the *run key* (the command,
every option and CLI value, the working folder, the environment variables qaexport reads, Python's version, what is
installed on the import path — every distribution's name and version, and each place's stamp: :func:`installed` —,
the stamps of qaexport's files, so an edited checkout counts, and of the system's library cache: Pango and HarfBuzz
lay out the books), every input file read
with its size and SHA-256 (``reading.watch``: sources, images, media, the config
file, files named by options such as ``--previous``), the files looked for and not found (a ``media/`` folder
nearer a bank file), the listing of every source folder, each exporter's *outside state* (what besides its inputs
decides its output: the Anki note-time ledger's file stamps; an exporter that cannot say has none, and its builds
are never skipped; the print and e-book exporters': the stamps of the font package files they draw from), and each
output's path, size and SHA-256.

The next build with the same run key finds that record (a file named by the key's digest in the cache folder),
checks all of it, cheapest first, and when nothing differs and every output is there with its recorded bytes, it is
done: nothing read, rendered or written. The key holds no output path, so one key's builds to other paths share the
file: it keeps the last :data:`KEEP_BUILDS` of them (a new build replaces the ones it overwrote: their output paths
are its own), newest first, and a build is done when any of them holds. So building to ``other.epub`` from edited
inputs, then undoing the edit, finds the default output still built from these very inputs (before, the one record
was the other build's and the default was built again). An output missing at its path (a build to a new path) is
copied from the path it was recorded at, if that still holds the recorded bytes (checked on the bytes copied); an
output there with other bytes is built again, as is everything after any other difference. A folder written whole
(``output.replace_tree``: the site) is recorded by one digest of every file's path and bytes, and is unchanged only
when it holds exactly those files (none removed or made a link; its marker lists them, and files the user added
beside them are theirs, kept by every build: no change); its copy to a new path is written as a build writes it
(the build's files only). A folder filled file by file (a Markdown bank, beside what the user keeps there) is not
recorded: such a build always builds.

A build that warned is recorded too, marked so: it is never up to date (the next build runs and says its warnings
again), and its outputs are known to the next build of the key (``Build.earlier``: a rename's old deck).

A manifest is only ever a shortcut: one that is missing, too large, unreadable or malformed is reported in one
warning line and the build runs in full (and writes a sound one); ``--no-cache`` writes none and skips
nothing (it reads the records of the same command built with the cache only for ``Build.earlier``).
Records are written atomically (``output.atomic_path``); two runs at once each write a whole record, the last
one wins, and either is right.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .formats.anki_package import BankError, refuse_dense
from .limits import mib
from .output import TREE, atomic_path, copy_tree_verified, copy_verified, folder_digest, tree_marker
from .reading import file_digest, open_regular

#: Bump when what a record means changes (2: records written while font stamps were a field of their own; 3: a
#: record kept one build, not the last few to other paths).
FORMAT = 4
#: A record larger than this is not read (a hostile or damaged file must not cost memory or time).
MAX_BYTES = 16 * 2**20
#: Records kept in the folder; the least recently written beyond this are removed.
KEEP = 64
#: Builds kept in one record (one run key, other output paths), newest first.
KEEP_BUILDS = 8
FOLDER = "manifests"
#: Rewritten whenever a system library is installed or upgraded (Linux): Pango, HarfBuzz and fontconfig lay out the
#: books, and their versions are the system's, not a package's. Where it does not exist the key cannot see them.
SYSTEM_LIBRARIES = "/etc/ld.so.cache"


@dataclass
class Output:
    path: str  # absolute
    digest: str  # reading.digest: "SIZE:SHA256"


@dataclass
class Record:
    key: str
    stem: str  # the default output name, from the library (so targets resolve without reading it)
    inputs: dict[str, str]  # absolute path -> digest, "" for a file looked for and not found
    listings: dict[str, list[str]]  # a source folder -> the files below it, in order
    state: list[str]  # each exporter's outside state
    outputs: list[Output] = field(default_factory=list)
    #: The build warned: never up to date (a skipped build would not say its warnings again), kept only so a later
    #: build of this run key knows the files it wrote (``Build.earlier``: the old deck of a rename).
    warned: bool = False


def versions() -> dict[str, str]:
    """What the installed software is: Python's version, a stamp of every place modules are imported from (which
    distributions are installed there, by name and version, and when that place last changed: see
    :func:`installed`), a stamp of qaexport's own files (an editable install keeps its version number while its
    code changes) and of the system's library cache. A few stats and one listing per place (~1 ms): reading the
    metadata of every library qaexport requires took ~30 ms at every run, and saw only those libraries (not
    WeasyPrint's own, pydyf and tinycss2, which decide a PDF's bytes as much)."""
    return {"python": sys.version, "installed": installed(), "files": package_stamp(),
            "system libraries": _stamp_of(SYSTEM_LIBRARIES)}


#: Entries of an import path that say which distributions are installed there (with their version in the name for
#: ``.dist-info``) and what else is put on the path (``.pth``, ``.egg-link``).
DISTRIBUTION_ENTRIES = (".dist-info", ".egg-info", ".egg-link", ".pth")


def installed() -> list[str]:
    """Each place on the import path (``sys.path``) where distributions are installed: its stamp and their names.
    pip, uv and conda install, upgrade or remove a distribution by adding, renaming or removing its
    ``NAME-VERSION.dist-info`` folder, so a changed version is a changed name, and a package reinstalled at the same
    version (a rebuilt wheel) is a new folder: the place's modification time changes. Places without any are left
    out: the standard library (Python's version says it), a checkout's or the tests' folders (their time changes
    whenever a file is put there; a run from a test and one from a shell have the same key), path hooks' names and
    the working folder (in the key as the working folder). A zip file on the path is stamped whole."""
    here = os.path.abspath(os.getcwd())
    out = []
    for entry in dict.fromkeys(sys.path):
        place = os.path.abspath(entry) if entry else here
        if place == here:
            continue
        try:
            with os.scandir(place) as found:
                names = sorted(e.name for e in found if e.name.endswith(DISTRIBUTION_ENTRIES))
        except OSError:  # a zip file (stamped: it may hold libraries), a path hook's name, a folder not there
            if os.path.isfile(place):
                out.append(f"{place}\0{_stamp_of(place)}\0")
            continue
        if names:
            out.append(f"{place}\0{_stamp_of(place)}\0{' '.join(names)}")
    return out


def _stamp_of(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "absent"
    return f"{info.st_size} {info.st_mtime_ns} {info.st_ino}"  # a folder's size and time change with its entries


def package_stamp() -> str:
    """A digest of the path, size and modification time of every file of the qaexport package."""
    root = Path(__file__).resolve().parent
    stamp = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            info = os.stat(os.path.join(folder, name))
            stamp.update(f"{os.path.relpath(os.path.join(folder, name), root)}\0{info.st_size}\0"
                         f"{info.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return stamp.hexdigest()


def run_key(parts: dict[str, object]) -> str:
    """The run key: ``parts`` (the CLI's values, options, working folder, environment) and the versions."""
    return json.dumps({"format": FORMAT, **parts, "versions": versions()}, sort_keys=True, default=repr)


class Manifests:
    """The record for one run key, in ``folder``: found, checked, acted on, written."""

    def __init__(self, folder: Path, key: str, warn: Callable[[str], None]) -> None:
        self.key = key
        self.warn = warn
        self.loaded: list[Record] = []  # the builds found by load, newest first
        name = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.path = Path(folder) / FOLDER / f"{name}.json"

    def load(self) -> list[Record]:
        """The builds recorded for this key, newest first: none yet, or anything wrong with the file (one warning
        line). They are kept for :meth:`save`, which keeps the builds the new one did not overwrite."""
        self.loaded = self._load()
        return self.loaded

    def _load(self) -> list[Record]:
        try:
            with open_regular(self.path) as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > MAX_BYTES:
                    self._unusable(f"{mib(size)}, over the {mib(MAX_BYTES)} a manifest may have")
                    return []
                raw = fh.read(MAX_BYTES + 1)
        except (InputError, OSError):  # missing (the usual case) or unreadable: a build runs either way
            if os.path.lexists(self.path):
                self._unusable("cannot be read")
            return []
        try:
            refuse_dense(raw, "a build manifest")  # under MAX_BYTES, tiny values would still parse into ~26x
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError("unexpected format")
            records = [_record(data["key"], build) for build in [data, *data.get("earlier", [])]]
        except BankError as exc:
            self._unusable(str(exc))
            return []
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            self._unusable(f"malformed ({type(exc).__name__})")
            return []
        return records if data["key"] == self.key else []

    def _unusable(self, why: str) -> None:
        self.warn(f"build manifest {self.path}: {why}; building in full (it is written again)")

    def up_to_date(self, record: Record, targets: list[Path], state: list[str],
                   digests: dict[str, str | None] | None = None) -> list[tuple[Path, str]] | None:
        """Whether the build ``record`` describes would write exactly what is there: each target with how it is
        satisfied ("unchanged", or "copied from PATH" once copied); None when anything differs (then nothing was
        copied that should not have been: a copy is a whole, verified output of the same build). ``digests``: the
        input files' digests read so far in this check (several builds of one key name the same inputs)."""
        if record.warned or state != record.state or len(targets) != len(record.outputs) or None in state:
            return None
        from .sources import listing

        for folder, files in record.listings.items():
            if [os.path.abspath(f) for f in listing(Path(folder))] != files:
                return None
        plan: list[tuple[Path, Output, bool]] = []
        for target, out in zip(targets, record.outputs, strict=True):
            if os.path.lexists(target):
                if not _looks_same(target, out.digest):
                    return None
                plan.append((target, out, False))
            elif Path(out.path) != Path(target).absolute() and _looks_same(Path(out.path), out.digest):
                plan.append((target, out, True))
            else:
                return None
        for name, recorded in record.inputs.items():
            if recorded == "":
                if os.path.isfile(name):
                    return None
            elif not _same_size(Path(name), recorded):
                return None
            else:
                if digests is None or name not in digests:
                    found = file_digest(Path(name))
                    if digests is None:
                        if found != recorded:
                            return None
                        continue
                    digests[name] = found
                if digests[name] != recorded:
                    return None
        if any(not copy and _digest_of(target, out.digest) != out.digest for target, out, copy in plan):
            return None
        done = []
        for target, out, copy in plan:
            if copy:
                copied = copy_tree_verified if out.digest.startswith(TREE) else copy_verified
                if not copied(Path(out.path), target, out.digest):
                    return None  # changed since it was checked: this target (and any after it) is built again
                done.append((target, f"copied from {out.path}"))
            else:
                done.append((target, "unchanged"))
        return done

    def save(self, record: Record) -> None:
        """Write ``record`` (atomically) with the key's earlier builds (as loaded) that wrote to other paths, the
        newest :data:`KEEP_BUILDS` that fit in :data:`MAX_BYTES`, then drop the oldest records beyond ``KEEP``. A
        folder that cannot be written only means the next build runs in full."""
        from .errors import OutputError

        paths = {o.path for o in record.outputs}
        earlier = [_fields(r) for r in self.loaded
                   if r.key == record.key and not paths & {o.path for o in r.outputs}][:KEEP_BUILDS - 1]
        while True:
            data = json.dumps({"format": FORMAT, "key": record.key, **_fields(record), "earlier": earlier}).encode()
            if len(data) <= MAX_BYTES:
                break
            if not earlier:
                return
            earlier.pop()
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(data)
            kept = sorted(self.path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in kept[KEEP:]:
                old.unlink(missing_ok=True)
        except (OutputError, OSError):
            pass


def _record(key: str, data: dict) -> Record:
    """One build as the file holds it (its fields: :func:`_fields`), checked; ValueError for anything unexpected."""
    record = Record(key, data["stem"], dict(data["inputs"]), dict(data["listings"]), list(data["state"]),
                    [Output(o["path"], o["digest"]) for o in data["outputs"]], data.get("warned", False))
    if not isinstance(record.warned, bool):
        raise ValueError("unexpected values")
    if not isinstance(record.key, str) or not isinstance(record.stem, str) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in record.inputs.items()) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(f, str) for f in v)
            for k, v in record.listings.items()) or not all(isinstance(s, str) for s in record.state) or \
            not all(isinstance(o.path, str) and os.path.isabs(o.path) and isinstance(o.digest, str)
                    for o in record.outputs):
        raise ValueError("unexpected values")
    return record


def _fields(record: Record) -> dict[str, object]:
    """One build's fields as the file holds them (the key is the file's, once)."""
    fields: dict[str, object] = {"stem": record.stem, "inputs": record.inputs, "listings": record.listings,
                                 "state": record.state,
                                 "outputs": [{"path": o.path, "digest": o.digest} for o in record.outputs]}
    if record.warned:  # only then: a record of a build that warned of nothing is as before
        fields["warned"] = True
    return fields


def _same_size(path: Path, digest: str) -> bool:
    """The cheap check first: a regular file of the recorded size."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    import stat

    return stat.S_ISREG(info.st_mode) and digest.split(":", 1)[0] == str(info.st_size)


def _looks_same(path: Path, digest: str) -> bool:
    """The cheap check of an output: a file of the recorded size, or a folder."""
    if digest.startswith(TREE):
        return os.path.isdir(path)  # a link to a folder too: replace_tree replaces the folder it names
    return _same_size(path, digest)


def _digest_of(path: Path, digest: str) -> str | None:
    """The digest of the output at ``path``, of the kind ``digest`` is (a folder's, or a file's)."""
    if digest.startswith(TREE):
        return folder_digest(path, tree_marker(digest))
    return file_digest(path)
