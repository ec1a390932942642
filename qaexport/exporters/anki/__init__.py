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

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ...errors import OutputError, UsageError
from ...formats.anki_package import SUFFIXES, bank_json
from ...formats.cloze import html_pieces
from ...model import Library, QuestionRef
from ...output import atomic_path
from ...render import Scheme
from .. import Build, ExporterBase, Produces, option
from .collection import NoteRow, Previous, read_previous
from .deck import (
    NOTETYPE_KEYS,
    DeckContent,
    build_deck,
    cloze_ords,
    deck_prefix,
    note_type_parts,
    question_fields,
    write_package,
)
from .identity import CLOZE_FIELDS, CLOZE_MODEL_ID, FIELDS, MODEL_ID
from .ledger import (
    NoteTimes,
    Version,
    holds_package,
    ledger_stamp,
    location,
    note_times,
    note_type_changes,
    record_package,
    value_fingerprint,
)
from .originals import carry_originals
from .renames import earlier_notes, own_earlier, say_new_ids, say_renamed


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
            what = "is a folder, not an .apkg file" if self.previous.is_dir() else \
                "is not a regular file" if self.previous.exists() else "no such file"
            raise UsageError(f"--previous {self.previous}: {what}; name an earlier .apkg of this deck")


__all__ = ["AnkiExporter", "AnkiOptions", "card_numbers", "card_sides", "note_type_parts", "question_fields"]


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

    @staticmethod
    def outside_state(state_dir: Path | None) -> str | None:
        """The note-time ledger decides each note's time (and a push records there what it wrote): any write to it
        since a build, by another export or a push, changes its files' stamps, and the next build builds."""
        return ledger_stamp(location(state_dir) if state_dir else None)

    def export(self, build: Build, options: AnkiOptions, target: Path) -> None:
        reason = self.declines(build.library)
        if reason:
            raise UsageError(reason)
        ledger = location(build.state_dir) if build.state_dir else None
        previous, files, held = previous_versions(build, options, target, ledger)
        content = build_deck(build, options.deck_name, options.flat)
        carry_originals(content, build.library, build.warn)
        changed_types = note_type_changes(ledger, {n.guid: n.model_id for n in content.notes}, MODEL_ID)
        times = note_times(ledger, content.fingerprints(), previous, int(build.time), build.warn,
                           written_of=content.written_of)
        for note in content.notes:
            note.mod = times[note.guid]
        unknown = [note for note in content.notes if note.guid in times.unknown]
        if options.previous is not None and unknown:
            build.warn(f"{len(unknown)} of {len(content.notes)} notes are in neither --previous "
                       f"{options.previous}, the output file nor the note-time ledger: new questions, or notes "
                       "learners got from another package, which Anki would then update once (their own edits "
                       "lost); pass that package with --previous")
        if unknown:
            earlier = earlier_notes(own_earlier(build.earlier, (options.previous, target)), held, files)
            new = [ref for note, ref in zip(content.notes, content.refs, strict=True) if note.guid in times.unknown]
            current = {n.guid for n in content.notes}
            say_renamed(build.warn, new, current, earlier)
            say_new_ids(build.warn, content.refs, new, current, earlier)
        _say_new_decks(build, content, times, files)
        _say_new_note_types(build, content, changed_types)
        with atomic_path(target) as tmp:
            # The bank itself, so the deck reads back exactly (`qaexport convert deck.apkg`); Anki ignores it.
            write_package(tmp, content, content.notes, {i: times[NOTETYPE_KEYS[i]] for i in content.parts},
                          build.time, str(target), bank=bank_json(build.library.frameworks, build.library.cover))
            written = os.stat(tmp).st_ino
        record_package(ledger, target, times.run, written)


def _say_new_note_types(build: Build, content: DeckContent, changed: dict[str, int]) -> None:
    """A question that became a cloze, or stopped being one, keeps its note's GUID (GUIDs qaexport wrote never
    change), but Anki's import never changes a note's type: it reports the note as conflicting and leaves it as
    it was; with its "Merge note types" option on, the whole import fails instead ("Cloze note types cannot be
    merged with regular note types"), which the learner cannot tell from a broken deck. Said once, by the export
    that changes it, with the way out for both (the same as ``qaexport push`` says)."""
    for note, ref in zip(content.notes, content.refs, strict=True):
        if note.guid in changed:
            q = ref.question
            now, before = ("a cloze", "a plain question") if note.model_id == CLOZE_MODEL_ID else \
                ("a plain question", "a cloze")
            build.warn(f"{q.location}: question {q.id!r} became {now} (it was {before}): Anki's import cannot change "
                       f'a note\'s type and leaves the old note as it is (with "Merge note types" ticked in the '
                       f'import options, the whole import fails: "Cloze note types cannot be merged"). To get the '
                       f'new cards, delete the note in Anki (search "Key:{q.key}*"; its reviews go with it) and '
                       f'import this deck again (either way)')


def previous_versions(build: Build, options: AnkiOptions, target: Path, ledger: Path | None
                      ) -> tuple[dict[str, Version], list[Previous], list[Path]]:
    """Every version learners may hold, from each source there is: ``--previous`` and the existing output file
    (both, when both are given: a filtered ``--previous`` with the ledger gone would otherwise update every note
    it lacks), beside the ledger; and the packages read. A package this ledger wrote, unchanged since, is not
    read: its versions are in the ledger already (the third list names those packages)."""
    versions: dict[str, Version] = {}
    files: list[Previous] = []
    held: list[Path] = []
    for path in dict.fromkeys(p for p in (options.previous, target) if p is not None and p.exists()):
        if holds_package(ledger, path):
            held.append(path)
            continue
        try:
            found = read_previous(path, _advice(path, options.previous, target))
        except OutputError as exc:
            if path != target or options.previous is None:
                raise
            build.warn(str(exc))
            continue
        files.append(found)
        for guid, version in found.items():
            if guid not in versions or version.mod > versions[guid].mod:
                versions[guid] = version
    return versions, files, held


def _advice(path: Path, previous: Path | None, target: Path) -> str:
    """What to do about an unreadable earlier deck, by what it is: ``--previous`` (name another), the output file
    when ``--previous`` is read too (left out, and replaced), or the output file alone (move it away, or name an
    earlier copy with ``--previous``: its notes' times are what keeps learners' edits)."""
    if path == previous:
        return ("it is the file --previous names: name an earlier .apkg of this deck instead (one `qaexport anki` "
                "wrote, or the deck exported from Anki)")
    if previous is not None:
        return f"it is the output file: left out (--previous {previous} is read) and replaced"
    return ("it is the output file, which this export would replace: move it away (or remove it) to write a new "
            "deck, or pass --previous with an earlier copy of the deck so unchanged notes keep their times")


def _say_new_decks(build: Build, content: DeckContent, times: NoteTimes, files: list[Previous]) -> None:
    """Anki's import updates a note in place but never moves its cards: a note whose deck is one this ledger
    never gave it (a question moved with ``from=``, a new ``--deck-name`` or ``--flat``), or, for a note the ledger
    has no deck of (the ledger gone), another deck than the package read gave it, keeps its cards where they are.
    Said once, by the export that changes it."""

    def moved(note: NoteRow) -> bool:
        name = content.deck_names[note.deck_id]
        if note.guid in times.remembered:
            return value_fingerprint("deck", name) in times.fresh.get(note.guid, ())
        return any(note.guid in found.decks and found.decks[note.guid] != name for found in files)

    notes = [note for note in content.notes if moved(note)]
    if notes:
        example = content.deck_names[notes[0].deck_id]
        build.warn(f"{len(notes)} note{'s' if len(notes) != 1 else ''} changed deck since the last export (e.g. to "
                   f"{example!r}): Anki's import updates notes in place but never moves cards, so their cards stay "
                   "in the old decks. Move them in Anki's browser (Change Deck), or use `qaexport push`, which "
                   "moves them")
