"""A persistent render cache: rebuilding an unchanged bank renders nothing.

Rendering (Markdown parsing and Pygments lexing) is most of a run's work, and its result
depends only on the texts, their content format, the renderer (our code and the library
versions) and, for the compact scheme, which classes the active themes give each token type.
All of that goes into an entry's key; nothing else (output path, options, clock) does, so a
rebuild to any output path finds its entries.

Storage is one SQLite table in WAL mode in the user's cache folder: two concurrent runs read
in parallel and their write transactions queue (busy timeout); each run's writes are one
atomic transaction. Each entry carries a CRC of its text: a corrupt or truncated entry is a
miss and is overwritten; an unreadable database file is removed and rebuilt; if even that
fails, the run goes on without the cache. The cache can never change what is written, only
how fast. Size is bounded: past ``max_bytes`` the least recently used entries are dropped
(access times are coarse, so a warm rebuild writes nothing).

It never waits for the disk (``PRAGMA synchronous=OFF``): a cold run creating the database waited 15-50 ms
for fsyncs (the switch to WAL, the first commit) and 13-60 ms more closing it (the checkpoint), on the
critical path of every cold build (an EPUB of 560 questions takes ~0.5 s), to keep nobody's data. What a
crashed run leaves is safe unsynced (SQLite's own guarantee); what a crashed machine may leave is an older
page or a damaged file. An older page is still right, as a key's text never changes (the key is a digest
of everything the HTML depends on); a torn entry fails its CRC (a miss); a damaged file is found and
rebuilt. The worst is a slower next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: Bump when rendering changes in a way the source hash below cannot see (e.g. a template of the renderer's
#: output moved elsewhere). Any edit to ``qaexport/render/*.py`` already invalidates the cache by itself.
RENDERER_VERSION = 1
#: Libraries whose version changes the rendered HTML: the name in the key (the module's) → the distribution whose
#: installed metadata gives the version (read there, not from the module: importing the math libraries for their
#: ``__version__`` cost a tenth of a small book's run, formulas or not).
_LIBRARIES = {"markdown_it": "markdown-it-py", "pygments": "pygments", "nh3": "nh3",
              "mdit_py_plugins": "mdit-py-plugins", "latex2mathml": "latex2mathml", "ziamath": "ziamath",
              "ziafont": "ziafont"}
#: Modules outside ``render/`` whose code decides the rendered HTML: the Markdown dialect and its syntaxes, the
#: HTML sanitiser.
_SYNTAX_MODULES = ("dialect.py", "cloze.py", "math.py", "html.py")
_SCHEMA_VERSION = 1  # the table layout below; a different one is dropped and rebuilt
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
DB_NAME = "render-cache.sqlite3"
_TOUCH_AFTER = 3600  # seconds: a hit refreshes its access time at most hourly (LRU granularity)
_TABLE = """CREATE TABLE IF NOT EXISTS entries (
    key BLOB PRIMARY KEY,   -- digest of (renderer version, scheme mapping, format, texts)
    question BLOB NOT NULL, -- UTF-8 HTML
    answer BLOB NOT NULL,
    crc INTEGER NOT NULL,   -- zlib.crc32 of question + answer: a damaged entry is a miss
    size INTEGER NOT NULL,
    atime INTEGER NOT NULL
) WITHOUT ROWID"""


def _damaged(exc: sqlite3.Error) -> bool:
    """A damaged file (rebuild it), as opposed to a busy or unwritable one (leave it alone: another run may
    be using it)."""
    name = getattr(exc, "sqlite_errorname", "")
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def default_folder() -> Path:
    """The user's cache folder for qaexport (XDG_CACHE_HOME on Linux, the platform's own elsewhere)."""
    from platformdirs import user_cache_path

    return user_cache_path("qaexport", appauthor=False)


@cache
def renderer_version() -> str:
    """What makes rendered HTML differ besides the texts: our version constant, our renderer's source
    and the versions of the libraries it calls."""
    parts = [f"qaexport-render-{RENDERER_VERSION}", f"python-{sys.version_info[0]}.{sys.version_info[1]}"]
    for name, distribution in _LIBRARIES.items():
        try:
            parts.append(f"{name}-{version(distribution)}")
        except PackageNotFoundError:
            parts.append(f"{name}-absent")
    source = hashlib.blake2b(digest_size=16)
    formats = Path(__file__).parent.parent / "formats"
    for path in [*sorted(Path(__file__).parent.glob("*.py")), *(formats / name for name in _SYNTAX_MODULES)]:
        source.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    parts.append(source.hexdigest())
    return "\n".join(parts)


def entry_key(prefix: bytes, fmt: str, question: str, answer: str) -> bytes:
    """The key of one question's texts under one scheme; lengths make the concatenation unambiguous."""
    h = hashlib.blake2b(prefix, digest_size=20)
    q, a = question.encode("utf-8", "surrogatepass"), answer.encode("utf-8", "surrogatepass")
    h.update(f"\0{fmt}\0{len(q)}\0".encode())
    h.update(q)
    h.update(f"\0{len(a)}\0".encode())
    h.update(a)
    return h.digest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0
    rebuilt: bool = False  # the database was unreadable and was started afresh
    disabled: str = ""  # why the cache was given up for this run ("" while it works)


class RenderCache:
    """Rendered (question, answer) HTML by :func:`entry_key`. Every failure degrades to a miss."""

    def __init__(self, folder: Path, clock: Callable[[], float], max_bytes: int = DEFAULT_MAX_BYTES,
                 timeout: float = 30.0) -> None:
        """``clock``: the wall clock for access times (the CLI passes it; never the build's fixed clock,
        which SOURCE_DATE_EPOCH may pin)."""
        self.folder = Path(folder)
        self.clock = clock
        self.path = self.folder / DB_NAME
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.stats = CacheStats()
        self._conn: sqlite3.Connection | None = None
        self._stale: list[bytes] = []  # hits whose access time is due a refresh

    # --- connection, with one rebuild on damage ---------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """Open (and if new, create) the database. Two runs creating it at once: SQLite answers "database is
        locked" at once, without waiting on its busy handler, to the one whose switch to WAL meets the other's
        (seen in the concurrent-runs test on an idle machine); the other is done in milliseconds, so try again
        until the busy timeout, as the ledger does."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self._connect_once()
            except sqlite3.OperationalError as exc:
                if not any(word in str(exc) for word in ("locked", "busy")) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _connect_once(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            conn.execute("PRAGMA page_size=16384")  # entries are KiBs of HTML: fewer overflow pages (new files only)
            # No fsync (set before the switch to WAL, which would sync): see the module's docstring.
            conn.execute("PRAGMA synchronous=OFF")
            if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                raise sqlite3.DatabaseError("cannot switch the cache to WAL mode")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != _SCHEMA_VERSION:
                with _transaction(conn):
                    if conn.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                        conn.execute("DROP TABLE IF EXISTS entries")
                        conn.execute(_TABLE)
                        conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            conn.execute("SELECT count(*) FROM (SELECT 1 FROM entries LIMIT 1)").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection | None:
        if self._conn is not None or self.stats.disabled:
            return self._conn
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            if _damaged(exc):  # not a database, malformed, truncated: start afresh
                self._rebuild()
            else:  # busy past the timeout, read-only, …: render without the cache
                self.stats.disabled = f"cannot open {self.path} ({exc})"
        except OSError as exc:
            self.stats.disabled = f"cannot open {self.path} ({exc})"
        return self._conn

    def _rebuild(self) -> None:
        """Remove a damaged database and start an empty one (a concurrent run keeps its own open file)."""
        self.close()
        self.stats.rebuilt = True
        try:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
            self._conn = self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._conn = None
            self.stats.disabled = f"cannot rebuild {self.path} ({exc})"

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    # --- reads and writes ---------------------------------------------------------------------------

    def finds_nothing(self) -> bool:
        """Whether a lookup would find nothing: the cache holds no entry (new or emptied) or cannot be opened (it is
        then not used). A run that finds nothing need not make its keys before it renders. A concurrent run storing
        entries meanwhile only costs this one their rendering."""
        conn = self._open()
        if conn is None:
            return True
        try:
            return conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is None
        except sqlite3.Error:
            return False  # damaged: get_many finds out and rebuilds, as before

    def get_many(self, keys: Iterable[bytes]) -> dict[bytes, tuple[str, str]]:
        """The intact entries among ``keys``; damaged ones count as misses (and are rewritten by ``put_many``)."""
        keys = list(dict.fromkeys(keys))
        found: dict[bytes, tuple[str, str]] = {}
        for attempt in range(2):
            conn = self._open()
            if conn is None:
                break
            try:
                found = self._select(conn, keys)
                break
            except sqlite3.Error as exc:
                if attempt == 0 and _damaged(exc):
                    self._rebuild()
                    continue
                self.stats.disabled = f"cache not readable ({exc})"  # e.g. locked past the timeout: render
                break
        self.stats.hits += len(found)
        self.stats.misses += len(keys) - len(found)
        return found

    def _select(self, conn: sqlite3.Connection, keys: list[bytes]) -> dict[bytes, tuple[str, str]]:
        found: dict[bytes, tuple[str, str]] = {}
        stale_before = int(self.clock()) - _TOUCH_AFTER
        self._stale = []
        step = 500  # stays under SQLite's bound-parameter limit
        for i in range(0, len(keys), step):
            batch = keys[i:i + step]
            rows = conn.execute(
                f"SELECT key, question, answer, crc, atime FROM entries WHERE key IN ({','.join('?' * len(batch))})",
                batch)
            for key, q, a, crc, atime in rows:
                if not isinstance(q, bytes) or not isinstance(a, bytes) or zlib.crc32(a, zlib.crc32(q)) != crc:
                    continue
                try:
                    found[key] = (q.decode("utf-8"), a.decode("utf-8"))
                except UnicodeDecodeError:
                    continue
                if atime < stale_before:
                    self._stale.append(key)
        return found

    def put_many(self, entries: dict[bytes, tuple[str, str]]) -> None:
        """Store new entries and refresh the access time of old hits, in one transaction; then evict."""
        if not entries and not self._stale:
            return
        conn = self._open()
        if conn is None:
            return
        now = int(self.clock())
        rows = []
        for key, (q, a) in entries.items():
            qb, ab = q.encode("utf-8", "surrogatepass"), a.encode("utf-8", "surrogatepass")
            rows.append((key, qb, ab, zlib.crc32(ab, zlib.crc32(qb)), len(qb) + len(ab) + len(key), now))
        try:
            with _transaction(conn):
                conn.executemany("INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?)", rows)
                conn.executemany("UPDATE entries SET atime = ? WHERE key = ?", ((now, k) for k in self._stale))
            self.stats.stored += len(rows)
            self._stale = []
            self._evict(conn)
        except sqlite3.Error as exc:
            if _damaged(exc):
                self._rebuild()  # damaged under us: the next run starts from an empty cache
            else:
                self.stats.disabled = f"cache not written ({exc})"

    def _evict(self, conn: sqlite3.Connection) -> None:
        """Drop least recently used entries until the stored texts fit in ``max_bytes`` (with 10 % slack)."""
        pages, free, page_size = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                                  for p in ("page_count", "freelist_count", "page_size"))
        if (pages - free) * page_size <= self.max_bytes:
            return
        with _transaction(conn):
            total = conn.execute("SELECT coalesce(sum(size), 0) FROM entries").fetchone()[0]
            goal = int(self.max_bytes * 0.9)
            if total <= goal:
                return
            doomed = []
            for key, size in conn.execute("SELECT key, size FROM entries ORDER BY atime, key"):
                if total <= goal:
                    break
                doomed.append((key,))
                total -= size
            conn.executemany("DELETE FROM entries WHERE key = ?", doomed)
        self.stats.evicted += len(doomed)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def total_bytes(self) -> int:
        conn = self._open()
        return conn.execute("SELECT coalesce(sum(size), 0) FROM entries").fetchone()[0] if conn else 0


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """An immediate (write-locking) transaction: concurrent writers queue instead of failing mid-way."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
