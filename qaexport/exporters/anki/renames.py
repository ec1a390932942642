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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ...errors import InputError
from ...formats.anki_archive import PackageArchive
from ...formats.anki_package import BANK_MEMBER, BankError, read_bank
from ...model import QuestionRef
from ...reading import file_digest
from .identity import note_guid

LEVELS = ("framework", "topic", "subtopic")

#: Largest earlier deck beside the output that is checked (hashed whole) and read for its keys.
MAX_EARLIER_BYTES = 1024 * 1024 * 1024
#: Largest bank member read for its keys (the ``.apkg`` source's own cap is larger; a deck over this is not told).
MAX_BANK_BYTES = 256 * 1024 * 1024


def package_keys(path: Path) -> dict[str, str]:
    """GUID → question key of a package qaexport wrote, from its bank member (a zip member: no collection is
    unpacked); empty when it has none or it cannot be read (a rename is then not told, nothing else changes)."""
    try:
        with PackageArchive.open(path) as archive:
            if not archive._has(BANK_MEMBER):
                return {}
            bank = read_bank(archive._read_small(BANK_MEMBER, MAX_BANK_BYTES))
    except (InputError, BankError, OSError):
        return {}
    return {note_guid(str(q["origin"] or q["key"])): str(q["key"])
            for fw in bank.frameworks for topic in fw.children for sub in topic.children for q in sub.questions}


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
                earlier: dict[str, tuple[str, Path]]) -> None:
    """``new``: the questions whose notes nothing knows; ``current``: every GUID of this deck; ``earlier``: GUID →
    (key, package) of the notes learners may hold."""
    gone: dict[str, list[tuple[str, Path]]] = {}
    for guid, (key, path) in earlier.items():
        if guid not in current:
            place, _, qid = key.rpartition("/")
            gone.setdefault(qid, []).append((place, path))
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
