"""The build manifest: a build whose inputs, options, versions and outside state are unchanged, and whose outputs are
there unchanged, renders nothing and writes nothing.

After a build that wrote files and warned of nothing, the CLI records what decided it: the *run key* (the command,
every option and CLI value, the working folder, the environment variables qaexport reads, the versions of Python,
qaexport — its package files' stamps too, so an edited checkout counts — and every library it requires, the readers'
plugins, and the stamp of the system's library cache: Pango and HarfBuzz lay out the books), every input file read
with its size and SHA-256 (``reading.watch``: sources, images, media, the config
file, files named by options such as ``--previous``), the files looked for and not found (a ``media/`` folder
nearer a bank file), the listing of every source folder, each exporter's *outside state* (what besides its inputs
decides its output: the Anki note-time ledger's file stamps; an exporter that cannot say has none, and its builds
are never skipped), and each output's path, size and SHA-256.

The next build with the same run key finds that record (a file named by the key's digest in the cache folder),
checks all of it, cheapest first, and when nothing differs and every output is there with its recorded bytes, it is
done: nothing read, rendered or written. An output missing at its path (a build to a new path) is copied from the
path it was recorded at, if that still holds the recorded bytes (checked on the bytes copied); an output there with
other bytes is built again, as is everything after any other difference. Only file outputs take part: a build that
writes a folder always builds.

A manifest is only ever a shortcut: one that is missing, too large, unreadable or malformed is reported in one
warning line and the build runs in full (and writes a sound one); ``--no-cache`` neither reads nor writes one.
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
from .output import atomic_path, copy_verified
from .reading import file_digest, open_regular

#: Bump when what a record means changes.
FORMAT = 1
#: A record larger than this is not read (a hostile or damaged file must not cost memory or time).
MAX_BYTES = 16 * 2**20
#: Records kept in the folder; the least recently written beyond this are removed.
KEEP = 64
FOLDER = "manifests"
#: Rewritten whenever a system library is installed or upgraded (Linux): Pango, HarfBuzz and fontconfig lay out the
#: books, and their versions are the system's, not a package's. Where it does not exist the key cannot see them.
SYSTEM_LIBRARIES = "/etc/ld.so.cache"
#: Libraries whose version changes output but which qaexport does not require by name.
EXTRA_LIBRARIES = ("ziafont",)


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


def versions() -> dict[str, str]:
    """Python's, qaexport's and every library qaexport requires (from their metadata: nothing imported), and a
    stamp of qaexport's own files (an editable install keeps its version number while its code changes)."""
    import importlib.metadata as metadata
    import re

    out = {"python": sys.version}
    try:
        out["qaexport"] = metadata.version("qaexport")
        required = [r for r in metadata.requires("qaexport") or () if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        required = []
    for name in [re.split(r"[\s<>=!~\[;(]", r, maxsplit=1)[0] for r in required] + list(EXTRA_LIBRARIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    plugins = metadata.entry_points()
    for group in ("qaexport.sources", "qaexport.exporters"):
        for ep in plugins.select(group=group):
            out[f"{group}:{ep.name}"] = f"{ep.value} {ep.dist.name if ep.dist else ''} " \
                                        f"{ep.dist.version if ep.dist else ''}"
    out["files"] = package_stamp()
    out["system libraries"] = _stamp_of(SYSTEM_LIBRARIES)
    return out


def _stamp_of(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "absent"
    return f"{info.st_size} {info.st_mtime_ns} {info.st_ino}"


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
        name = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.path = Path(folder) / FOLDER / f"{name}.json"

    def load(self) -> Record | None:
        """The record for this key, or None (none yet; anything wrong with it is one warning line)."""
        try:
            with open_regular(self.path) as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > MAX_BYTES:
                    return self._unusable(f"{size:,} bytes, over the {MAX_BYTES >> 20} MiB a manifest may have")
                raw = fh.read(MAX_BYTES + 1)
        except (InputError, OSError):  # missing (the usual case) or unreadable: a build runs either way
            if os.path.lexists(self.path):
                return self._unusable("cannot be read")
            return None
        try:
            refuse_dense(raw, "a build manifest")  # under MAX_BYTES, tiny values would still parse into ~26x
            data = json.loads(raw)
            record = Record(data["key"], data["stem"], dict(data["inputs"]), dict(data["listings"]),
                            list(data["state"]), [Output(o["path"], o["digest"]) for o in data["outputs"]])
            if data.get("format") != FORMAT or not isinstance(record.stem, str) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in record.inputs.items()) or not all(
                    isinstance(k, str) and isinstance(v, list) and all(isinstance(f, str) for f in v)
                    for k, v in record.listings.items()) or not all(isinstance(s, str) for s in record.state) or \
                    not all(isinstance(o.path, str) and os.path.isabs(o.path) and isinstance(o.digest, str)
                            for o in record.outputs):
                raise ValueError("unexpected values")
        except BankError as exc:
            return self._unusable(str(exc))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            return self._unusable(f"malformed ({type(exc).__name__})")
        return record if record.key == self.key else None

    def _unusable(self, why: str) -> None:
        self.warn(f"build manifest {self.path}: {why}; building in full (it is written again)")
        return None

    def up_to_date(self, record: Record, targets: list[Path], state: list[str]) -> list[tuple[Path, str]] | None:
        """Whether the build ``record`` describes would write exactly what is there: each target with how it is
        satisfied ("unchanged", or "copied from PATH" once copied); None when anything differs (then nothing was
        copied that should not have been: a copy is a whole, verified output of the same build)."""
        if state != record.state or len(targets) != len(record.outputs) or None in state:
            return None
        from .sources import listing

        for folder, files in record.listings.items():
            if [os.path.abspath(f) for f in listing(Path(folder))] != files:
                return None
        plan: list[tuple[Path, Output, bool]] = []
        for target, out in zip(targets, record.outputs, strict=True):
            if os.path.lexists(target):
                if not _same_size(target, out.digest):
                    return None
                plan.append((target, out, False))
            elif Path(out.path) != Path(target).absolute() and _same_size(Path(out.path), out.digest):
                plan.append((target, out, True))
            else:
                return None
        for name, recorded in record.inputs.items():
            if recorded == "":
                if os.path.isfile(name):
                    return None
            elif not _same_size(Path(name), recorded) or file_digest(Path(name)) != recorded:
                return None
        if any(not copy and file_digest(target) != out.digest for target, out, copy in plan):
            return None
        done = []
        for target, out, copy in plan:
            if copy:
                if not copy_verified(Path(out.path), target, out.digest):
                    return None  # changed since it was checked: this target (and any after it) is built again
                done.append((target, f"copied from {out.path}"))
            else:
                done.append((target, "unchanged"))
        return done

    def save(self, record: Record) -> None:
        """Write ``record`` (atomically), then drop the oldest records beyond ``KEEP``. A folder that cannot be
        written only means the next build runs in full."""
        from .errors import OutputError

        data = json.dumps({"format": FORMAT, "key": record.key, "stem": record.stem, "inputs": record.inputs,
                           "listings": record.listings, "state": record.state,
                           "outputs": [{"path": o.path, "digest": o.digest} for o in record.outputs]}).encode()
        if len(data) > MAX_BYTES:
            return
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(data)
            kept = sorted(self.path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in kept[KEEP:]:
                old.unlink(missing_ok=True)
        except (OutputError, OSError):
            pass


def _same_size(path: Path, digest: str) -> bool:
    """The cheap check first: a regular file of the recorded size."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    import stat

    return stat.S_ISREG(info.st_mode) and digest.split(":", 1)[0] == str(info.st_size)
