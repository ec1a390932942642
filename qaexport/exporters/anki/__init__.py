"""Anki deck (.apkg).

Learners keep months of reviews and their own edits on these notes, so identity is everything
(``identity``): the note type id and its field/template names are frozen, GUIDs come from
the stable key, deck ids from the deck name, and a bank's deck path depends only on its own
framework, topic and subtopic. Anki's importer only updates a note whose modification time is
newer than its own, so a note's time changes exactly when its content does (``ledger``,
consulted with any previous package). Every text stored in a note goes through
``text.note_fields``: escaped, and Anki's own markup made inert.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError
from ...formats.anki_key import key_field
from ...formats.anki_package import SUFFIXES
from ...formats.cloze import html_pieces
from ...model import Library, Media, QuestionRef
from ...output import atomic_path, write_zip
from ...render import Scheme
from ...templates import asset
from .. import Build, ExporterBase, Produces, option
from .collection import (
    CLOZE_NOTETYPE_KEY,
    NOTETYPE_KEY,
    Deck,
    NoteRow,
    NoteType,
    note_fingerprint,
    read_previous,
    write_collection,
)
from .identity import CLOZE_FIELDS, CLOZE_MODEL_ID, FIELDS, deck_id, deck_part, question_guid
from .ledger import fingerprint, holds_package, last_runs, location, note_times, record_package
from .text import note_fields, sort_text, tag_part, text_field


def anki_package_source(library: Library) -> str:
    """Why an Anki package as the source of an Anki deck is declined ("" when there is none): a copy would lose
    its own note types, scheduling, sounds and editable fields (qaexport reads rendered cards). Import the
    package into Anki itself; print it with ``pdf`` or ``epub``."""
    files = dict.fromkeys(ref.question.location.file for ref in library.questions())  # each file once, in order
    for file in files:
        if os.path.splitext(file)[1].lower() in SUFFIXES:
            return (f"{file}: is already an Anki package; import it into Anki directly (File › Import). "
                    "qaexport prints it with `qaexport pdf` or `qaexport epub`")
    return ""


@dataclass
class AnkiOptions:
    deck_name: str = option("", "Parent deck for every bank, e.g. 'Interview::2026' → Interview::2026::FastAPI::… "
                                "Default: none, each bank's deck is its framework's name.")
    flat: bool = option(False, "Put every note in one deck (--deck-name, else its framework's deck) instead of "
                               "Topic::Subtopic subdecks.")
    previous: Path | None = option(
        None, "Earlier .apkg whose note times to keep for unchanged notes, with the note-time ledger. "
              "Default: the output file if it exists.")

    def __post_init__(self) -> None:
        deck_prefix(self.deck_name)  # a bad --deck-name fails before anything is read
        if self.previous is not None and not self.previous.is_file():
            raise UsageError(f"--previous {self.previous}: no such file; name an earlier .apkg of this deck")


def note_type_parts(build: Build, cloze: bool = False) -> tuple[str, str, str]:
    """CSS, front and back templates of the Q&A note type, or of the Cloze one (the same CSS and theme)."""
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


def question_fields(build: Build, ref: QuestionRef) -> list[str]:
    """A question's note fields, in the frozen order of ``identity.FIELDS`` (``CLOZE_FIELDS`` for a cloze), made
    safe by ``text.note_fields``."""
    q, html = ref.question, build.rendered[ref.question.key]
    return note_fields(html.question, html.answer, q.difficulty.label if q.difficulty else "", ref.breadcrumb,
                       key_field(q.key, q.origin))


_FIELD_REFERENCE = re.compile(r"\{\{(?:(cloze):)?([^{}#/^:]+)\}\}")
_SECTION = re.compile(r"\{\{#([^{}]+)\}\}(.*?)\{\{/\1\}\}", re.S)


def _attribute(text: str) -> str:
    """Text as Anki's renderer writes it into ``data-cloze``: ``& < > "`` as named entities, every other character
    below 256 but ASCII letters and digits as a hexadecimal one, the rest as it is."""
    named = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    return "".join(named.get(c) or (c if (c.isascii() and c.isalnum()) or ord(c) > 255 else f"&#x{ord(c):X};")
                   for c in text)


def _cloze(text: str, card: int, back: bool) -> str:
    """Anki's ``{{cloze:Text}}`` on card ``card``: its deletions hidden (``[...]`` or ``[hint]``) on the front and
    shown on the back; the other numbers' text shown, marked inactive."""
    out: list[str] = []
    inside: list[str] = []
    hint: list[str] = []
    number = 0
    for piece in html_pieces(text):
        if piece.kind == "open":
            number, inside, hint = piece.number, [], []
        elif piece.kind == "hint":
            hint.append(piece.text)
        elif piece.kind == "close":
            content = "".join(inside)
            if number != card:
                out.append(f'<span class="cloze-inactive" data-ordinal="{number}">{content}</span>')
            elif back:
                out.append(f'<span class="cloze" data-ordinal="{number}">{content}</span>')
            else:
                shown = f"[{''.join(hint)}]" if "".join(hint).strip() else "[...]"
                out.append(f'<span class="cloze" data-cloze="{_attribute(content)}" data-ordinal="{number}">{shown}'
                           "</span>")
            number = 0
        elif number:
            inside.append(piece.text)
        else:
            out.append(piece.text)
    return "".join(out)


def card_numbers(build: Build, ref: QuestionRef) -> list[int]:
    """The cards a question's note makes: 1, or each deletion number of a cloze."""
    if not ref.question.cloze:
        return [1]
    return [o + 1 for o in cloze_ords(question_fields(build, ref)[0])]


def card_sides(build: Build, ref: QuestionRef, card: int = 1) -> tuple[str, str, str]:
    """The card Anki shows for a question: the note type's CSS, the front and the back, with the note's fields put
    into the templates as Anki's renderer puts them (``{{Field}}``, ``{{#Field}}…{{/Field}}`` kept when the field
    has text, ``{{cloze:Text}}`` for card number ``card`` of a cloze, the Q&A back's ``{{FrontSide}}``). For
    previews (``qaexport serve``); the tests compare it with the official ``anki`` package's own rendering
    (``Card.render_output``), which reviews show inside ``<body class="card card1">`` (plus ``nightMode
    night_mode`` at night)."""
    cloze = ref.question.cloze
    css, front_template, back_template = note_type_parts(build, cloze)
    fields = dict(zip(CLOZE_FIELDS if cloze else FIELDS, question_fields(build, ref), strict=True))

    def fill(template: str, back: bool, extra: dict[str, str]) -> str:
        values = {**fields, **extra}
        template = _SECTION.sub(lambda m: m.group(2) if values.get(m.group(1), "").strip() else "", template)
        return _FIELD_REFERENCE.sub(
            lambda m: _cloze(values[m.group(2)], card, back) if m.group(1) else values[m.group(2)], template)

    front = fill(front_template, False, {})
    return css, front, fill(back_template, True, {"FrontSide": front})


def deck_prefix(deck_name: str) -> list[str]:
    """``--deck-name`` as deck path parts: ``::`` nests, each part is cleaned, none may be empty."""
    if not deck_name.strip():
        return []
    parts = deck_name.split("::")
    if any(not part.strip() for part in parts):
        raise UsageError(f"--deck-name {deck_name!r}: a part between '::' is empty; write e.g. 'Interview::2026'")
    return [deck_part(part) for part in parts]


def decks_for(library: Library, options: AnkiOptions) -> dict[tuple[str, ...], Deck]:
    """Decks by slug path: ``(framework,)``, ``(framework, topic)``, ``(framework, topic, subtopic)``, and ``()``
    for the ``--deck-name`` parents. A bank's path is ``PREFIX::Framework::Topic::Subtopic``: a function of
    its own names only, never of what else is exported. Descriptions are shown as text."""
    prefix = deck_prefix(options.deck_name)
    decks: dict[tuple[str, ...], Deck] = {}
    for depth in range(1, len(prefix) + 1):  # the parents, keyed after a "" (a slug is never empty)
        name = "::".join(prefix[:depth])
        decks[("", *prefix[:depth])] = Deck(deck_id(name), name)
    if prefix:
        decks[()] = decks[("", *prefix)]
    if options.flat and prefix:
        return decks  # one deck for every note, as asked
    for fw, topic, sub in library.subtopics():
        path: list[str] = list(prefix)
        levels = [((fw.slug,), fw), ((fw.slug, topic.slug), topic), ((fw.slug, topic.slug, sub.slug), sub)]
        for slugs, node in levels[:1] if options.flat else levels:
            path.append(deck_part(node.name))
            if slugs not in decks:
                name = "::".join(path)
                decks[slugs] = Deck(deck_id(name), name, text_field(node.description))
    return decks


_IMG_SRC = re.compile(r'<img\b[^>]*?\ssrc="([^"]+)"')


def used_media(library: Library, notes: list[NoteRow]) -> list[Media]:
    """The library's images that notes show (HTML content from a bank that came from Anki cards), packed into
    the deck so the cards show them: Anki reads package media by the names the fields use."""
    if not library.media:  # nothing a field could show (most banks): no need to scan 10,000 notes' HTML
        return []
    names = {name for note in notes for field in note.fields for name in _IMG_SRC.findall(field)}
    return [library.media[name] for name in sorted(names) if name in library.media]


def _warn_kind_changes(other_kind: dict[str, tuple[str, QuestionRef]], runs: dict[str, int], previous: set[str],
                       warn: Callable[[str], None]) -> None:
    """Say which questions changed between Q&A and cloze since they were last exported (the previous package, or
    the ledger's latest export of either, has the other kind's note): Anki adds (or finds again) the note of the
    new kind and keeps the other as it was."""
    for guid, (old_guid, ref) in other_kind.items():
        if (old_guid in previous and guid not in previous) or runs.get(old_guid, -1) > runs.get(guid, -1):
            q = ref.question
            now, before = ("cloze", "Q&A") if q.cloze else ("Q&A", "cloze")
            warn(f"{q.location}: question {q.id!r} is now a {now} note (it was {before}): Anki cannot change the "
                 f"type of a note, so it arrives as a new note with new cards and the old one stays; delete the old "
                 f'one in Anki if it is not wanted (search "Key:{q.key}*")')


class AnkiExporter(ExporterBase):
    """Write an Anki deck (.apkg): subdecks per topic/subtopic, difficulty tags, safe to re-import."""

    name = "anki"
    suffix = ".apkg"
    produces = Produces.FILE
    scheme = Scheme.PORTABLE  # the HTML stored in notes never depends on --theme, only the note type's CSS
    in_all = True
    night_mode = True  # a dark theme: Anki's night mode, EPUB readers' dark mode
    Options = AnkiOptions

    @staticmethod
    def declines(library: Library) -> str:
        return anki_package_source(library)

    def export(self, build: Build, options: AnkiOptions, target: Path) -> None:
        reason = self.declines(build.library)
        if reason:
            raise UsageError(reason)
        decks = decks_for(build.library, options)
        ledger = location(build.state_dir) if build.state_dir else None
        previous_path = options.previous or (target if target.exists() else None)
        # A package this ledger wrote and nobody changed since would tell note_times nothing new.
        read = previous_path is not None and not holds_package(ledger, previous_path)
        previous = read_previous(previous_path) if read else {}
        now = int(build.time)
        notes: list[NoteRow] = []
        other_kind: dict[str, tuple[str, QuestionRef]] = {}  # GUID → the GUID of the other kind, the question
        with build.progress("Building deck", build.library.count()) as advance:
            for position, ref in enumerate(build.library.questions(), 1):
                q = ref.question
                label = q.difficulty.label if q.difficulty else ""
                fields = question_fields(build, ref)
                tags = [f"difficulty::{label}"] if label else []
                tags.append("::".join(tag_part(s) for s in (ref.framework.slug, ref.topic.slug, ref.subtopic.slug)))
                slugs = (ref.framework.slug,) if options.flat else (ref.framework.slug, ref.topic.slug,
                                                                     ref.subtopic.slug)
                deck = decks[()] if options.flat and () in decks else decks[slugs]
                # New cards are introduced in the booklet's order: ``due`` is the position in the book.
                # The GUID comes from the identity: a question moved with from= keeps the note it had. A cloze
                # has a GUID of its own (identity.question_guid).
                row = NoteRow(question_guid(q.identity, q.cloze), fields, tags, sort_text(fields[0]), deck.id,
                              due=position)
                if q.cloze:
                    row.model_id, row.ords = CLOZE_MODEL_ID, cloze_ords(fields[0])
                other_kind[row.guid] = (question_guid(q.identity, not q.cloze), ref)
                notes.append(row)
                advance(1)
        # The Cloze note type goes into a package only when a note uses it (no unused type in every collection).
        kinds = [False] + ([True] if any(note.model_id == CLOZE_MODEL_ID for note in notes) else [])
        parts = {cloze: note_type_parts(build, cloze) for cloze in kinds}
        type_keys = {False: NOTETYPE_KEY, True: CLOZE_NOTETYPE_KEY}
        current = {note.guid: note_fingerprint(note.fields, note.tags) for note in notes}
        current.update({type_keys[cloze]: fingerprint(*parts[cloze]) for cloze in kinds})
        guids = [*other_kind, *(old for old, _ref in other_kind.values())]
        _warn_kind_changes(other_kind, last_runs(ledger, guids), set(previous), build.warn)
        times = note_times(ledger, current, previous, now, build.warn)
        for note in notes:
            note.mod = times[note.guid]
        models = [NoteType(*parts[cloze], times[type_keys[cloze]], cloze) for cloze in kinds]
        with atomic_path(target) as tmp, tempfile.TemporaryDirectory(dir=target.parent) as work:
            db_path = Path(work) / "collection.anki2"
            write_collection(db_path, models, list(dict.fromkeys(decks.values())), notes, now, label=str(target))
            # Level 1: a 10,000-note collection (35 MB of HTML) deflates in 0.4 s instead of 1 s, 25 % larger.
            media = used_media(build.library, notes)
            entries = [("collection.anki2", db_path.read_bytes()),
                       ("media", json.dumps({str(i): m.name for i, m in enumerate(media)}).encode())]
            entries += [(str(i), m.data) for i, m in enumerate(media)]
            write_zip(tmp, entries, build.time, level=1)
            written = os.stat(tmp).st_ino
        record_package(ledger, target, times.run, written)
