"""What a qaexport deck holds, built once from the bank for both routes into Anki: ``qaexport anki`` writes it
into a package, ``qaexport push`` into a running Anki (adding new notes through a package of its own, so that
GUIDs are kept). Both routes must agree on every note, field, tag, deck and the note type, so both build them
here.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError
from ...formats.anki_key import key_field
from ...formats.anki_package import BANK_MEMBER
from ...model import Library, Media, QuestionRef
from ...output import write_zip
from ...render import Scheme
from ...templates import asset
from .. import Build
from .collection import CLOZE_NOTETYPE_KEY, NOTETYPE_KEY, Deck, NoteRow, NoteType, note_fingerprint, write_collection
from .identity import CLOZE_FIELDS, CLOZE_MODEL_ID, FIELDS, MODEL_ID, deck_id, deck_part, note_guid
from .ledger import fingerprint, value_fingerprint
from .text import inert, note_fields, sort_text, tag_part

#: The note types a deck may hold: the note-time ledger's key and the field names of each, by note type id.
NOTETYPE_KEYS = {MODEL_ID: NOTETYPE_KEY, CLOZE_MODEL_ID: CLOZE_NOTETYPE_KEY}
FIELD_NAMES = {MODEL_ID: FIELDS, CLOZE_MODEL_ID: CLOZE_FIELDS}


def note_type_parts(build: Build, cloze: bool = False) -> tuple[str, str, str]:
    """CSS (the code theme, and the night theme under Anki's night-mode classes), front and back templates of
    the Q&A note type, or of the Cloze one (the same CSS and theme)."""
    hl = build.highlighter
    css = asset("anki", "card.css") + f"\n/* code theme: {hl.themes[0].name} */\n"
    css += hl.css(0, ".card", portable=True)
    if len(hl.themes) > 1:
        css += f"/* night theme: {hl.themes[1].name} */\n"
        css += hl.css(1, ".nightMode", portable=True) + hl.css(1, ".night_mode", portable=True)
    if cloze:
        return css, asset("anki", "cloze-front.html"), asset("anki", "cloze-back.html")
    return css, asset("anki", "front.html"), asset("anki", "back.html")


_CLOZE_NUMBER = re.compile(r"\{\{c(\d+)::")


def cloze_ords(text_field: str) -> tuple[int, ...]:
    """The card ordinals of a cloze note (number - 1): every ``{{cN::`` in its Text field is one qaexport wrote
    (the renderer turns the content's own braces into entities)."""
    return tuple(sorted({int(n) - 1 for n in _CLOZE_NUMBER.findall(text_field)})) or (0,)


def deck_prefix(deck_name: str) -> list[str]:
    """``--deck-name`` as deck path parts: ``::`` nests, each part is cleaned, none may be empty."""
    if not deck_name.strip():
        return []
    parts = deck_name.split("::")
    if any(not part.strip() for part in parts):
        raise UsageError(f"--deck-name {deck_name!r}: a part between '::' is empty; write e.g. 'Interview::2026'")
    return [deck_part(part) for part in parts]


def decks_for(library: Library, deck_name: str, flat: bool) -> dict[tuple[str, ...], Deck]:
    """Decks by slug path: ``(framework,)``, ``(framework, topic)``, ``(framework, topic, subtopic)``, and ``()``
    for the ``--deck-name`` parents. A bank's path is ``PREFIX::Framework::Topic::Subtopic``: a function of
    its own names only, never of what else is exported. Descriptions are inline Markdown (code, emphasis, links),
    made inert for Anki like every stored text."""
    prefix = deck_prefix(deck_name)
    decks: dict[tuple[str, ...], Deck] = {}
    for depth in range(1, len(prefix) + 1):  # the parents, keyed after a "" (a slug is never empty)
        name = "::".join(prefix[:depth])
        decks[("", *prefix[:depth])] = Deck(deck_id(name), name)
    if prefix:
        decks[()] = decks[("", *prefix)]
    if flat and prefix:
        return decks  # one deck for every note, as asked
    from ...render.markdown import inline_html  # Markdown-it loads with the first deck, not with `--help`

    for fw, topic, sub in library.subtopics():
        path: list[str] = list(prefix)
        levels = [((fw.slug,), fw), ((fw.slug, topic.slug), topic), ((fw.slug, topic.slug, sub.slug), sub)]
        for slugs, node in levels[:1] if flat else levels:
            path.append(deck_part(node.name))
            if slugs not in decks:
                name = "::".join(path)
                decks[slugs] = Deck(deck_id(name), name, inert(inline_html(node.description, Scheme.PORTABLE)))
    return decks


def question_fields(build: Build, ref: QuestionRef) -> list[str]:
    """A question's note fields, in the frozen order of ``identity.FIELDS``, made safe by ``text.note_fields``."""
    q, html = ref.question, build.rendered[ref.question.key]
    return note_fields(html.question, html.answer, q.difficulty.label if q.difficulty else "", ref.breadcrumb,
                       key_field(q.key, q.origin))


def location_tag(framework: str, topic: str, subtopic: str) -> str:
    """The tag that places a note (``fastapi::deployment::workers``), from slugs."""
    return "::".join(tag_part(s) for s in (framework, topic, subtopic))


def difficulty_tag(label: str) -> str:
    return f"difficulty::{label}"


_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]+)"')


def used_media(library: Library, notes: list[NoteRow]) -> list[Media]:
    """The library's images that notes show (HTML content from a bank that came from Anki cards), packed into
    the deck so the cards show them: Anki reads package media by the names the fields use."""
    if not library.media:  # nothing a field could show (most banks): no need to scan 10,000 notes' HTML
        return []
    names = {name for note in notes for field in note.fields for name in _IMG_SRC.findall(field)}
    return [library.media[name] for name in sorted(names) if name in library.media]


@dataclass
class DeckContent:
    """Every note of a deck (``notes[i]`` holds ``refs[i]``), its decks, and the parts (CSS, front, back) of
    each note type its notes use, by note type id: the Q&A type always, the Cloze type when a note is a cloze."""

    library: Library
    decks: dict[tuple[str, ...], Deck]
    notes: list[NoteRow]
    refs: list[QuestionRef]
    parts: dict[int, tuple[str, str, str]]

    def __post_init__(self) -> None:
        self.deck_names = {deck.id: deck.name for deck in self.decks.values()}
        self._by_guid = {note.guid: note for note in self.notes}
        self._type_of_key = {key: model_id for model_id, key in NOTETYPE_KEYS.items()}

    def fingerprints(self) -> dict[str, str]:
        """What the note-time ledger compares: each note's fields and tags, and each note type used."""
        current = {note.guid: note_fingerprint(note.fields, note.tags) for note in self.notes}
        current.update({NOTETYPE_KEYS[model_id]: fingerprint(*parts) for model_id, parts in self.parts.items()})
        return current

    def note_type_value(self, model_id: int) -> str:
        """A note type's CSS and templates as one written value (see ``ledger.value_fingerprint``)."""
        return value_fingerprint("notetype", fingerprint(*self.parts[model_id]))

    def written_of(self, key: str, full: bool) -> list[str]:
        """The value fingerprints this deck writes into a note (see ``ledger``): its deck always, its fields
        when ``full`` (hashing 10,000 notes' fields costs a rebuild that changes nothing ~50 ms)."""
        if key in self._type_of_key:
            return [self.note_type_value(self._type_of_key[key])] if full else []
        note = self._by_guid[key]
        values = [value_fingerprint("deck", self.deck_names[note.deck_id])]
        if full:
            names = FIELD_NAMES[note.model_id]
            values += [value_fingerprint(name, value) for name, value in zip(names, note.fields, strict=True)]
        return values

    def note_types(self, mods: dict[int, int]) -> list[NoteType]:
        """The note types the notes use, with these times (by note type id)."""
        return [NoteType(*parts, mods[model_id], model_id == CLOZE_MODEL_ID) for model_id, parts in self.parts.items()]


def build_deck(build: Build, deck_name: str, flat: bool) -> DeckContent:
    """Every question of the build as a note (fields escaped and made inert by ``text.note_fields``, tags, its
    deck, its GUID from the question's identity); times are set later, from the ledger."""
    decks = decks_for(build.library, deck_name, flat)
    notes: list[NoteRow] = []
    refs: list[QuestionRef] = []
    with build.progress("Building deck", build.library.count()) as advance:
        for position, ref in enumerate(build.library.questions(), 1):
            q = ref.question
            label = q.difficulty.label if q.difficulty else ""
            fields = question_fields(build, ref)
            tags = [difficulty_tag(label)] if label else []
            tags.append(location_tag(ref.framework.slug, ref.topic.slug, ref.subtopic.slug))
            slugs = (ref.framework.slug,) if flat else (ref.framework.slug, ref.topic.slug, ref.subtopic.slug)
            deck = decks[()] if flat and () in decks else decks[slugs]
            # New cards are introduced in the booklet's order: ``due`` is the position in the book.
            # The GUID comes from the identity: a question moved with from= keeps the note it had.
            row = NoteRow(note_guid(q.identity), fields, tags, sort_text(fields[0]), deck.id, due=position)
            if q.cloze:
                row.model_id, row.ords = CLOZE_MODEL_ID, cloze_ords(fields[0])
            notes.append(row)
            refs.append(ref)
            advance(1)
    # The Cloze note type goes into a package only when a note uses it (no unused type in every collection).
    used = [MODEL_ID] + ([CLOZE_MODEL_ID] if any(note.model_id == CLOZE_MODEL_ID for note in notes) else [])
    return DeckContent(build.library, decks, notes, refs,
                       {model_id: note_type_parts(build, model_id == CLOZE_MODEL_ID) for model_id in used})


def write_package(path: Path, content: DeckContent, notes: list[NoteRow], note_type_mods: dict[int, int],
                  time: float, label: str, first_id: int | None = None, with_media: bool = True,
                  bank: bytes | None = None) -> None:
    """An ``.apkg`` at ``path`` holding ``notes`` (with their times set), every deck and the note types used
    (with these times, by id); with the images the notes show unless ``with_media`` is false (push sends images
    on their own, once); with ``bank`` (``formats.anki_package.bank_json``) as the package's bank member, which
    Anki ignores and ``qaexport convert`` reads back exactly."""
    now = int(time)
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        db_path = Path(work) / "collection.anki2"
        write_collection(db_path, content.note_types(note_type_mods), list(dict.fromkeys(content.decks.values())),
                         notes, now, label=label, first_id=first_id)
        # Level 1: a 10,000-note collection (35 MB of HTML) deflates in 0.4 s instead of 1 s, 25 % larger.
        media = used_media(content.library, notes) if with_media else []
        cover = content.library.cover
        if bank is not None and with_media and cover is not None and cover[0] in content.library.media \
                and all(m.name != cover[0] for m in media):
            media.append(content.library.media[cover[0]])  # the bank member names it: the deck reads back whole
        entries = [("collection.anki2", db_path.read_bytes()),
                   ("media", json.dumps({str(i): m.name for i, m in enumerate(media)}).encode())]
        entries += [(str(i), m.data) for i, m in enumerate(media)]
        if bank is not None:
            entries.append((BANK_MEMBER, bank))
        write_zip(path, entries, time, level=1)
