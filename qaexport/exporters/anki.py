"""Anki deck (.apkg).

Learners keep months of reviews on these notes, so identity is everything
(``anki_identity``): the note type id and its field/template names are frozen, GUIDs come
from the stable key, deck ids from the deck name. Anki's importer only updates a note whose
modification time is newer than its own, so unchanged notes keep the time they had in the
previous package and changed notes get a newer one (``anki_collection``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..model import Library
from ..output import atomic_path, write_zip
from ..render import Scheme
from ..templates import asset
from . import Build, Produces, option
from .anki_identity import deck_id, deck_part, note_guid

if TYPE_CHECKING:  # the writer (and sqlite3) loads when a deck is written, not when the CLI starts
    from .anki_collection import Deck, NoteType


def refuse_anki_packages(library: Library) -> None:
    """An Anki package as the source of an Anki deck is refused, not re-exported: the copy would lose its own
    note types, scheduling, sounds and editable fields (qaexport reads rendered cards). Import the package into
    Anki itself; print it with ``pdf`` or ``epub``."""
    from ..sources.apkg import ApkgReader  # no anki import: the module loads it only to read

    for ref in library.questions():
        file = ref.question.location.file
        if Path(file).suffix.lower() in ApkgReader.suffixes:
            raise UsageError(f"{file}: is already an Anki package; import it into Anki directly (File › Import). "
                             "qaexport prints it with `qaexport pdf` or `qaexport epub`")


@dataclass
class AnkiOptions:
    deck_name: str = option("", "Root deck name. Default: the framework's name (or 'Interview Questions').")
    flat: bool = option(False, "Put every note in the root deck instead of Topic::Subtopic subdecks.")
    previous: Path | None = option(
        None, "Earlier .apkg whose note times to keep for unchanged notes. Default: the output file if it exists.")

    def __post_init__(self) -> None:
        if self.previous is not None and not self.previous.is_file():
            raise UsageError(f"--previous {self.previous}: no such file; name an earlier .apkg of this deck")


def note_type(build: Build, mod_of: Callable[[str, str, str], int]) -> NoteType:
    from .anki_collection import NoteType

    hl = build.highlighter
    css = asset("anki", "card.css") + f"\n/* code theme: {hl.themes[0].name} */\n"
    css += hl.css(0, ".card", portable=True)
    if len(hl.themes) > 1:
        css += f"/* night theme: {hl.themes[1].name} */\n"
        css += hl.css(1, ".nightMode", portable=True) + hl.css(1, ".night_mode", portable=True)
    front, back = asset("anki", "front.html"), asset("anki", "back.html")
    return NoteType(css, front, back, mod_of(css, front, back))


def decks_for(library: Library, options: AnkiOptions) -> dict[tuple, Deck]:
    """Decks by (framework, topic, subtopic) slugs; () is the root. Parents carry descriptions."""
    from .anki_collection import Deck

    several = len(library.frameworks) > 1
    default_root = "Interview Questions" if several else library.frameworks[0].name
    root_name = deck_part(options.deck_name or default_root)
    root_desc = "" if several else library.frameworks[0].description
    decks: dict[tuple, Deck] = {(): Deck(deck_id(root_name), root_name, root_desc)}
    if options.flat:
        return decks
    for fw, topic, sub in library.subtopics():
        parts = [root_name] + ([deck_part(fw.name)] if several else [])
        if several and (fw.slug,) not in decks:
            name = "::".join(parts)
            decks[(fw.slug,)] = Deck(deck_id(name), name, fw.description)
        if (fw.slug, topic.slug) not in decks:
            name = "::".join([*parts, deck_part(topic.name)])
            decks[(fw.slug, topic.slug)] = Deck(deck_id(name), name, topic.description)
        name = "::".join([*parts, deck_part(topic.name), deck_part(sub.name)])
        decks[(fw.slug, topic.slug, sub.slug)] = Deck(deck_id(name), name, sub.description)
    return decks


class AnkiExporter:
    """Write an Anki deck (.apkg): subdecks per topic/subtopic, difficulty tags, safe to re-import."""

    name = "anki"
    suffix = ".apkg"
    produces = Produces.FILE
    scheme = Scheme.PORTABLE  # the HTML stored in notes never depends on --theme, only the note type's CSS
    in_all = True
    night_mode = True  # a dark theme: Anki's night mode, EPUB readers' dark mode
    Options = AnkiOptions

    def export(self, build: Build, options: AnkiOptions, target: Path) -> None:
        from .anki_collection import NO_PREVIOUS, NoteRow, note_mod, note_type_mod, read_previous, write_collection

        refuse_anki_packages(build.library)
        previous_path = options.previous or (target if target.exists() else None)
        previous = read_previous(previous_path) if previous_path else NO_PREVIOUS
        now = int(build.time)
        model = note_type(build, lambda css, front, back: note_type_mod(previous, css, front, back, now))
        decks = decks_for(build.library, options)
        notes: list[NoteRow] = []
        with build.progress("Building deck", build.library.count()) as advance:
            for ref in build.library.questions():
                q, html = ref.question, build.rendered[ref.question.key]
                fields = [html.question, html.answer, q.difficulty.label, ref.breadcrumb, q.key]
                tags = [f"difficulty::{q.difficulty.label}",
                        f"{ref.framework.slug}::{ref.topic.slug}::{ref.subtopic.slug}"]
                deck = decks[()] if options.flat else decks[(ref.framework.slug, ref.topic.slug, ref.subtopic.slug)]
                guid = note_guid(q.key)
                notes.append(NoteRow(guid, fields, tags, q.question, deck.id, note_mod(previous, guid, fields, tags,
                                                                                         now)))
                advance(1)
        with atomic_path(target) as tmp, tempfile.TemporaryDirectory(dir=target.parent) as work:
            db_path = Path(work) / "collection.anki2"
            write_collection(db_path, model, list(dict.fromkeys(decks.values())), notes, now)
            # Level 1: a 10,000-note collection (35 MB of HTML) deflates in 0.4 s instead of 1 s, 25 % larger.
            write_zip(tmp, [("collection.anki2", db_path.read_bytes()), ("media", b"{}")], build.time, level=1)
