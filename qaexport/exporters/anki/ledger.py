"""The note-time ledger: what each note looked like when qaexport last wrote it, and the time it carried.

Anki's importer updates a note only when the package's modification time is newer than the
learner's copy; an update overwrites the learner's own edits. So a note's time must change
exactly when its content changes, whatever path or filter an export uses. A previous package
only knows the notes it held; this ledger remembers every note ever exported on this machine:

    id (note GUID, or ``notetype:<id>``) → fingerprint of the content → time

``note_times`` is the one entry point: for each note it takes the newest version known, from
the ledger and from any previous package. Same content → that version's time; different
content → ``max(now, newest + 1)``. With ``SOURCE_DATE_EPOCH`` the same input and ledger give
the same times, so builds stay byte-identical.

A package this machine wrote is remembered by its file stamp (path, size, mtime, inode, ctime) and
the export that wrote it. While that file is unchanged and no note version of that export or later
has been pruned, every version it holds is in the ledger with at least its time, so reading it back
(a quarter of a 10,000-note rebuild) would change no time: ``holds_package`` says when to skip it.
Anything else (another file at that path, a touched or copied file, a pruned ledger) reads it.

The ledger also remembers what qaexport wrote into each note: a short fingerprint of every field value and
deck name any export or push gave it (``written``, at most ``MAX_WRITTEN`` per note, newest kept). ``qaexport
push`` compares a note in Anki with the bank: a value that differs but is one qaexport wrote is merely stale
(updated), one it never wrote is the learner's own edit (kept and reported). The ``.apkg`` exporter notices from
it when a note's deck changed since the last export (Anki's import never moves cards, so it says so).

Storage: SQLite (WAL) in the user's state folder, chosen by the CLI. Each export reads and writes
its rows in one ``BEGIN IMMEDIATE`` transaction, so overlapping runs take turns and never hand
two different contents the same time; a crash leaves the previous state. The ledger is bounded:
beyond ``MAX_ROWS`` the notes not exported for the longest time are forgotten. It is written
before the package: a time recorded for a package that then failed to write is still newer than
anything a learner holds, so it is harmless.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "anki-notes.sqlite3"
MAX_ROWS = 200_000
_BUSY_TIMEOUT_S = 60  # an overlapping export holds the lock for well under a second per 10,000 notes
_BUSY_STEP_S = 0.1  # waits in SQLite are this short, so Ctrl-C and SIGTERM are handled while waiting
_CHUNK = 500  # ids per SELECT (SQLite's variable limit is 999 in old builds)
#: Written-value fingerprints kept per note: every field and deck of its last dozen or so versions.
MAX_WRITTEN = 96

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS notes (
        id          TEXT PRIMARY KEY,   -- note GUID, or notetype:<id>
        fingerprint TEXT NOT NULL,      -- sha256 of the content Anki compares
        mod         INTEGER NOT NULL,   -- the time this content was given
        run         INTEGER NOT NULL,   -- the export that last wrote it (for pruning)
        written     TEXT NOT NULL DEFAULT ''  -- value fingerprints ever written into it, space-separated
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS notes_by_run ON notes (run)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS packages (
        path TEXT PRIMARY KEY,  -- resolved path of a package this ledger's exports wrote
        stamp TEXT NOT NULL,    -- size, mtime_ns, inode, ctime_ns just after it was written
        run INTEGER NOT NULL    -- the export whose versions it holds
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS note_types (
        id       TEXT PRIMARY KEY,  -- note GUID of a note that is, or once was, of a note type but the Q&A one
        model_id INTEGER NOT NULL   -- the note type it was last given
    ) WITHOUT ROWID""",
)


def location(state_dir: Path) -> Path:
    """The ledger file inside a state folder (``$QAEXPORT_STATE_DIR``, else the XDG state folder)."""
    return Path(state_dir) / FILE_NAME


def fingerprint(*parts: str) -> str:
    """A content fingerprint: what Anki would see change (fields and tags, or CSS and templates)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def value_fingerprint(name: str, value: str) -> str:
    """One written value (a field by its name, ``deck`` for the deck name, ``notetype`` for CSS + templates):
    64 bits, enough to tell a value qaexport wrote from a learner's among a note's few dozen."""
    return fingerprint(name, value)[:16]


@dataclass(frozen=True)
class Version:
    """A version of a note that some learner may hold: its content fingerprint and time."""

    fingerprint: str
    mod: int


def choose_time(current: str, known: list[Version], now: int) -> int:
    """The time for content ``current``, given the versions handed out before."""
    if not known:
        return now
    newest = max(v.mod for v in known)
    if all(v.fingerprint == current for v in known if v.mod == newest):
        return newest  # unchanged since the newest version: Anki leaves the learner's note alone
    return max(now, newest + 1)  # changed: must be newer than anything a learner may hold


class NoteTimes(dict[str, int]):
    """The time per id, the ledger's number for this export (None without a usable ledger), and the ids no
    source knew (``unknown``: new notes, or notes whose earlier package the export was not given).

    ``written``: per id, the fingerprints of the values qaexport wrote into it before this run and this run's
    (when ``written_of`` was given); ``fresh``: per id the ledger had values of, those new in this run (a deck
    that differs from every deck the note was ever given shows there); ``remembered``: the ids the ledger had
    written values of before this run (for the others, ``fresh`` cannot tell a change)."""

    run: int | None = None
    unknown: frozenset[str] = frozenset()
    remembered: frozenset[str] = frozenset()
    written: dict[str, tuple[str, ...]]  # oldest first
    fresh: dict[str, list[str]]


#: ``written_of(id, full)``: the value fingerprints a run writes into that note: all of them when ``full``, else
#: only the cheap ones (the deck).
WrittenOf = Callable[[str, bool], list[str]]


def note_times(ledger: Path | None, current: Mapping[str, str], previous: Mapping[str, Version], now: int,
               warn: Callable[[str], None] = lambda _m: None, written_of: WrittenOf | None = None,
               record: bool = True) -> NoteTimes:
    """The time for each id in ``current`` (id → fingerprint), from the ledger and ``previous`` (a previous
    package's versions); records the result in the ledger (unless ``record`` is false: a dry run). Without a
    usable ledger the previous package alone decides, and ``warn`` says so.

    ``written_of``: the value fingerprints this run writes into each note (see :func:`value_fingerprint`):
    all of them are asked for only when a note's content is new to the ledger or its values are not recorded
    yet, so a rebuild that changes nothing hashes no field."""

    def decide(recorded: Mapping[str, Version], stored: Mapping[str, str]) -> NoteTimes:
        times, unknown, remembered = NoteTimes(), [], []
        times.written, times.fresh = {}, {}
        for key, fp in current.items():
            known = [v for v in (recorded.get(key), previous.get(key)) if v is not None]
            times[key] = choose_time(fp, known, now)
            if not known:
                unknown.append(key)
            before = stored.get(key, "").split()
            if before:
                remembered.append(key)
            if written_of is not None:
                full = key not in recorded or recorded[key].fingerprint != fp or not before
                seen = set(before)
                new = [v for v in dict.fromkeys(written_of(key, full)) if v not in seen]
                if new and before:
                    times.fresh[key] = new
                before = [*before, *new][-MAX_WRITTEN:]
            times.written[key] = tuple(before)
        times.unknown, times.remembered = frozenset(unknown), frozenset(remembered)
        return times

    if ledger is None or (not record and not ledger.exists()):
        return decide({}, {})
    try:
        with _open(ledger) as conn:
            _begin(conn)
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                _upgrade(conn)
                recorded, stored, damaged = _read(conn, list(current))
                if damaged:
                    warn(f"{ledger}: {damaged:,} damaged row{'s' if damaged > 1 else ''} of the note-time ledger "
                         "ignored (a time that is not a number); this export writes them afresh")
                times = decide(recorded, stored)
                if record:
                    times.run = _write(conn, {k: Version(current[k], t) for k, t in times.items()},
                                       {k: " ".join(v) for k, v in times.written.items()})
                    conn.execute("COMMIT")
                else:
                    conn.execute("ROLLBACK")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return times
    except (sqlite3.Error, OSError) as exc:
        warn(f"{ledger}: note-time ledger unusable ({exc}); unchanged notes keep their time only if the output "
             "file or --previous holds them. Fix the file's folder or point QAEXPORT_STATE_DIR elsewhere")
        return decide({}, {})


def _upgrade(conn: sqlite3.Connection) -> None:
    """A ledger from before ``written`` gets the column (its notes' values are recorded as they are exported)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(notes)")}
    if "written" not in columns:
        conn.execute("ALTER TABLE notes ADD COLUMN written TEXT NOT NULL DEFAULT ''")


def note_type_changes(ledger: Path | None, types: Mapping[str, int], usual: int) -> dict[str, int]:
    """Notes whose note type differs from the one this ledger last gave them: GUID → that earlier type. ``types``
    is each note's type now. Only notes of a type other than ``usual`` (a cloze), or that once were, have a row:
    a note the ledger knows without one was of the usual type, so a bank of plain questions adds nothing. Call
    it before ``note_times`` records this export's notes. Records the types given now; rows of notes the ledger
    forgot go. An unusable ledger knows no change (the import itself still leaves the note)."""
    if ledger is None or not types or not ledger.exists():
        return {}
    changed: dict[str, int] = {}
    try:
        with _open(ledger) as conn:
            _begin(conn)
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                ids = list(types)
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i:i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = dict(conn.execute(f"SELECT id, model_id FROM note_types WHERE id IN ({marks})", chunk))
                    unusual = [key for key in chunk if key not in rows and types[key] != usual]
                    if unusual:  # exported before without a row: of the usual type then
                        marks = ",".join("?" * len(unusual))
                        rows.update((key, usual) for (key,) in conn.execute(
                            f"SELECT id FROM notes WHERE id IN ({marks})", unusual))
                    changed.update((key, model_id) for key, model_id in rows.items() if model_id != types[key])
                    conn.executemany("INSERT INTO note_types VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET "
                                     "model_id = excluded.model_id",
                                     [(key, types[key]) for key in chunk if types[key] != usual or key in rows])
                forgotten = [key for (key,) in conn.execute(
                    "SELECT id FROM note_types WHERE id NOT IN (SELECT id FROM notes)") if key not in types]
                conn.executemany("DELETE FROM note_types WHERE id = ?", [(key,) for key in forgotten])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    except (sqlite3.Error, OSError):
        return {}
    return changed


@contextlib.contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    conn = sqlite3.connect(path, timeout=_BUSY_STEP_S, isolation_level=None)
    try:
        with contextlib.suppress(sqlite3.OperationalError):  # e.g. a network file system: rollback journal
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        yield conn
    finally:
        conn.close()


def _begin(conn: sqlite3.Connection) -> None:
    """Take the write lock, waiting while another export holds it: runs take turns."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise


def _read(conn: sqlite3.Connection, ids: list[str]) -> tuple[dict[str, Version], dict[str, str], int]:
    """The recorded version of each id, the value fingerprints written into it (space-separated), and how many
    rows were damaged (a time that is not a whole number: SQLite keeps whatever was stored); those count as not
    recorded."""
    found: dict[str, Version] = {}
    written: dict[str, str] = {}
    damaged = 0
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for key, fp, mod, values in conn.execute(
                f"SELECT id, fingerprint, mod, written FROM notes WHERE id IN ({marks})", chunk):
            if type(mod) is not int or not isinstance(fp, str):
                damaged += 1
                continue
            found[key] = Version(fp, mod)
            if isinstance(values, str) and values:
                written[key] = values
    return found, written, damaged


def _number(value: object) -> int:
    """A counter read back from the ledger; a damaged one reads as 0."""
    return value if type(value) is int else 0


def _write(conn: sqlite3.Connection, versions: dict[str, Version], written: dict[str, str]) -> int:
    """Record this export's versions under a new run number (returned); prune the oldest beyond ``MAX_ROWS``."""
    runs = _number((conn.execute("SELECT value FROM meta WHERE key = 'runs'").fetchone() or (0,))[0])
    # A damaged counter restarts above every run recorded, so this run's rows are still the newest.
    last = _number(conn.execute("SELECT max(run) FROM notes WHERE typeof(run) = 'integer'").fetchone()[0])
    run = max(runs, last) + 1
    conn.execute("INSERT INTO meta VALUES ('runs', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (run,))
    conn.executemany(
        "INSERT INTO notes (id, fingerprint, mod, run, written) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "fingerprint = excluded.fingerprint, mod = excluded.mod, run = excluded.run, written = excluded.written",
        ((key, v.fingerprint, v.mod, run, written.get(key, "")) for key, v in versions.items()))
    excess = conn.execute("SELECT count(*) FROM notes").fetchone()[0] - MAX_ROWS
    if excess > 0:  # forget the notes exported longest ago, never this run's
        doomed = "SELECT id, run FROM notes WHERE run < ? ORDER BY run LIMIT ?"
        newest = conn.execute(f"SELECT max(run) FROM ({doomed})", (run, excess)).fetchone()[0]
        if newest is not None:  # None: this export alone holds more notes than the limit, and all of them stay
            conn.execute(f"DELETE FROM notes WHERE id IN (SELECT id FROM ({doomed}))", (run, excess))
            # A package holding a version of this run or earlier may now hold one the ledger forgot.
            conn.execute("INSERT INTO meta VALUES ('pruned', ?) ON CONFLICT(key) DO UPDATE SET "
                         "value = max(value, excluded.value)", (newest,))
    return run


def _stamp(path: Path) -> tuple[str, int] | None:
    """What changes whenever a file is replaced or rewritten (a copy keeping the mtime still gets a new
    inode and ctime), and its inode; None if it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_ctime_ns}", st.st_ino


def ledger_stamp(ledger: Path | None) -> str:
    """The stamps of the ledger's files (the database and its write-ahead log): every write changes one."""
    if ledger is None:
        return "no ledger"
    return " | ".join(str(_stamp(Path(f"{ledger}{end}")) or "absent") for end in ("", "-wal", "-journal"))


def record_package(ledger: Path | None, path: Path, run: int | None, inode: int) -> None:
    """Remember that the file now at ``path`` holds the versions of export ``run``, if it is still the file
    with ``inode`` that this export wrote (a concurrent export may have replaced it). Call it right after
    writing; failing to record only means the next export reads the file back."""
    stamp = _stamp(path)
    if ledger is None or run is None or stamp is None or stamp[1] != inode:
        return
    with contextlib.suppress(sqlite3.Error, OSError), _open(ledger) as conn:
        _begin(conn)
        try:
            conn.execute("INSERT INTO packages VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                         "stamp = excluded.stamp, run = excluded.run", (str(path.resolve()), stamp[0], run))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def holds_package(ledger: Path | None, path: Path) -> bool:
    """Whether the package at ``path`` is one an export recorded in this ledger wrote, unchanged since,
    with none of its versions pruned: then its versions are all in the ledger, none newer there than
    here, and reading it would not change a single time."""
    stamp = _stamp(path)
    if ledger is None or stamp is None or not ledger.exists():
        return False
    try:
        with _open(ledger) as conn:
            row = conn.execute("SELECT stamp, run FROM packages WHERE path = ?", (str(path.resolve()),)).fetchone()
            pruned = (conn.execute("SELECT value FROM meta WHERE key = 'pruned'").fetchone() or (0,))[0]
    except (sqlite3.Error, OSError):
        return False
    return row is not None and row[0] == stamp[0] and _number(pruned) < _number(row[1])
