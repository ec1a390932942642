"""``qaexport push``: keep a running Anki in step with the bank, through AnkiConnect.

The plan (``plan.py``) decides what changes; this module reads what Anki holds and carries the plan out. How each
change travels, and why:

* **New notes go through Anki's own package importer** (``importPackage``) with a package built on the fly by the
  same code as ``qaexport anki`` (``deck.py``), holding only the notes Anki does not have. ``addNote(s)`` cannot
  set a GUID (Anki invents one), and the GUID is what makes a pushed note and the same note imported from an
  ``.apkg`` one note, in either order. The notes carry the times the ``.apkg`` route gives them (the note-time
  ledger), so a later import of the same content leaves them alone. The package's note type has time 1, so the
  import never changes the note type: push writes it through the API, keeping a learner's own styling.
* **Changes to notes Anki has go through the API**: ``updateNoteFields`` with only the fields that change,
  ``removeTags``/``addTags`` with only qaexport's tags. The importer would replace every field and tag of a note
  (the learner's edits and tags with them), and only when the package's copy is newer.
* **Moves** with ``changeDeck`` (the importer never moves an existing card), **deletions** with ``deleteNotes``;
  decks that a move or deletion leaves empty, which qaexport made, are removed, so a new ``--deck-name`` moves the
  tree instead of leaving two (a new deck takes the old one's options preset).
* **Batches**: AnkiConnect does one request at a time on Anki's main thread; actions go in ``multi`` requests of
  bounded size, one after another (``connect.py``). A failed action is reported for its note and the rest goes on.
* **Reruns finish the job**: every step is found again by the Key field on the next run (a note added before an
  interruption is matched, not added twice; the GUID would stop a duplicate anyway), so running the same push
  again completes an interrupted one.
* Where the importer cannot be trusted to agree, push checks: where the new notes' cards landed (moved if
  elsewhere), and that updated fields read back as written (a note open in Anki's editor can lose an update).

qaexport has two note types (``identity``): Q&A, and Cloze for questions with ``{{c1::…}}`` deletions (a card per
deletion number). Both are read, matched by Key and written by field name alike; a question that becomes a cloze
(or stops being one) cannot change its note's type through AnkiConnect or the importer, so push says so and leaves
the note. Images travel on their own (``storeMediaFile``, content-addressed names, only when Anki lacks the name).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ... import scratch
from ...errors import UsageError
from ...model import Library, Media
from .. import Build, option
from .connect import DEFAULT_URL, ActionError, AnkiConnect, AnkiConnectError, Outcome, endpoint
from .deck import FIELD_NAMES, NOTETYPE_KEYS, DeckContent, used_media, write_package
from .differences import kept_edit
from .identity import CLOZE_MODEL_ID, CLOZE_TEMPLATE_NAME, MODEL_ID, TEMPLATE_NAME
from .ledger import location, note_times, note_type_changes, value_fingerprint
from .plan import Held, NoteTypeChange, NoteTypeHeld, Plan, Update, Wanted, make_plan, note_type_change

#: qaexport's note types: their template names (the schema push checks before writing into them).
TEMPLATES = {MODEL_ID: TEMPLATE_NAME, CLOZE_MODEL_ID: CLOZE_TEMPLATE_NAME}
_OURS = f"(mid:{MODEL_ID} OR mid:{CLOZE_MODEL_ID})"
#: Notes per ``notesInfo`` request (their fields come back: ~4 MiB for 1,000 long answers).
READ_CHUNK = 1000
#: Cards per ``getDecks``/``changeDeck`` request, notes per ``deleteNotes``.
CARD_CHUNK = 5000
#: Notes per imported package: each import is one transaction in Anki, done within a request's timeout.
IMPORT_CHUNK = 1000
#: Through a remote Anki the package travels as request data, which AnkiConnect reads slowly when large.
IMPORT_CHUNK_REMOTE = 100
#: Exit status of a push that finished but could not apply everything (a note failed, one was open in Anki's
#: browser, the sync was refused); what did go through stays, and a rerun retries the rest.
INCOMPLETE = 5
_FULL_SYNC = re.compile(r"Sync status (\d+) not one of")
T = TypeVar("T")


@dataclass
class PushOptions:
    """``qaexport push``'s own options (the ``[push]`` table of ``qaexport.toml``); the deck layout is the
    ``anki`` command's (``--deck-name``, ``--flat``, its ``[anki]`` table), so both routes agree."""

    url: str = option(DEFAULT_URL, "AnkiConnect's address. Anything but this machine needs --allow-remote.")
    allow_remote: bool = option(False, "Allow a --url that is not this machine (the API key and the notes travel "
                                       "over the network; unencrypted over http).")
    delete_missing: bool = option(False, "Delete the notes of questions that are no longer in the bank (never "
                                         "without this; --dry-run lists them).")
    overwrite_edits: bool = option(False, "Replace fields (and decks, styling) the learner edited in Anki with the "
                                          "bank's (without it they are kept and reported).")
    sync: bool = option(False, "Ask Anki to sync with AnkiWeb at the end.")
    timeout: float = option(60.0, "Seconds to wait for each answer from Anki.")

    def __post_init__(self) -> None:
        endpoint(self.url, self.allow_remote)  # a wrong or remote --url fails before anything is read
        if not self.timeout > 0:
            raise UsageError(f"--timeout {self.timeout:g}: give a number of seconds above 0")


class PushCommand:
    """The push's options as the config file's ``[push]`` table and as ``qaexport push``'s flags."""

    name = "push"
    Options = PushOptions


@dataclass
class Report:
    """What a push did (or, in a dry run, would do): counts, one line per thing worth telling, failures."""

    dry_run: bool
    added: int = 0
    updated: int = 0
    moved: int = 0
    deleted: int = 0
    unchanged: int = 0
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def exit_code(self) -> int:
        return INCOMPLETE if self.failures else 0

    def summary(self) -> str:
        counts = (f"{self.added} added, {self.updated} updated, {self.moved} moved, {self.deleted} deleted, "
                  f"{self.unchanged} unchanged")
        if self.dry_run:
            return f"dry run, nothing changed; a push would give: {counts}"
        failed = f"; {len(self.failures)} not done (see above), run the push again" if self.failures else ""
        return counts + failed


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _search_text(text: str) -> str:
    """Text inside a quoted Anki search term: its own special characters escaped."""
    return re.sub(r'(["*_\\])', r"\\\1", text)


class Pusher:
    """One push: read what Anki holds, plan, carry the plan out, report."""

    def __init__(self, build: Build, content: DeckContent, options: PushOptions, client: AnkiConnect, *,
                 bank_identities: set[str], in_scope: Callable[[str], bool], dry_run: bool) -> None:
        self.build = build
        self.content = content
        self.options = options
        self.client = client
        self.bank_identities = bank_identities
        self.in_scope = in_scope
        self.dry_run = dry_run
        self.report = Report(dry_run)
        self.now = int(build.time)
        self._types: dict[str, int] = {}  # qaexport's note types in Anki: name → id

    # ---------------------------------------------------------------------------------------------- reading

    def _answer(self, action: str, value: Any, kind: type) -> Any:
        if not isinstance(value, kind):
            raise AnkiConnectError(f"{self.client.where.url} answered {action} with {type(value).__name__}, not "
                                   f"{kind.__name__}; is it AnkiConnect?")
        return value

    def read_note_types(self) -> dict[int, NoteTypeHeld]:
        """qaexport's note types that Anki has, by id (a missing one comes with the first import that needs it)."""
        found: dict[int, NoteTypeHeld] = {}
        for model_id, outcome in zip(TEMPLATES, self.client.multi([("modelNameFromId", {"modelId": model_id})
                                                                    for model_id in TEMPLATES]), strict=True):
            if outcome.error is not None:
                if "not found" in outcome.error:
                    continue
                raise AnkiConnectError(f"Anki refused to name qaexport's note type {model_id}: {outcome.error}")
            found[model_id] = self._note_type(model_id, self._answer("modelNameFromId", outcome.result, str))
        return found

    def _result(self, outcome: Outcome) -> Any:
        if outcome.error is not None:
            raise AnkiConnectError(f"Anki refused to describe qaexport's note type: {outcome.error}")
        return outcome.result

    def _note_type(self, model_id: int, name: str) -> NoteTypeHeld:
        names, styling, templates = (self._result(o) for o in self.client.multi([
            ("modelFieldNames", {"modelName": name}), ("modelStyling", {"modelName": name}),
            ("modelTemplates", {"modelName": name})]))
        held = NoteTypeHeld(model_id, name, tuple(self._answer("modelFieldNames", names, list)),
                            str(self._answer("modelStyling", styling, dict).get("css", "")),
                            {str(k): (str(v.get("Front", "")), str(v.get("Back", "")))
                             for k, v in self._answer("modelTemplates", templates, dict).items()
                             if isinstance(v, dict)})
        fields, template = FIELD_NAMES[model_id], TEMPLATES[model_id]
        if held.fields != fields or template not in held.templates:
            raise AnkiConnectError(
                f"Anki's note type {name!r} (qaexport's, id {model_id}) was changed: it has fields "
                f"{', '.join(held.fields)} and templates {', '.join(held.templates)}, qaexport writes "
                f"{', '.join(fields)} and {template!r}; a changed note type makes Anki copy it on import. "
                "Restore its fields and template names in Anki (Tools › Manage Note Types) and push again")
        return held

    def read_notes(self, note_ids: Sequence[int] | None = None) -> list[Held]:
        """qaexport's notes in Anki (all of them, or these ids), with their cards' decks."""
        if note_ids is None:
            note_ids = self._answer("findNotes", self.client.call("findNotes", query=_OURS), list)
        infos: list[dict[str, Any]] = []
        with self.build.progress("Reading Anki", len(note_ids)) as advance:
            for chunk in _chunks(list(note_ids), READ_CHUNK):
                infos += [i for i in self._answer("notesInfo", self.client.call("notesInfo", notes=list(chunk)), list)
                          if isinstance(i, dict) and i]
                advance(len(chunk))
        cards = [card for info in infos for card in info.get("cards", [])]
        decks: dict[int, str] = {}
        for chunk in _chunks(cards, CARD_CHUNK):
            found = self._answer("getDecks", self.client.call("getDecks", cards=list(chunk)), dict)
            decks.update({int(card): str(name) for name, ids in found.items() for card in ids})
        parked = set(self._answer("findCards", self.client.call(
            "findCards", query=f"{_OURS} deck:filtered"), list)) if cards else set()
        held = []
        for info in infos:
            fields = {str(name): str(value.get("value", "")) for name, value in info.get("fields", {}).items()
                      if isinstance(value, dict)}
            note_cards = tuple(int(c) for c in info.get("cards", []))
            held.append(Held(int(info["noteId"]), fields, tuple(str(t) for t in info.get("tags", [])), note_cards,
                             {c: decks.get(c, "") for c in note_cards},
                             frozenset(c for c in note_cards if c in parked), self._types.get(info.get("modelName"))))
        return held

    # ---------------------------------------------------------------------------------------------- planning

    def wanted(self) -> list[Wanted]:
        names = self.content.deck_names
        return [Wanted(row, ref, names[row.deck_id]) for row, ref in zip(self.content.notes, self.content.refs,
                                                                         strict=True)]

    def plan(self) -> tuple[Plan, dict[str, tuple[str, ...]], list[Held]]:
        self.client.handshake()
        note_types = self.read_note_types()
        self._types = {t.name: t.model_id for t in note_types.values()}
        held = self.read_notes()
        ledger = location(self.build.state_dir) if self.build.state_dir else None
        if not self.dry_run:  # Anki itself tells this run of a changed type; the ledger keeps it for exports
            note_type_changes(ledger, {n.guid: n.model_id for n in self.content.notes}, MODEL_ID)
        times = note_times(ledger, self.content.fingerprints(), {}, self.now, self.build.warn,
                           written_of=self.content.written_of, record=not self.dry_run)
        for row in self.content.notes:
            row.mod = times[row.guid]
        plan = make_plan(self.wanted(), held, times.written, bank_identities=self.bank_identities,
                         in_scope=self.in_scope, overwrite=self.options.overwrite_edits,
                         delete_missing=self.options.delete_missing)
        for model_id, (css, front, back) in self.content.parts.items():
            change = note_type_change(note_types.get(model_id), css, {TEMPLATES[model_id]: (front, back)},
                                      times.written.get(NOTETYPE_KEYS[model_id], ()), self.options.overwrite_edits)
            if change is not None:
                plan.note_types.append(change)
        return plan, times.written, held

    # ---------------------------------------------------------------------------------------------- running

    def run(self) -> Report:
        plan, written, held = self.plan()
        report = self.report
        self._describe(plan)
        if self.dry_run:
            report.added, report.deleted = len(plan.adds), len(plan.missing) if plan.delete else 0
            report.updated, report.moved = len(plan.updated), len(plan.moved)
            report.unchanged = plan.untouched
            report.requests = self.client.requests
            return report
        report.unchanged = plan.untouched
        for change in plan.note_types:
            if not change.kept:
                self._write_note_type(change)
        self._send_media([w.row for w in plan.adds] + [u.wanted.row for u in plan.updates if u.fields])
        misplaced = self._add(plan.adds, {n.note_id for n in held})
        self._update([u for u in plan.updates if u.writes])
        moves = [(card, u.wanted.deck, u.held.decks.get(card, ""), u) for u in plan.moved for card in u.move]
        self._move(moves + misplaced)
        if plan.delete:
            self._delete(plan.missing)
        all_written = {v for values in written.values() for v in values}
        self._remove_empty_decks({deck for _, _, deck, _ in moves + misplaced} |
                                 {d for n in plan.missing if plan.delete for d in n.decks.values()}, all_written)
        if self.options.sync:
            self._sync()
        report.requests = self.client.requests
        return report

    def _describe(self, plan: Plan) -> None:
        """What the plan does, one line per note in a dry run; what needs the user's eye in any run."""
        lines, verb = self.report.lines, ("would " if self.dry_run else "")
        if self.dry_run:
            for want in plan.adds:
                lines.append(f"{verb}add {want.label} to {want.deck}")
            for update in plan.updates:
                if update.move:
                    decks = sorted({update.held.decks.get(c, "") for c in update.move})
                    lines.append(f"{verb}move {update.wanted.label} from {', '.join(decks)} to {update.wanted.deck}")
                if update.writes:
                    what = [*update.fields, *(["tags"] if update.remove_tags or update.add_tags else [])]
                    lines.append(f"{verb}update {update.wanted.label}: {', '.join(what)}")
            lines += [f"{verb}update the note type {change.name!r} (styling or templates)"
                      for change in plan.note_types if not change.kept]
        for update in plan.updates:
            for name in update.overwritten:
                lines.append(f"{'would replace' if self.dry_run else 'replaced'} the learner's edit of {name} in "
                             f"{update.wanted.label} (--overwrite-edits)")
            for name, (theirs, ours) in update.kept.items():
                lines.append(f"kept the learner's edit of {name} in {update.wanted.label}"
                             f"{kept_edit(theirs, ours)} (--overwrite-edits replaces it)")
        lines += _grouped_cards(plan.updates)
        lines += [f"kept the learner's styling of the note type {change.name!r} (the bank's theme differs; "
                  "--overwrite-edits replaces it)" for change in plan.note_types if change.kept]
        for note, want in plan.retyped:
            kind = "a cloze" if want.row.model_id == CLOZE_MODEL_ID else "a plain question"
            lines.append(f"left {want.label} as it is in Anki (note {note.note_id}): it became {kind}, and Anki "
                         "cannot change an existing note's type; delete that note in Anki (its reviews go with "
                         "it) and push again to add the new one")
        for identity, notes in plan.ambiguous.items():
            ids = ", ".join(str(n.note_id) for n in notes)
            lines.append(f"left alone: {len(notes)} notes claim {identity} (note ids {ids}); delete the extra ones "
                         "in Anki, then push again")
        if plan.missing:
            if plan.delete:
                if self.dry_run:
                    lines += [f"would delete {note.key} (note {note.note_id}): no longer in the bank"
                              for note in plan.missing]
            else:
                shown = ", ".join(n.key for n in plan.missing[:3]) + (", …" if len(plan.missing) > 3 else "")
                lines.append(f"kept {_plural(len(plan.missing), 'note')} whose question is no longer in the bank "
                             f"({shown}); --delete-missing deletes them (see them first with --dry-run)")
        lines += plan.hints

    def _write_note_type(self, change: NoteTypeChange) -> None:
        calls: list[tuple[str, dict[str, Any]]] = []
        if change.css is not None:
            calls.append(("updateModelStyling", {"model": {"name": change.name, "css": change.css}}))
        if change.templates:
            calls.append(("updateModelTemplates", {"model": {"name": change.name, "templates": {
                name: {"Front": front, "Back": back} for name, (front, back) in change.templates.items()}}}))
        errors = [o.error for o in self.client.multi(calls) if o.error is not None]
        if errors:
            self.report.failures.append(f"note type {change.name!r} not updated: {errors[0]}")
        else:
            self.report.lines.append(f"updated the note type {change.name!r} (styling or templates)")

    # media

    def _send_media(self, rows: list[Any]) -> None:
        """The images the written notes show, stored once under their content-addressed names."""
        media = used_media(self.content.library, rows)
        if not media:
            return
        present = self.client.multi([("getMediaFilesNames", {"pattern": m.name}) for m in media])
        missing = [m for m, outcome in zip(media, present, strict=True)
                   if not (isinstance(outcome.result, list) and m.name in outcome.result)]
        if not missing:
            return
        with scratch.folder("push") as tmp:
            for item in missing:
                self._store(item, Path(tmp))

    def _store(self, item: Media, folder: Path) -> None:
        if self.client.where.local:
            path = folder / item.name
            path.write_bytes(item.data)
            try:
                self.client.call("storeMediaFile", filename=item.name, path=str(path))
                return
            except ActionError:
                pass  # Anki cannot read our file (another user, a container): send the bytes
        try:
            self.client.call("storeMediaFile", filename=item.name, data=base64.b64encode(item.data).decode("ascii"))
        except ActionError as exc:
            self.report.failures.append(f"image {item.name} not stored: {exc.reason}")

    # adds

    def _add(self, adds: list[Wanted], before: set[int]) -> list[tuple[int, str, str, Any]]:
        """Import the new notes; then find them by their Key and check where their cards landed. Returns the
        cards to move (a card the importer put anywhere but the bank's deck)."""
        if not adds:
            return []
        size = IMPORT_CHUNK if self.client.where.local else IMPORT_CHUNK_REMOTE
        first_id = self.now * 1000  # ids the packages' notes and cards take in turn (Anki keeps them when free)
        # Note types with time 1: the import never changes one; push writes them through the API.
        old = dict.fromkeys(self.content.parts, 1)
        with scratch.folder("push") as tmp, \
                self.build.progress("Adding notes", len(adds)) as advance:
            for number, start in enumerate(range(0, len(adds), size)):
                chunk = adds[start:start + size]
                path = Path(tmp) / f"qaexport-push-{self.now}-{number}.apkg"
                write_package(path, self.content, [w.row for w in chunk], old, self.build.time, str(path),
                              first_id=first_id, with_media=False)
                first_id += 2 * (len(chunk) + sum(len(w.row.ords) for w in chunk))
                try:
                    self._import(path)
                except ActionError as exc:
                    self.report.failures += [f"{w.label}: not added: {exc.reason}" for w in chunk]
                advance(len(chunk))
        ids = self._answer("findNotes", self.client.call("findNotes", query=_OURS), list)
        landed = {note.identity: note for note in self.read_notes([i for i in ids if i not in before])}
        misplaced = []
        failed = {line.split(": not added", 1)[0] for line in self.report.failures}
        for want in adds:
            note = landed.get(want.identity)
            if note is None:
                if want.label not in failed:
                    self.report.failures.append(
                        f"{want.label}: not added: Anki kept a note with this question's identity whose Key field "
                        f"was changed; find it (its deck: {want.deck}) and restore its Key to "
                        f"{want.fields['Key']}, or delete it, then push again")
                continue
            self.report.added += 1
            misplaced += [(card, want.deck, note.decks.get(card, ""), None) for card in note.cards
                          if note.decks.get(card) != want.deck and card not in note.parked]
        return misplaced

    def _import(self, path: Path) -> None:
        """``importPackage`` from a path Anki can read: ours when Anki runs here, else the package goes into
        Anki's media folder first (and out again)."""
        if self.client.where.local:
            try:
                self.client.call("importPackage", path=str(path))
                return
            except ActionError as exc:
                if not re.search(r"open|No such file|denied|not found", exc.reason, re.I):
                    raise
        stored = self.client.call("storeMediaFile", filename=path.name,
                                  data=base64.b64encode(path.read_bytes()).decode("ascii"))
        folder = str(self.client.call("getMediaDirPath"))
        separator = "\\" if "\\" in folder and "/" not in folder else "/"
        try:
            self.client.call("importPackage", path=folder.rstrip(separator) + separator + str(stored or path.name))
        finally:
            self.client.call("deleteMediaFile", filename=str(stored or path.name))

    # updates

    def _update(self, updates: list[Update]) -> None:
        if not updates:
            return
        try:
            selected = set(self.client.call("guiSelectedNotes") or [])
        except ActionError:
            selected = set()  # an AnkiConnect without the browser's selection
        calls: list[tuple[str, dict[str, Any]]] = []
        owners: list[Update] = []
        for update in updates:
            nid = update.held.note_id
            if nid in selected:
                self.report.failures.append(
                    f"{update.wanted.label}: not updated: it is open in Anki's browser (note {nid}), whose editor "
                    "would write its old text back; select another note or close the browser, then push again")
                continue
            if update.fields:
                calls.append(("updateNoteFields", {"note": {"id": nid, "fields": update.fields}}))
                owners.append(update)
            if update.remove_tags:
                calls.append(("removeTags", {"notes": [nid], "tags": " ".join(update.remove_tags)}))
                owners.append(update)
            if update.add_tags:
                calls.append(("addTags", {"notes": [nid], "tags": " ".join(update.add_tags)}))
                owners.append(update)
        failed: dict[int, str] = {}
        with self.build.progress("Updating notes", len(calls)) as advance:
            for update, outcome in zip(owners, self.client.multi(calls, advance), strict=True):
                if outcome.error is not None:
                    failed.setdefault(update.held.note_id, outcome.error)
        done = [u for u in updates if u.held.note_id not in selected and u.held.note_id not in failed]
        for nid, reason in failed.items():
            label = next(u.wanted.label for u in updates if u.held.note_id == nid)
            self.report.failures.append(f"{label}: not updated: {reason}")
        self._verify(done)

    def _verify(self, done: list[Update]) -> None:
        """Read the updated notes back: a field that does not hold what was written did not take."""
        check = [u for u in done if u.fields]
        back = {n.note_id: n for n in self.read_notes([u.held.note_id for u in check])} if check else {}
        for update in done:
            note = back.get(update.held.note_id)
            if update.fields and (note is None or any(note.fields.get(k) != v for k, v in update.fields.items())):
                self.report.failures.append(f"{update.wanted.label}: not updated: Anki still shows another text "
                                            f"(note {update.held.note_id}); push again")
            elif not update.move:
                self.report.updated += 1

    # moves and deletions

    def _move(self, moves: list[tuple[int, str, str, Any]]) -> None:
        """Cards into their decks, per deck; a new deck takes the options preset of the deck its cards left."""
        if not moves:
            return
        known = set(self._answer("deckNames", self.client.call("deckNames"), list))
        by_deck: dict[str, list[int]] = {}
        sources: dict[str, set[str]] = {}
        for card, deck, was, _ in moves:
            by_deck.setdefault(deck, []).append(card)
            sources.setdefault(deck, set()).add(was)
        calls = [("changeDeck", {"cards": list(chunk), "deck": deck})
                 for deck, cards in by_deck.items() for chunk in _chunks(cards, CARD_CHUNK)]
        decks_of = [deck for deck, cards in by_deck.items() for _ in _chunks(cards, CARD_CHUNK)]
        failed = {deck: o.error for deck, o in zip(decks_of, self.client.multi(calls), strict=True) if o.error}
        moved_notes = {id(u) for _, deck, _, u in moves if u is not None and deck not in failed}
        for update in {id(u): u for _, _, _, u in moves if u is not None}.values():
            if id(update) in moved_notes:
                self.report.moved += 1
            else:
                self.report.failures.append(f"{update.wanted.label}: not moved to {update.wanted.deck}: "
                                            f"{failed.get(update.wanted.deck)}")
        for deck, reason in failed.items():
            if not any(u is not None and u.wanted.deck == deck for *_, u in moves):
                self.report.failures.append(f"new cards not moved to {deck}: {reason}")
        self._carry_options({d: s for d, s in sources.items() if d not in known and d not in failed and len(s) == 1})

    def _carry_options(self, new_decks: dict[str, set[str]]) -> None:
        for deck, (old,) in new_decks.items():
            config = self.client.call("getDeckConfig", deck=old) if old else None
            if isinstance(config, dict) and str(config.get("id")) not in ("1", "None") and not config.get("dyn"):
                self.client.call("setDeckConfigId", decks=[deck], configId=config["id"])

    def _delete(self, notes: list[Held]) -> None:
        if not notes:
            return
        chunks = list(_chunks(notes, CARD_CHUNK))
        outcomes = self.client.multi([("deleteNotes", {"notes": [n.note_id for n in chunk]}) for chunk in chunks])
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if outcome.error is None:
                self.report.deleted += len(chunk)
                self.report.lines += [f"deleted {n.key} (note {n.note_id}): no longer in the bank" for n in chunk]
            else:
                self.report.failures += [f"{n.key}: not deleted: {outcome.error}" for n in chunk]

    def _remove_empty_decks(self, left: set[str], written: set[str]) -> None:
        """Decks qaexport made that moves or deletions left without a card (and their parents, once empty), so a
        new --deck-name moves the tree rather than leaving an empty one. A deck holding any card, the learner's
        or ours, a deck with other subdecks, and Anki's Default deck stay."""
        wanted = set(self.content.deck_names.values())
        keep = wanted | {"::".join(name.split("::")[:i]) for name in wanted for i in range(1, name.count("::") + 1)}
        ours = {d for d in left if d and value_fingerprint("deck", d) in written}
        candidates = ours | {"::".join(d.split("::")[:i]) for d in ours for i in range(1, d.count("::") + 1)}
        candidates -= keep | {"Default", ""}
        if not candidates:
            return
        names = set(self._answer("deckNames", self.client.call("deckNames"), list))
        removed: list[str] = []
        for deck in sorted(candidates & names, key=lambda d: -d.count("::")):
            if any(n.startswith(deck + "::") for n in names):
                continue  # a subdeck remains (the learner's, or one that still holds cards)
            if self.client.call("findCards", query=f'"deck:{_search_text(deck)}"'):
                continue
            self.client.call("deleteDecks", decks=[deck], cardsToo=True)
            names.discard(deck)
            removed.append(deck)
        if removed:
            self.report.lines.append(f"removed {_plural(len(removed), 'empty deck')} qaexport had made "
                                     f"({', '.join(removed[:3])}{', …' if len(removed) > 3 else ''})")

    def _sync(self) -> None:
        try:
            self.client.call("sync")
        except ActionError as exc:
            full = _FULL_SYNC.search(exc.reason)
            if full:
                self.report.failures.append("not synced: AnkiWeb asks for a full sync (one side must replace the "
                                            "other); open Anki, press Sync and choose which copy to keep")
            elif "auth" in exc.reason:
                self.report.failures.append("not synced: Anki is not logged in to AnkiWeb; log in once with "
                                            "Anki's Sync button")
            else:
                self.report.failures.append(f"not synced: {exc.reason}")
            return
        self.report.lines.append("asked Anki to sync with AnkiWeb")


#: Notes named one by one in a line about cards left where they are; more are counted ("… and 497 more").
NAMED = 3


def _grouped_cards(updates: Sequence[Update]) -> list[str]:
    """Cards a push leaves where the learner put them, one line per deck: a renamed deck or a filtered deck of
    hundreds of cards is one line, not hundreds, on every push until the learner moves them."""
    kept: dict[str, list[Update]] = {}
    parked: list[Update] = []
    for update in updates:
        if update.kept_cards:
            kept.setdefault(", ".join(sorted(set(update.kept_cards.values()))), []).append(update)
        if update.parked:
            parked.append(update)
    lines = []
    for decks, group in kept.items():
        if len(group) == 1:
            lines.append(f"kept {group[0].wanted.label} in {decks}, where the learner put it (the bank says "
                         f"{group[0].wanted.deck}; --overwrite-edits moves it)")
        else:
            bank = sorted({u.wanted.deck for u in group})
            lines.append(f"kept {len(group)} notes in {decks}, where the learner put them ({_named(group)}; the "
                         f"bank says {_shown(bank)}; --overwrite-edits moves them)")
    if len(parked) == 1:
        lines.append(f"left {parked[0].wanted.label} in a filtered deck; it goes back to its deck when that deck "
                     "is emptied, and the next push puts it in place")
    elif parked:
        lines.append(f"left {len(parked)} notes in filtered decks ({_named(parked)}); they go back to their decks "
                     "when those are emptied, and the next push puts them in place")
    return lines


def _named(group: Sequence[Update]) -> str:
    return _shown([u.wanted.ref.question.key for u in group])


def _shown(names: Sequence[str]) -> str:
    more = len(names) - NAMED
    return ", ".join(names[:NAMED]) + (f" and {more} more" if more > 0 else "")


def bank_scope(library: Library, topic_filtered: bool) -> Callable[[str], bool]:
    """Which notes a push covers, for --delete-missing: keys in the bank's frameworks, or with ``--topic`` in
    the selected subtopics (a note of another bank pushed separately is never missing from this one)."""
    if topic_filtered:
        places = {(fw.slug, t.slug, s.slug) for fw, t, s in library.subtopics()}
        return lambda key: tuple(key.split("/")[:3]) in places
    frameworks = {fw.slug for fw in library.frameworks}
    return lambda key: key.split("/", 1)[0] in frameworks
