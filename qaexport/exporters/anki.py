"""Anki deck (.apkg) through genanki.

Learners keep months of reviews on these notes, so identity is everything: the note
type id and its field/template names are frozen, GUIDs come from the stable key, deck
ids from the deck name. Anki's importer only updates a note whose modification time is
newer than its own, so unchanged notes keep the time they had in the previous package
and changed notes get a newer one.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..output import atomic_path, build_time, write_zip
from . import Build, option

# Frozen forever: changing any of these makes Anki fork the note type and orphan updates.
MODEL_ID = 1607392319
MODEL_NAME = "qaexport Q&A"
FIELDS = ("Question", "Answer", "Difficulty", "Source", "Key")
TEMPLATE_NAME = "Question → Answer"
GUID_NAMESPACE = "qaexport"


def deck_id(name: str) -> int:
    """Stable deck id from the full deck name (Python's hash() is salted per process)."""
    digest = int.from_bytes(hashlib.sha256(f"qaexport-deck:{name}".encode()).digest()[:8], "big")
    return (1 << 40) + digest % (1 << 52)


def note_guid(key: str) -> str:
    from genanki import guid_for

    return guid_for(GUID_NAMESPACE, key)


def deck_part(name: str) -> str:
    """A deck name component: '::' would nest, runs of whitespace are collapsed."""
    return " ".join(name.replace("::", ":").split()) or "Untitled"


@dataclass
class AnkiOptions:
    deck_name: str = option("", "Root deck name. Default: the framework's name (or 'Interview Questions').")
    flat: bool = option(False, "Put every note in the root deck instead of Topic::Subtopic subdecks.")
    previous: Path | None = option(
        None, "Earlier .apkg whose note times to keep for unchanged notes. Default: the output file if it exists.")


class AnkiExporter:
    """Write an Anki deck (.apkg): subdecks per topic/subtopic, difficulty tags, safe to re-import."""

    name = "anki"
    suffix = ".apkg"
    html_scheme = "portable"
    description = "Anki deck for desktop Anki, AnkiDroid and AnkiMobile"
    Options = AnkiOptions

    def export(self, build: Build, options: AnkiOptions, target: Path) -> None:
        from . import anki_package as pkg  # imports genanki: only when a deck is written

        previous_path = options.previous or (target if target.exists() else None)
        previous = pkg.read_previous(previous_path) if previous_path else pkg.Previous({}, None)
        now = int(build_time())
        model = pkg.note_type(build, previous, now)
        decks = pkg.decks_for(build.library, options)
        with build.progress("Building deck", build.library.count()) as advance:
            for ref in build.library.questions():
                q, html = ref.question, build.rendered[ref.question.key]
                # Portable classes: the stored HTML never depends on --theme, only the note type's CSS does.
                # Fields are HTML: names from the content are text, escaped like everything else.
                fields = [html.question_html.portable, html.answer_html.portable, q.difficulty.label,
                          escape(ref.breadcrumb, quote=False), escape(q.key, quote=False)]
                tags = [f"difficulty::{q.difficulty.label}",
                        f"{ref.framework.slug}::{ref.topic.slug}::{ref.subtopic.slug}"]
                note = pkg.Note(model=model, fields=fields, tags=tags, guid=note_guid(q.key), sort_field=q.question)
                note.mod = pkg.note_mod(previous, note, now)
                deck = decks[(ref.framework.slug, ref.topic.slug, ref.subtopic.slug)] if not options.flat \
                    else decks[()]
                deck.add_note(note)
                advance(1)
        with atomic_path(target) as tmp, tempfile.TemporaryDirectory(dir=target.parent) as work:
            db_path = Path(work) / "collection.anki2"
            conn = sqlite3.connect(db_path)
            try:
                pkg.write_collection(conn.cursor(), model, list(dict.fromkeys(decks.values())), now)
                conn.commit()
            finally:
                conn.close()
            write_zip(tmp, [("collection.anki2", db_path.read_bytes()), ("media", b"{}")])
