"""Renamed places, told: a question whose key changed gets a new note (its GUID derives from the key).

A framework, topic or subtopic without a ``slug`` takes its slug from its name, so renaming it changes the key of
every question under it: Anki imports them as new notes and the learners' reviews stay on the old ones. The bank
cannot say what a place was called before, but the deck learners hold can: a note of the earlier deck (``--previous``
or the output file) that is gone, whose question id is now under another place as a note nothing knows, is that
question renamed away from its note. Said once per pair of places, with the slug that gives the notes back.

A rename that also renames the default output (the file is named after the only framework and topic) leaves the
earlier deck beside the new one, under its old name: it is read too when the build manifest shows that this very
command (same sources, options, working folder) wrote it there and it still holds those bytes (``Build.earlier``).
Any other file in the folder is never opened: a deck of another bank there could share question ids by chance.

A question whose own id changed forks its note the same way. A gone note of the earlier deck whose place now holds
a note nothing knows, with the very question text the earlier deck's bank member stored for it, under another id,
is that question's id changed: told per question, with the id to give back or the ``from=`` that keeps its note.
Only one gone note and one new question of that text in that place are told (two of either could be paired either
way), and a question whose text changed too is not (no guessing); a deck without a bank member (exported from Anki)
has no texts, so nothing is told from it. Warnings only: no output changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError
from ...formats.anki_archive import PackageArchive
from ...formats.anki_package import BANK_MEMBER, BankError, read_bank
from ...model import QuestionRef
from ...reading import file_digest
from .collection import Previous
from .identity import note_guid

LEVELS = ("framework", "topic", "subtopic")

#: Largest earlier deck beside the output that is checked (hashed whole) and read for its keys.
MAX_EARLIER_BYTES = 1024 * 1024 * 1024
#: Largest bank member read for its keys (the ``.apkg`` source's own cap is larger; a deck over this is not told).
MAX_BANK_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Held:
    """A note learners may hold: its question's key, the earlier deck it is in, and its question's text as that
    deck's bank member stored it (None when the deck has none, or its bank gives that note another key)."""

    key: str
    path: Path
    text: str | None = None


def package_questions(path: Path) -> dict[str, tuple[str, str]]:
    """GUID → (question key, question text) of a package qaexport wrote, from its bank member (a zip member: no
    collection is unpacked); empty when it has none or it cannot be read (a rename is then not told, nothing else
    changes)."""
    try:
        with PackageArchive.open(path) as archive:
            if not archive._has(BANK_MEMBER):
                return {}
            bank = read_bank(archive._read_small(BANK_MEMBER, MAX_BANK_BYTES))
    except (InputError, BankError, OSError):
        return {}
    return {note_guid(str(q["origin"] or q["key"])): (str(q["key"]), str(q["question"]))
            for fw in bank.frameworks for topic in fw.children for sub in topic.children for q in sub.questions}


def earlier_notes(own: list[Path], held: list[Path], files: list[Previous]) -> dict[str, Held]:
    """GUID → :class:`Held`, of every earlier deck there is: ``own`` (this command's earlier builds beside the
    output, :func:`own_earlier`) and ``held`` (packages the note-time ledger wrote) by their bank members; ``files``
    (the packages read) by their notes' Key fields, with the texts of their bank members where those agree."""
    notes = {guid: Held(key, path, text) for path in (*own, *held)
             for guid, (key, text) in package_questions(path).items()}
    for found in files:
        stored = package_questions(found.path)
        notes.update((guid, Held(key, found.path, stored[guid][1] if stored.get(guid, ("",))[0] == key else None))
                     for guid, key in found.keys.items())
    return notes


def own_earlier(earlier: tuple[tuple[Path, str], ...], read: tuple[Path | None, ...]) -> list[Path]:
    """The decks of ``Build.earlier`` (this command's earlier builds, beside the output under another name) that
    still hold the bytes they were written with, other than those in ``read``: a file of another size is not
    hashed, one over ``MAX_EARLIER_BYTES`` not read at all; another file put at that path is left alone."""
    seen = {os.path.abspath(p) for p in read if p is not None}
    kept = []
    for path, digest in earlier:
        size = digest.split(":", 1)[0]
        if os.path.abspath(path) in seen or not size.isdigit() or int(size) > MAX_EARLIER_BYTES:
            continue
        try:
            if os.stat(path).st_size != int(size):
                continue
        except OSError:
            continue
        if file_digest(path) == digest:
            kept.append(path)
    return kept


def say_renamed(warn: Callable[[str], None], new: list[QuestionRef], current: set[str],
                earlier: dict[str, Held]) -> None:
    """``new``: the questions whose notes nothing knows; ``current``: every GUID of this deck; ``earlier``: the
    notes learners may hold (:func:`earlier_notes`)."""
    gone: dict[str, list[tuple[str, Path]]] = {}
    for guid, note in earlier.items():
        if guid not in current:
            place, _, qid = note.key.rpartition("/")
            gone.setdefault(qid, []).append((place, note.path))
    moves: dict[tuple[str, str], list[QuestionRef]] = {}
    sources: dict[tuple[str, str], Path] = {}
    for ref in new:
        place = ref.question.key.rpartition("/")[0]
        for before, path in gone.get(ref.question.id, []):
            if before != place:
                moves.setdefault((before, place), []).append(ref)
                sources.setdefault((before, place), path)
    for (before, after), refs in moves.items():
        pins = [f"{level} `slug: {old}`" for level, old, now in zip(LEVELS, before.split("/"), after.split("/"),
                                                                          strict=True) if old != now]
        n = len(refs)
        warn(f"{refs[0].question.location}: {n} question{'s' if n != 1 else ''} (e.g. {refs[0].question.id!r}) "
             f"moved from {before} to {after} since {sources[(before, after)]}: their keys changed, so Anki imports "
             f"them as new notes and the learners' reviews stay on the old ones. If you renamed a place, give it back "
             f"its old slug ({', '.join(pins)}); if the questions moved on purpose, keep their notes with "
             f"`from={before}/<id>` on each")


def say_new_ids(warn: Callable[[str], None], questions: list[QuestionRef], new: list[QuestionRef],
                current: set[str], earlier: dict[str, Held]) -> None:
    """A question whose id changed in its place: ``questions``, every question of this deck; ``new``, ``current``
    and ``earlier`` as for :func:`say_renamed`. One pass over each, by (place, question text): a pair is told only
    when it is the only gone note and the only question of the deck (a new one, without ``from=``: that names its
    note itself) of that text in that place, under two ids."""
    gone: dict[tuple[str, str], dict[str, Held]] = {}
    for guid, note in earlier.items():
        if guid not in current and note.text is not None:
            gone.setdefault((note.key.rpartition("/")[0], note.text), {})[note.key] = note
    if not gone:
        return
    fresh = {ref.question.key for ref in new if ref.question.origin is None}
    here: dict[tuple[str, str], list[QuestionRef]] = {}
    for ref in questions:
        here.setdefault((ref.question.key.rpartition("/")[0], ref.question.question), []).append(ref)
    for where, refs in here.items():  # in the deck's order
        was = gone.get(where, {})
        if len(refs) != 1 or len(was) != 1 or refs[0].question.key not in fresh:
            continue
        q, old = refs[0].question, next(iter(was.values()))
        old_id = old.key.rpartition("/")[2]
        if old_id != q.id:
            warn(f"{q.location}: question id {old_id!r} became {q.id!r} since {old.path} (the same question in the "
                 f"same place): its key changed, so Anki imports it as a new note and the learners' reviews stay "
                 f"on the old one. Give it back its id {old_id!r}, or keep the learners' reviews with "
                 f"`from={old.key}`")
