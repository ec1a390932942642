"""What a push will change, decided before anything is sent: the bank's notes against the notes Anki holds.

Pure: no network, no files, so every rule is tested on its own and ``--dry-run`` shows exactly what a push does.

* **Which notes are qaexport's.** A note of qaexport's note type whose Key field parses (``formats/anki_key``) is
  *managed*; it belongs to the bank question with the same identity (the GUID's key: AnkiConnect shows no GUIDs,
  and the Key field names the identity). Nothing else is ever updated, moved or deleted: not a note of another
  type in the same decks, not one whose Key was edited into something else, not two notes claiming one identity.
* **Unchanged notes are not touched.** A managed note whose fields equal the bank's, whose qaexport tags are the
  same and whose cards are in the bank's deck gets no request at all, so its ``mod`` stays.
* **A learner's edits are kept.** A field that differs from the bank is written only when Anki's value is one
  qaexport wrote before (the ledger remembers fingerprints of every value it wrote): then it is merely stale. A
  value qaexport never wrote is the learner's: kept and reported (``--overwrite-edits`` replaces it). The same
  holds for a card the learner moved to a deck qaexport never used, and for the note type's CSS and templates.
  The Key field is always qaexport's (the note was matched by it).
* **Tags the learner added are kept.** Only qaexport's own tags (``difficulty::…`` and the place's
  ``framework::topic::subtopic``) are replaced, and only when the bank's differ from those the note's previous
  version implies (its Key and Difficulty fields), so a qaexport tag the learner removed stays removed until the
  bank changes it.
* **Deletions** only with ``--delete-missing``, only of managed notes whose identity is nowhere in the bank
  (filters do not count: a note left out by ``--difficulty`` is not missing) and whose key lies in what this push
  covers (the bank's frameworks; with ``--topic``, its selected subtopics).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ...formats.anki_key import parse_key_field
from ...model import QuestionRef
from .collection import NoteRow
from .deck import FIELD_NAMES, difficulty_tag, location_tag
from .ledger import fingerprint, value_fingerprint


@dataclass(frozen=True)
class Held:
    """A note of qaexport's note type in Anki, as AnkiConnect shows it."""

    note_id: int
    fields: Mapping[str, str]
    tags: tuple[str, ...]
    cards: tuple[int, ...]
    decks: Mapping[int, str]  # card → the deck it is in now
    parked: frozenset[int] = frozenset()  # cards in a filtered deck (they go home when it is emptied)
    model_id: int | None = None  # which of qaexport's note types it is

    def __post_init__(self) -> None:
        object.__setattr__(self, "_parsed", parse_key_field(self.fields.get("Key", "")))

    @property
    def parsed(self) -> tuple[str, str | None] | None:
        return self._parsed  # type: ignore[attr-defined]

    @property
    def identity(self) -> str | None:
        parsed = self.parsed
        return None if parsed is None else (parsed[1] or parsed[0])

    @property
    def key(self) -> str:
        parsed = self.parsed
        return parsed[0] if parsed else ""

    def qaexport_tags(self) -> set[str]:
        """The tags qaexport gave this note's version: its place's and its difficulty's, lower-case."""
        framework, topic, subtopic, _ = self.key.split("/", 3)
        tags = {location_tag(framework, topic, subtopic).lower()}
        label = html.unescape(self.fields.get("Difficulty", "")).strip()
        if label:
            tags.add(difficulty_tag(label).lower())
        return tags


@dataclass(frozen=True)
class Wanted:
    """A note as the bank wants it (fields as stored, with their time set from the ledger) and its deck."""

    row: NoteRow
    ref: QuestionRef
    deck: str

    @property
    def fields(self) -> dict[str, str]:
        return dict(zip(FIELD_NAMES[self.row.model_id], self.row.fields, strict=True))

    @property
    def identity(self) -> str:
        return self.ref.question.identity

    @property
    def label(self) -> str:
        """How messages name it: the key, and where the bank holds it."""
        return f"{self.ref.question.key} ({self.ref.question.location})"


@dataclass
class Update:
    """What a push does to one managed note that differs from the bank (or holds a learner's edit)."""

    held: Held
    wanted: Wanted
    fields: dict[str, str] = field(default_factory=dict)  # written
    overwritten: list[str] = field(default_factory=list)  # fields whose learner edit --overwrite-edits replaces
    kept: dict[str, tuple[str, str]] = field(default_factory=dict)  # learner edits kept: field → (Anki, bank)
    remove_tags: list[str] = field(default_factory=list)
    add_tags: list[str] = field(default_factory=list)
    move: list[int] = field(default_factory=list)  # cards to move into wanted.deck
    kept_cards: dict[int, str] = field(default_factory=dict)  # cards the learner put in a deck of their own
    parked: list[int] = field(default_factory=list)  # cards in a filtered deck: left there

    @property
    def writes(self) -> bool:
        """Whether the note itself changes (fields or tags), as opposed to its cards' deck."""
        return bool(self.fields or self.remove_tags or self.add_tags)

    @property
    def changes(self) -> bool:
        return self.writes or bool(self.move)


@dataclass(frozen=True)
class NoteTypeHeld:
    """One of qaexport's note types as Anki holds it (found by its id, whatever the learner renamed it to)."""

    model_id: int
    name: str
    fields: tuple[str, ...]
    css: str
    templates: Mapping[str, tuple[str, str]]  # template name → (front, back)


@dataclass(frozen=True)
class NoteTypeChange:
    name: str
    css: str | None  # None: unchanged
    templates: dict[str, tuple[str, str]]  # the templates to write
    kept: bool = False  # the learner's own CSS/templates are kept


@dataclass
class Plan:
    adds: list[Wanted] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)  # notes with a change or a kept edit
    unchanged: int = 0  # managed notes that get no request (kept edits and parked cards aside)
    missing: list[Held] = field(default_factory=list)  # managed notes whose question left the bank
    delete: bool = False  # --delete-missing: ``missing`` is deleted
    ambiguous: dict[str, list[Held]] = field(default_factory=dict)  # one identity, several notes: none touched
    retyped: list[tuple[Held, Wanted]] = field(default_factory=list)  # became a cloze, or stopped being one
    note_types: list[NoteTypeChange] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    @property
    def moved(self) -> list[Update]:
        return [u for u in self.updates if u.move]

    @property
    def updated(self) -> list[Update]:
        return [u for u in self.updates if u.writes and not u.move]

    @property
    def untouched(self) -> int:
        """Managed notes this push sends nothing to."""
        return self.unchanged + sum(1 for u in self.updates if not u.changes)


def note_type_change(held: NoteTypeHeld | None, css: str, templates: dict[str, tuple[str, str]],
                     written: Iterable[str], overwrite: bool) -> NoteTypeChange | None:
    """What to write into the note type: nothing when Anki's equals the bank's, the bank's when Anki's is one
    qaexport wrote (or ``overwrite``), else nothing but a note that the learner's own styling was kept."""
    if held is None:
        return None
    held_templates = {name: held.templates.get(name, ("", "")) for name in templates}
    if held.css == css and held_templates == templates:
        return None
    mine = value_fingerprint("notetype", fingerprint(held.css, *(x for pair in held_templates.values()
                                                                 for x in pair)))
    if mine not in set(written) and not overwrite:
        return NoteTypeChange(held.name, None, {}, kept=True)
    changed = {name: pair for name, pair in templates.items() if held_templates[name] != pair}
    return NoteTypeChange(held.name, css if held.css != css else None, changed)


def _update(held: Held, wanted: Wanted, written: set[str], overwrite: bool) -> Update:
    update = Update(held, wanted)
    for name, value in wanted.fields.items():
        now = held.fields.get(name, "")
        if now == value:
            continue
        if name == "Key" or value_fingerprint(name, now) in written:
            update.fields[name] = value  # stale: a value qaexport wrote (the Key is always qaexport's)
        elif overwrite:
            update.fields[name] = value
            update.overwritten.append(name)
        else:
            update.kept[name] = (now, value)
    old = held.qaexport_tags()
    new = {t.lower(): t for t in wanted.row.tags}
    if old != set(new):
        have = {t.lower() for t in held.tags}
        update.remove_tags = sorted(t for t in held.tags if t.lower() in old - set(new))
        update.add_tags = [t for low, t in new.items() if low not in have]
    for card in held.cards:
        deck = held.decks.get(card, "")
        if card in held.parked:
            update.parked.append(card)
        elif deck != wanted.deck:
            if overwrite or value_fingerprint("deck", deck) in written:
                update.move.append(card)
            else:
                update.kept_cards[card] = deck
    return update


def make_plan(wanted: list[Wanted], held: list[Held], written: Mapping[str, Iterable[str]], *,
              bank_identities: set[str], in_scope: Callable[[str], bool], overwrite: bool,
              delete_missing: bool) -> Plan:
    """The plan. ``written``: per GUID, the fingerprints of every value qaexport ever wrote into that note;
    ``bank_identities``: every question's identity in the whole bank (before filters)."""
    plan = Plan(delete=delete_missing)
    by_identity: dict[str, list[Held]] = {}
    for note in held:
        identity = note.identity
        if identity is not None:
            by_identity.setdefault(identity, []).append(note)
    for identity, notes in by_identity.items():
        if len(notes) > 1 and (identity in bank_identities or in_scope(notes[0].key)):
            plan.ambiguous[identity] = notes
    for want in wanted:
        notes = by_identity.get(want.identity)
        if not notes:
            plan.adds.append(want)
        elif len(notes) > 1:
            continue  # ambiguous: said, and left alone
        elif notes[0].model_id != want.row.model_id:  # neither API nor importer changes a note's type in place
            plan.retyped.append((notes[0], want))
        else:
            update = _update(notes[0], want, set(written.get(want.row.guid, ())), overwrite)
            if update.changes or update.kept or update.kept_cards or update.parked:
                plan.updates.append(update)
            else:
                plan.unchanged += 1
    for identity, notes in by_identity.items():
        if identity not in bank_identities and len(notes) == 1 and in_scope(notes[0].key):
            plan.missing.append(notes[0])
    gone_ids = {}
    for note in plan.missing:
        framework, *_, qid = note.key.split("/")
        gone_ids.setdefault((framework, qid), note)
    for want in plan.adds:
        key = want.ref.question.key
        was = gone_ids.get((key.split("/")[0], key.rsplit("/", 1)[-1]))
        if was is not None and want.ref.question.origin is None:
            plan.hints.append(f"{want.ref.question.location}: question {key} looks moved from {was.key} (its note "
                              f"and reviews are in Anki): add `from={was.identity}` to its heading to keep them, "
                              "else it becomes a new note")
    return plan
