"""The genanki side of the Anki exporter: reading a previous package and writing a new one.

Kept apart from ``anki`` so that genanki is imported only when a deck is written.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA

from ..errors import OutputError
from ..model import Library
from ..templates import asset
from . import Build
from .anki import FIELDS, MODEL_ID, MODEL_NAME, TEMPLATE_NAME, AnkiOptions, deck_id, deck_part


class Model(genanki.Model):
    """A genanki model whose modification time we choose (to keep it when nothing changed)."""

    mod: int | None = None

    def to_json(self, timestamp: float, deck_id: int) -> dict:
        return super().to_json(self.mod if self.mod is not None else timestamp, deck_id)


class Note(genanki.Note):
    """A note that carries its own modification time (genanki stamps one time on every note)."""

    mod: int = 0

    def write_to_db(self, cursor: sqlite3.Cursor, timestamp: float, deck_id: int, id_gen: Iterator[int]) -> None:
        super().write_to_db(cursor, self.mod or timestamp, deck_id, id_gen)

    def _check_invalid_html_tags_in_fields(self) -> None:
        """Skipped: fields come from our own renderer (escaped, allow-listed), and the check
        (a regex pass per field) is a fifth of the deck-writing time on large banks."""


@dataclass
class Previous:
    notes: dict[str, tuple[int, str, str]]  # guid -> (mod, flds, tags)
    model: dict | None


def read_previous(path: Path) -> Previous:
    try:
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as tmp:
            names = set(zf.namelist())
            name = next((n for n in ("collection.anki21", "collection.anki2") if n in names), None)
            if name is None:
                raise OutputError(f"{path}: not an Anki package (no collection inside); pass --previous or remove it")
            db = Path(tmp) / "c.db"
            db.write_bytes(zf.read(name))
            conn = sqlite3.connect(db)
            try:
                notes = {g: (m, f, t) for g, m, f, t in conn.execute("select guid, mod, flds, tags from notes")}
                models = json.loads(conn.execute("select models from col").fetchone()[0] or "{}")
            finally:
                conn.close()
    except (zipfile.BadZipFile, sqlite3.Error, OSError, ValueError, TypeError) as exc:
        raise OutputError(f"{path}: cannot read the previous deck ({exc}); pass --previous or remove it") from None
    return Previous(notes, models.get(str(MODEL_ID)))


def write_collection(cursor: sqlite3.Cursor, model: Model, decks: list[genanki.Deck], now: int) -> None:
    """genanki's Package.write_to_db, but decks and models are stored once, not re-encoded per deck
    (which is quadratic in the number of decks)."""
    cursor.executescript(APKG_SCHEMA)
    cursor.executescript(APKG_COL)
    stored = json.loads(cursor.execute("select decks from col").fetchone()[0])
    stored.update({str(d.deck_id): d.to_json() for d in decks})
    models = {str(model.model_id): model.to_json(now, decks[0].deck_id)}
    cursor.execute("update col set decks = ?, models = ?", (json.dumps(stored), json.dumps(models)))
    id_gen = itertools.count(now * 1000)
    for deck in decks:
        for note in deck.notes:
            note.write_to_db(cursor, now, deck.deck_id, id_gen)


def note_mod(previous: Previous, note: genanki.Note, now: int) -> int:
    old = previous.notes.get(note.guid)
    if old is None:
        return now
    old_mod, old_fields, old_tags = old
    if old_fields == "\x1f".join(note.fields) and old_tags.split() == note.tags:
        return old_mod  # unchanged: Anki leaves the learner's note alone
    return max(now, old_mod + 1)  # changed: must be newer than what the learner has


def note_type(build: Build, previous: Previous, now: int) -> Model:
    hl = build.highlighter
    css = asset("anki", "card.css") + f"\n/* code theme: {hl.themes[0].name} */\n"
    css += hl.css(0, ".card", portable=True)
    if len(hl.themes) > 1:
        css += f"/* night theme: {hl.themes[1].name} */\n"
        css += hl.css(1, ".nightMode", portable=True) + hl.css(1, ".night_mode", portable=True)
    templates = [{"name": TEMPLATE_NAME, "qfmt": asset("anki", "front.html"), "afmt": asset("anki", "back.html")}]
    model = Model(MODEL_ID, MODEL_NAME, fields=[{"name": f} for f in FIELDS], templates=templates, css=css,
                   sort_field_index=0)
    old = previous.model
    if old:
        unchanged = old.get("css") == css and [(t.get("qfmt"), t.get("afmt")) for t in old.get("tmpls", [])] \
            == [(t["qfmt"], t["afmt"]) for t in templates]
        old_mod = int(old.get("mod", 0))
        # Like notes: keep the time when nothing changed, else be newer than the learner's copy.
        model.mod = old_mod if unchanged else max(now, old_mod + 1)
    return model


def _deck(name: str, description: str) -> genanki.Deck:
    # Anki shows a deck description as HTML: the content's text must stay text.
    return genanki.Deck(deck_id(name), name, escape(description, quote=False))


def decks_for(library: Library, options: AnkiOptions) -> dict[tuple, genanki.Deck]:
    """Decks by (framework, topic, subtopic) slugs; () is the root. Parents carry descriptions."""
    several = len(library.frameworks) > 1
    default_root = "Interview Questions" if several else library.frameworks[0].name
    root_name = deck_part(options.deck_name or default_root)
    root_desc = "" if several else library.frameworks[0].description
    decks: dict[tuple, genanki.Deck] = {(): _deck(root_name, root_desc)}
    if options.flat:
        return decks
    for fw, topic, sub in library.subtopics():
        parts = [root_name] + ([deck_part(fw.name)] if several else [])
        if several and (fw.slug,) not in decks:
            name = "::".join(parts)
            decks[(fw.slug,)] = _deck(name, fw.description)
        if (fw.slug, topic.slug) not in decks:
            name = "::".join([*parts, deck_part(topic.name)])
            decks[(fw.slug, topic.slug)] = _deck(name, topic.description)
        name = "::".join([*parts, deck_part(topic.name), deck_part(sub.name)])
        decks[(fw.slug, topic.slug, sub.slug)] = _deck(name, sub.description)
    return decks
