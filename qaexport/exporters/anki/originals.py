"""The bank files a deck carries, so that ``convert`` gives a hand-written bank back byte for byte (the format
and why it lives in deck descriptions: ``formats/anki_package``, "originals").

Each Markdown bank file goes with the deck of its first note, with a content key per note of the fields written
now. Nothing here touches a note: descriptions only, so a re-export of an unchanged bank changes no note, and the
same bank gives the same bytes.
"""

from __future__ import annotations

from dataclasses import replace

from ...formats import anki_package
from ...formats.anki_package import OriginalFile, content_key, originals_comment
from ...limits import mib
from ...model import Library
from .deck import DeckContent


def carry_originals(content: DeckContent, library: Library, warn) -> None:
    """Append to the description of each deck that holds a bank file's first note the originals of those files."""
    if not library.bank_files:
        return
    by_file: dict[str, list[int]] = {}
    for i, ref in enumerate(content.refs):
        by_file.setdefault(ref.question.location.file, []).append(i)
    by_deck: dict[int, list[OriginalFile]] = {}
    names = [found.name for found in library.bank_files.values()]
    for file, found in library.bank_files.items():
        rows = by_file.get(file)
        if not rows or names.count(found.name) > 1:  # two banks' files of one name: neither can come back as is
            continue
        notes = [(content.notes[i].guid, content.refs[i].question.key, content_key(content.notes[i].fields))
                 for i in rows]
        cover = {library.cover[0]} if library.cover else set()  # the one image no note shows
        media = {name: library.media[name].data for name in found.images.values() if name in cover}
        by_deck.setdefault(content.notes[rows[0]].deck_id, []).append(
            OriginalFile(found.name, found.data, notes, dict(sorted(found.images.items())), media))
    comments: dict[int, str] = {}
    for deck_id, files in by_deck.items():
        comment = originals_comment(files)
        if comment is None:
            warn(f"the bank files of deck {content.deck_names[deck_id]!r} are over "
                 f"{mib(anki_package.MAX_ORIGINALS_BYTES)} together: the deck does not carry them, so "
                 "`qaexport convert` of it writes them in canonical form")
            continue
        comments[deck_id] = comment
    content.decks = {slugs: replace(deck, description=deck.description + comments[deck.id])
                     if deck.id in comments else deck for slugs, deck in content.decks.items()}
