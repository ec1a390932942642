"""Anki's collection database (schema 11, the format every Anki since 2.1 imports), written directly.

Why our own writer: genanki's package writer stamps one time on every note (Anki then
overwrites a learner's edits on unchanged notes) and re-encodes every deck per deck
(quadratic). The tables and the initial ``col`` row below are Anki's schema 11 as Anki
2.1 created it (the same text genanki ships), so a package imports in Anki 2.1.50 through
today's releases. GUIDs stay genanki's ``guid_for`` (``identity``), which the tests check.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ... import scratch
from ...errors import InputError, OutputError, shown
from ...formats.anki_archive import PackageArchive
from ...formats.anki_key import parse_key_field
from ...limits import mib
from .identity import (
    CLOZE_FIELDS,
    CLOZE_MODEL_ID,
    CLOZE_MODEL_NAME,
    CLOZE_TEMPLATE_NAME,
    FIELDS,
    MODEL_ID,
    MODEL_NAME,
    TEMPLATE_NAME,
)
from .ledger import Version, fingerprint

SCHEMA = """
CREATE TABLE col (
    id              integer primary key,
    crt             integer not null,
    mod             integer not null,
    scm             integer not null,
    ver             integer not null,
    dty             integer not null,
    usn             integer not null,
    ls              integer not null,
    conf            text not null,
    models          text not null,
    decks           text not null,
    dconf           text not null,
    tags            text not null
);
CREATE TABLE notes (
    id              integer primary key,   /* 0 */
    guid            text not null,         /* 1 */
    mid             integer not null,      /* 2 */
    mod             integer not null,      /* 3 */
    usn             integer not null,      /* 4 */
    tags            text not null,         /* 5 */
    flds            text not null,         /* 6 */
    sfld            integer not null,      /* 7 */
    csum            integer not null,      /* 8 */
    flags           integer not null,      /* 9 */
    data            text not null          /* 10 */
);
CREATE TABLE cards (
    id              integer primary key,   /* 0 */
    nid             integer not null,      /* 1 */
    did             integer not null,      /* 2 */
    ord             integer not null,      /* 3 */
    mod             integer not null,      /* 4 */
    usn             integer not null,      /* 5 */
    type            integer not null,      /* 6 */
    queue           integer not null,      /* 7 */
    due             integer not null,      /* 8 */
    ivl             integer not null,      /* 9 */
    factor          integer not null,      /* 10 */
    reps            integer not null,      /* 11 */
    lapses          integer not null,      /* 12 */
    left            integer not null,      /* 13 */
    odue            integer not null,      /* 14 */
    odid            integer not null,      /* 15 */
    flags           integer not null,      /* 16 */
    data            text not null          /* 17 */
);
CREATE TABLE revlog (
    id              integer primary key,
    cid             integer not null,
    usn             integer not null,
    ease            integer not null,
    ivl             integer not null,
    lastIvl         integer not null,
    factor          integer not null,
    time            integer not null,
    type            integer not null
);
CREATE TABLE graves (
    usn             integer not null,
    oid             integer not null,
    type            integer not null
);
"""

# Built after the rows are in: one sorted build per index instead of 20,000 B-tree inserts each.
INDEXES = """
CREATE INDEX ix_notes_usn on notes (usn);
CREATE INDEX ix_cards_usn on cards (usn);
CREATE INDEX ix_revlog_usn on revlog (usn);
CREATE INDEX ix_cards_nid on cards (nid);
CREATE INDEX ix_cards_sched on cards (did, queue, due);
CREATE INDEX ix_revlog_cid on revlog (cid);
CREATE INDEX ix_notes_csum on notes (csum);
"""

# The ``col`` row of a new collection: collection, deck and scheduling defaults.
INITIAL_COL = r"""
INSERT INTO col VALUES(
    null,
    1411124400,
    1425279151694,
    1425279151690,
    11,
    0,
    0,
    0,
    '{
        "activeDecks": [
            1
        ],
        "addToCur": true,
        "collapseTime": 1200,
        "curDeck": 1,
        "curModel": "1425279151691",
        "dueCounts": true,
        "estTimes": true,
        "newBury": true,
        "newSpread": 0,
        "nextPos": 1,
        "sortBackwards": false,
        "sortType": "noteFld",
        "timeLim": 0
    }',
    '{}',
    '{
        "1": {
            "collapsed": false,
            "conf": 1,
            "desc": "",
            "dyn": 0,
            "extendNew": 10,
            "extendRev": 50,
            "id": 1,
            "lrnToday": [
                0,
                0
            ],
            "mod": 1425279151,
            "name": "Default",
            "newToday": [
                0,
                0
            ],
            "revToday": [
                0,
                0
            ],
            "timeToday": [
                0,
                0
            ],
            "usn": 0
        }
    }',
    '{
        "1": {
            "autoplay": true,
            "id": 1,
            "lapse": {
                "delays": [
                    10
                ],
                "leechAction": 0,
                "leechFails": 8,
                "minInt": 1,
                "mult": 0
            },
            "maxTaken": 60,
            "mod": 0,
            "name": "Default",
            "new": {
                "bury": true,
                "delays": [
                    1,
                    10
                ],
                "initialFactor": 2500,
                "ints": [
                    1,
                    4,
                    7
                ],
                "order": 1,
                "perDay": 20,
                "separate": true
            },
            "replayq": true,
            "rev": {
                "bury": true,
                "ease4": 1.3,
                "fuzz": 0.05,
                "ivlFct": 1,
                "maxIvl": 36500,
                "minSpace": 1,
                "perDay": 100
            },
            "timer": 0,
            "usn": 0
        }
    }',
    '{}'
);
"""

#: Which fields each template needs to make a card: the front shows Question, Difficulty and Source.
_REQUIRED = [[0, "any", [0, 2, 3]]]
_LATEX_PRE = (
    "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n\\usepackage[utf8]{inputenc}\n"
    "\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n"
    "\\begin{document}\n"
)
_LATEX_POST = "\\end{document}"

#: The note types' entries among note versions (see ``ledger``).
NOTETYPE_KEY = f"notetype:{MODEL_ID}"
CLOZE_NOTETYPE_KEY = f"notetype:{CLOZE_MODEL_ID}"


@dataclass(frozen=True)
class Deck:
    id: int
    name: str
    description: str = ""

    def to_json(self) -> dict:
        """A deck entry as Anki 2.1 stores it (schema 11 keeps decks as JSON in ``col``)."""
        return {
            "collapsed": False, "conf": 1, "desc": self.description, "dyn": 0, "extendNew": 0, "extendRev": 50,
            "id": self.id, "lrnToday": [163, 2], "mod": 1425278051, "name": self.name, "newToday": [163, 2],
            "revToday": [163, 0], "timeToday": [163, 23598], "usn": -1,
        }


@dataclass
class NoteRow:
    """One note and its cards: one (ord 0) for a Q&A note, one per deletion number for a cloze note (ord =
    number - 1). ``mod`` decides whether Anki updates a learner's copy."""

    guid: str
    fields: list[str]
    tags: list[str]
    sort_field: str
    deck_id: int
    mod: int = 0
    due: int = 0
    model_id: int = MODEL_ID
    ords: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class NoteType:
    """qaexport's Q&A note type, or (``cloze``) its Cloze note type: the same CSS and fields but the text."""

    css: str
    front: str
    back: str
    mod: int
    cloze: bool = False

    @property
    def id(self) -> int:
        return CLOZE_MODEL_ID if self.cloze else MODEL_ID

    def to_json(self, deck_id: int) -> dict:
        names = CLOZE_FIELDS if self.cloze else FIELDS
        fields = [{"name": name, "ord": i, "font": "Liberation Sans", "media": [], "rtl": False, "size": 20,
                   "sticky": False} for i, name in enumerate(names)]
        template = {"name": CLOZE_TEMPLATE_NAME if self.cloze else TEMPLATE_NAME, "qfmt": self.front,
                    "afmt": self.back, "ord": 0, "bafmt": "", "bqfmt": "", "bfont": "", "bsize": 0, "did": None}
        return {
            "css": self.css, "did": deck_id, "flds": fields, "id": str(self.id), "latexPost": _LATEX_POST,
            "latexPre": _LATEX_PRE, "latexsvg": False, "mod": self.mod,
            "name": CLOZE_MODEL_NAME if self.cloze else MODEL_NAME, "req": [] if self.cloze else _REQUIRED,
            "sortf": 0, "tags": [], "tmpls": [template], "type": 1 if self.cloze else 0, "usn": -1, "vers": [],
        }


def write_collection(db_path: Path, note_types: list[NoteType], decks: list[Deck], notes: list[NoteRow], now: int,
                     label: str = "", first_id: int | None = None) -> None:
    """A complete collection: schema, defaults, the note types, decks, then each note with its cards (note ``i``
    gets id ``first_id + 2i``; by default ``first_id`` is ``now`` in milliseconds). SQLite's own failures (disk
    full, read-only folder) become one-line output errors."""
    try:
        _write_collection(db_path, note_types, decks, notes, now, now * 1000 if first_id is None else first_id)
    except sqlite3.Error as exc:
        raise OutputError(f"{label or db_path}: write failed ({exc}); the previous file is unchanged") from None


def _write_collection(db_path: Path, note_types: list[NoteType], decks: list[Deck], notes: list[NoteRow],
                      now: int, first: int) -> None:
    conn = sqlite3.connect(db_path)
    try:
        cursor = conn.cursor()
        # A scratch file that is zipped or thrown away: no journal, no fsync. Notes hold KiBs of HTML:
        # 16 KiB pages keep most in one page (4 KiB pages made inserting 10,000 notes 4x slower).
        cursor.execute("PRAGMA page_size=16384")
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.executescript(SCHEMA)
        cursor.executescript(INITIAL_COL)
        stored = json.loads(cursor.execute("select decks from col").fetchone()[0])
        stored.update({str(d.id): d.to_json() for d in decks})
        models = {str(t.id): t.to_json(decks[0].id) for t in note_types}
        cursor.execute("update col set decks = ?, models = ?", (json.dumps(stored), json.dumps(models)))
        cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?);", (
            (first + 2 * i, note.guid, note.model_id, note.mod, -1, " " + " ".join(note.tags) + " ",
             "\x1f".join(note.fields), note.sort_field, 0, 0, "") for i, note in enumerate(notes)))
        # A new card: type 0, queue 0; ``due`` is its position among new cards. A note's first card has id
        # first + 2i + 1; a cloze note's further cards take ids after all of those.
        extra = iter(range(first + 2 * len(notes), first + 2 * len(notes) + sum(len(n.ords) for n in notes)))
        cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?);", (
            (first + 2 * i + 1 if k == 0 else next(extra), first + 2 * i, note.deck_id, ord_, note.mod, -1, 0, 0,
             note.due, 0, 0, 0, 0, 0, 0, 0, 0, "")
            for i, note in enumerate(notes) for k, ord_ in enumerate(note.ords)))
        cursor.executescript(INDEXES)
        conn.commit()
    finally:
        conn.close()


#: The note types' and decks' JSON of a previous package is read whole: bounded before it is (a real one is some
#: KiB).
MAX_MODELS_BYTES = 16 * 2**20


class Previous(dict[str, Version]):
    """The versions an earlier package handed out (GUID, or ``NOTETYPE_KEY`` → version) and the deck each note's
    cards were in (GUID → deck name; import never moves a card: a deck a learner's cards are in stays theirs)."""

    decks: dict[str, str]
    keys: dict[str, str]  # GUID → the question key the note's Key field gave (``renames`` compares them)
    path: Path


def read_previous(path: Path, advice: str = "name an earlier .apkg of this deck") -> Previous:
    """The versions an earlier package handed out: per note GUID, and for the note type
    (``NOTETYPE_KEY``), the content fingerprint and time; and the name of the deck each note's first card is in.
    The package is opened the way the ``.apkg`` source opens one (``formats.anki_archive``): checked and streamed
    with caps, whatever file ``path`` turns out to be. ``advice`` ends the error: what to do depends on whether
    ``path`` is ``--previous`` or the output file itself (the caller knows)."""
    def cannot(reason: str) -> OutputError:
        # The archive's own advice is for a deck to read questions from ("export the deck from Anki"): only its
        # reason is kept here.
        return OutputError(f"{path}: cannot read the previous deck ({reason.split('; ', 1)[0]}); {advice}")

    try:
        with PackageArchive.open(path) as archive, scratch.folder("previous") as tmp:
            db = Path(tmp) / "c.db"
            archive.extract_collection(db)
            conn = sqlite3.connect(db)
            try:
                rows = conn.execute("select guid, mod, flds, tags from notes").fetchall()
                notes = Previous({g: Version(note_fingerprint(f.split("\x1f"), t.split()), int(m))
                                  for g, m, f, t in rows})
                notes.path = path
                notes.keys = {g: key for g, _m, f, _t in rows if (key := field_key(f.split("\x1f")))}
                for column, what in (("models", "note types"), ("decks", "decks")):
                    size = conn.execute(f"select length({column}) from col").fetchone()[0] or 0
                    if size > MAX_MODELS_BYTES:
                        raise cannot(f"its {what} take {mib(size)}, over {mib(MAX_MODELS_BYTES)}")
                models = json.loads(conn.execute("select models from col").fetchone()[0] or "{}")
                deck_names = {str(k): d.get("name", "") for k, d in
                              json.loads(conn.execute("select decks from col").fetchone()[0] or "{}").items()}
                notes.decks = {}
                for guid, did in conn.execute("select n.guid, c.did from cards c join notes n on n.id = c.nid "
                                              "order by c.nid, c.ord desc"):
                    notes.decks[guid] = deck_names.get(str(did), "")  # the last write is the first card's
            finally:
                conn.close()
        for model_id, key in ((MODEL_ID, NOTETYPE_KEY), (CLOZE_MODEL_ID, CLOZE_NOTETYPE_KEY)):
            model = models.get(str(model_id))
            if model:
                templates = [(t.get("qfmt", ""), t.get("afmt", "")) for t in model.get("tmpls", [])]
                parts = [model.get("css", ""), *(x for pair in templates for x in pair)]
                notes[key] = Version(fingerprint(*parts), int(model.get("mod", 0)))
    except InputError as exc:  # refused by the package checks (not a zip, a zip bomb, not a regular file...)
        raise cannot(exc.problem.message) from None
    except ImportError:
        raise cannot("it is a current-format package; reading one needs the apkg extra: "
                     "pip install 'qaexport[apkg]'") from None
    except (sqlite3.Error, OSError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise cannot(shown(str(exc), 120).strip("'")) from None
    return notes


def field_key(fields: list[str]) -> str | None:
    """The question key a qaexport note's Key field (the last of both note types' fields) gives, else None."""
    parsed = parse_key_field(fields[-1]) if len(fields) == len(FIELDS) else None
    return parsed[0] if parsed else None


def note_fingerprint(fields: list[str], tags: list[str]) -> str:
    """What Anki replaces when it updates a note: its fields and tags (cards keep their deck)."""
    return fingerprint("\x1f".join(fields), " ".join(tags))

