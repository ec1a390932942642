"""qaexport's own decks as a source: a deck comes back as the bank it was made from, byte for byte, and a deck made
from that bank is the same deck to Anki (the same GUIDs, fields and tree). A deck exported again from Anki (which
drops the bank qaexport packs beside the collection) still gives its notes' keys, tree and difficulties, and its
questions without the card's badge and breadcrumb."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.formats.anki_package import BANK_MEMBER, split_originals
from tests.anki_collection import import_deck, new_collection
from tests.cli_run import qaexport

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
LAYOUT_BANK = Path(__file__).parent / "banks" / "layout"
runner = CliRunner()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _notes(deck: Path, folder: Path) -> dict[str, tuple]:
    """GUID → (fields, tags, deck) of every note, as Anki imports the package."""
    with new_collection(folder) as col:
        import_deck(col, deck)
        out = {}
        for nid in col.find_notes(""):
            note = col.get_note(nid)
            decks = {col.decks.name(card.did) for card in note.cards()}
            out[note.guid] = (tuple(note.fields), tuple(sorted(note.tags)), tuple(sorted(decks)))
        return out


@pytest.fixture(scope="module", params=["sample", "layout", "cloze-images-math"])
def round_trip(request, tmp_path_factory, sample_path) -> dict[str, Path]:
    """A canonical bank (`convert` of the source), its deck, the bank converted back from the deck, and its deck."""
    from tests.test_cloze_images_math import write_bank

    tmp = tmp_path_factory.mktemp(f"round-trip-{request.param}")
    source = {"sample": sample_path, "layout": LAYOUT_BANK}.get(request.param) or write_bank(tmp / "cim")
    out = {"bank": tmp / "bank", "deck": tmp / "deck.apkg", "back": tmp / "back", "again": tmp / "again.apkg"}
    qaexport("convert", str(source), "-o", str(out["bank"]))
    qaexport("anki", str(out["bank"]), "-o", str(out["deck"]), env=EPOCH)
    qaexport("convert", str(out["deck"]), "-o", str(out["back"]))
    qaexport("anki", str(out["back"]), "-o", str(out["again"]), env=EPOCH)
    return out


def test_a_deck_converts_back_to_its_bank_byte_for_byte(round_trip):
    bank, back = _files(round_trip["bank"]), _files(round_trip["back"])
    assert len(bank) >= 2 and back == bank


def test_the_bank_converted_back_makes_the_same_deck(round_trip, tmp_path):
    first, second = _notes(round_trip["deck"], tmp_path / "a"), _notes(round_trip["again"], tmp_path / "b")
    assert len(first) >= 3 and second == first  # same GUIDs, and for each the same fields, tags and deck
    assert round_trip["again"].read_bytes() == round_trip["deck"].read_bytes()


def test_books_from_the_deck_are_the_books_from_the_bank(round_trip, tmp_path):
    """No badge or breadcrumb inside the questions: the same booklet and EPUB, byte for byte."""
    for fmt in ("pdf", "epub"):
        from_bank, from_deck = tmp_path / f"bank.{fmt}", tmp_path / f"deck.{fmt}"
        qaexport(fmt, str(round_trip["bank"]), "-o", str(from_bank), env=EPOCH)
        qaexport(fmt, str(round_trip["deck"]), "-o", str(from_deck), env=EPOCH)
        assert from_deck.read_bytes() == from_bank.read_bytes(), fmt


def _without_originals(collection: bytes, folder: Path) -> bytes:
    """A collection whose deck descriptions no longer carry the bank files (a deck made before they did, or a
    learner who rewrote the descriptions): ``convert`` then reads the notes themselves."""
    db_path = folder / "collection.anki2"
    db_path.write_bytes(collection)
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        decks = json.loads(db.execute("select decks from col").fetchone()[0])
        for deck in decks.values():
            deck["desc"] = split_originals(deck["desc"])[0]
        db.execute("update col set decks = ?", (json.dumps(decks),))
        db.commit()
    return db_path.read_bytes()


def _without_bank(deck: Path, target: Path) -> Path:
    """The package as Anki would export it again from a collection that lost the bank files: its collection and
    media, no qaexport bank member, no originals in the deck descriptions."""
    with zipfile.ZipFile(deck) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename == "collection.anki2":
                dst.writestr(info, _without_originals(src.read(info), target.parent))
            elif info.filename != BANK_MEMBER:
                dst.writestr(info, src.read(info))
    return target


def test_a_deck_exported_again_from_anki_keeps_its_keys_tree_and_difficulties(round_trip, tmp_path):
    deck = _without_bank(round_trip["deck"], tmp_path / "exported-again.apkg")
    keys = runner.invoke(app, ["list", str(deck), "--keys"])
    original = runner.invoke(app, ["list", str(round_trip["bank"]), "--keys"])
    assert keys.exit_code == 0 and keys.stdout.split() == original.stdout.split()
    listing = runner.invoke(app, ["list", str(deck)], env={"COLUMNS": "200"})
    bank_listing = runner.invoke(app, ["list", str(round_trip["bank"])], env={"COLUMNS": "200"})
    assert listing.stdout == bank_listing.stdout  # names, slugs and counts per difficulty
    qaexport("convert", str(deck), "-o", str(tmp_path / "html-bank"))
    texts = "\n".join(data.decode() for name, data in _files(tmp_path / "html-bank").items() if name.endswith(".md"))
    assert "format=html" in texts and "qa-meta" not in texts and "badge" not in texts  # the fields, not the card
    assert 'class="source"' not in texts


def test_a_bank_that_does_not_match_the_notes_is_not_used(round_trip, tmp_path):
    """A crafted package whose bank differs from its notes: the notes win, with a warning."""
    crafted = tmp_path / "crafted.apkg"
    with zipfile.ZipFile(round_trip["deck"]) as src, zipfile.ZipFile(crafted, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "collection.anki2":
                data = _without_originals(data, tmp_path)
            if info.filename == BANK_MEMBER:
                bank = json.loads(data)
                bank["frameworks"][0]["topics"][0]["subtopics"][0]["questions"][0]["question"] = "Something else?"
                bank["frameworks"][0]["topics"][0]["subtopics"][0]["questions"].pop()
                data = json.dumps(bank).encode()
            dst.writestr(info, data)
    result = runner.invoke(app, ["validate", str(crafted)])
    assert result.exit_code == 0, result.output
    assert f"warning: {crafted}: its {BANK_MEMBER} does not match its notes; the notes are read instead" \
        in result.output
    qaexport("convert", str(crafted), "-o", str(tmp_path / "from-notes"))
    texts = "\n".join(data.decode() for name, data in _files(tmp_path / "from-notes").items() if name.endswith(".md"))
    assert "Something else?" not in texts and "format=html" in texts
