"""A hand-written bank (not in ``convert``'s canonical form) comes back byte for byte from its deck, also after the
deck went through a real Anki collection and was exported again from it (which drops qaexport's bank member):
the deck carries each bank file's own text and a content key per note (``formats/anki_package``, originals). A
learner's edit makes ``convert`` write that file in canonical form with the edit and a line naming it; an
unchanged bank exported again changes no note in the learner's collection."""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.formats import anki_package
from qaexport.formats.anki_package import (
    MAX_ORIGINALS_BYTES,
    ORIGINALS_CLOSE,
    ORIGINALS_OPEN,
    BankError,
    read_originals,
    split_originals,
)
from tests.anki_collection import import_deck, log_counts, new_collection
from tests.apkg_decks import export
from tests.cli_run import qaexport
from tests.hand_bank import FILES, IMAGES, write_hand_bank

pytestmark = pytest.mark.slow  # drives the real anki package

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trip(tmp_path_factory) -> dict[str, Path]:
    """The hand-written bank, its deck, the deck imported into a real collection and exported again from it,
    and that collection (closed)."""
    tmp = tmp_path_factory.mktemp("originals")
    env = {**EPOCH, "QAEXPORT_STATE_DIR": str(tmp / "state")}
    out = {"tmp": tmp, "bank": write_hand_bank(tmp / "bank"), "deck": tmp / "deck.apkg",
           "anki": tmp / "from-anki.apkg", "collection": tmp / "collection"}
    qaexport("anki", str(out["bank"]), "-o", str(out["deck"]), env=env)
    with new_collection(out["collection"]) as col:
        import_deck(col, out["deck"])
        export(col, out["anki"], legacy=False)
    return out


def test_the_bank_is_hand_written_not_canonical(trip, tmp_path):
    """The test means something only if convert's own form differs from the author's."""
    qaexport("convert", str(trip["bank"]), "-o", str(tmp_path / "canonical"))
    canonical = _files(tmp_path / "canonical")
    assert not set(FILES) & set(canonical)
    assert all(text.encode() not in canonical.values() for text in FILES.values())


@pytest.mark.parametrize("deck", ["deck", "anki"])
def test_a_hand_written_bank_comes_back_byte_for_byte(trip, tmp_path, deck):
    """From qaexport's deck, and from the deck Anki exported again (no bank member in it): every file, images too."""
    qaexport("convert", str(trip[deck]), "-o", str(tmp_path / "back"))
    back, bank = _files(tmp_path / "back"), _files(trip["bank"])
    assert set(bank) == set(FILES) | set(IMAGES)
    assert back == bank


def test_the_bank_that_came_back_makes_the_same_deck(trip, tmp_path):
    qaexport("convert", str(trip["anki"]), "-o", str(tmp_path / "back"))
    again = tmp_path / "again.apkg"
    qaexport("anki", str(tmp_path / "back"), "-o", str(again), env={**EPOCH, "QAEXPORT_STATE_DIR": str(tmp_path)})
    assert again.read_bytes() == trip["deck"].read_bytes()  # same GUIDs, fields, decks, originals


def test_a_learner_edit_is_written_and_named_never_lost(trip, tmp_path):
    """An answer edited in Anki: its file comes back in canonical form holding the edit, with a line saying which
    note changed; the other files are still the author's bytes."""
    with new_collection(tmp_path / "col") as col:
        import_deck(col, trip["anki"])
        nid = next(n for n in col.find_notes("") if col.get_note(n)["Key"].startswith("hand-bank/physics/waves/freq"))
        note = col.get_note(nid)
        note["Back Extra" if "Back Extra" in note else "Answer"] += "<p>My own mnemonic: FT-one</p>"
        col.update_note(note)
        export(col, tmp_path / "edited.apkg", legacy=False)
    result = CliRunner().invoke(app, ["convert", str(tmp_path / "edited.apkg"), "-o", str(tmp_path / "back")])
    assert result.exit_code == 0, result.output
    back, bank = _files(tmp_path / "back"), _files(trip["bank"])
    changed = back["physics/waves.md"].decode()
    assert "My own mnemonic: FT-one" in changed
    assert "# qaexport convert: changed in Anki since the export, so in canonical form: " \
           "hand-bank/physics/waves/freq\n" in changed
    assert "physics/waves.md: notes changed in Anki since the export (hand-bank/physics/waves/freq)" in result.output
    assert changed.count("format=html") == 1  # the edited note; the other one as the author wrote it
    assert "The speed of light is {{c1::299,792 km/s::a number}} in {{c2::vacuum}}." in changed
    assert {name: back[name] for name in bank if name != "physics/waves.md"} == \
           {name: data for name, data in bank.items() if name != "physics/waves.md"}
    listing = CliRunner().invoke(app, ["list", str(tmp_path / "back"), "--keys"])
    assert listing.exit_code == 0 and len(listing.stdout.split()) == 6  # the canonical file reads back whole


def test_a_deleted_note_is_named_and_the_rest_of_its_file_kept(trip, tmp_path):
    with new_collection(tmp_path / "col") as col:
        import_deck(col, trip["anki"])
        nid = next(n for n in col.find_notes("") if col.get_note(n)["Key"] == "hand-bank/basics/getting-started/images")
        col.remove_notes([nid])
        export(col, tmp_path / "deleted.apkg", legacy=False)
    qaexport("convert", str(tmp_path / "deleted.apkg"), "-o", str(tmp_path / "back"))
    intro = (tmp_path / "back" / "intro.md").read_text()
    assert "canonical form: hand-bank/basics/getting-started/images\n" in intro
    assert "{#what .easy" in intro and "{#energy .hard" in intro and "{#images" not in intro


def test_an_unchanged_bank_exported_again_changes_no_note(trip, tmp_path):
    """The learner-data rule with the originals in the decks: nothing is updated on the second import, and the
    package is the same bytes."""
    again = tmp_path / "again.apkg"
    state = {**EPOCH, "QAEXPORT_STATE_DIR": str(trip["tmp"] / "state")}
    qaexport("anki", str(trip["bank"]), "-o", str(again), env=state)
    assert again.read_bytes() == trip["deck"].read_bytes()
    with new_collection(tmp_path / "col") as col:
        import_deck(col, trip["deck"])
        counts = log_counts(import_deck(col, again))
    assert counts["updated"] == 0 and counts["new"] == 0, counts


def _comment(payload: dict | bytes) -> str:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return "A description." + ORIGINALS_OPEN + base64.b64encode(zlib.compress(data)).decode() + ORIGINALS_CLOSE


def test_the_originals_comment_is_found_and_stripped():
    text, payload = split_originals(_comment({"qaexport-originals": 1, "files": []}))
    assert text == "A description." and payload is not None and read_originals(payload) == []
    assert split_originals("plain <!-- a comment -->") == ("plain <!-- a comment -->", None)


@pytest.mark.parametrize("name", ["../evil.md", "/etc/evil.md", "a/../../evil.md", "a//b.md", "C:\\evil.md", ""])
def test_a_carried_file_that_would_leave_the_bank_folder_is_refused(name):
    payload = split_originals(_comment({"qaexport-originals": 1, "files": [
        {"name": name, "text": "x", "notes": [], "images": {}}]}))[1]
    with pytest.raises(BankError, match="safe name"):
        read_originals(payload)


def test_the_originals_limit_is_what_the_docs_say():
    """32 MiB of JSON per deck (docs/formats.md): the size of the largest bank file a bank may hold."""
    assert MAX_ORIGINALS_BYTES == 32 * 2**20


SMALL_LIMIT = 64 * 1024  # the tests below lower the limit: their inputs stay small whatever the constant is


def test_originals_that_inflate_beyond_the_limit_are_refused_while_inflating(monkeypatch):
    monkeypatch.setattr(anki_package, "MAX_ORIGINALS_BYTES", SMALL_LIMIT)
    fits = zlib.compress(json.dumps({"qaexport-originals": 1, "files": [], "pad": " " * (SMALL_LIMIT - 100)}).encode())
    assert read_originals(base64.b64encode(fits).decode()) == []
    bomb = zlib.compress(b" " * (SMALL_LIMIT + 10), 9)
    payload = split_originals("d" + ORIGINALS_OPEN + base64.b64encode(bomb).decode() + ORIGINALS_CLOSE)[1]
    with pytest.raises(BankError, match="beyond their limit"):
        read_originals(payload)
    with pytest.raises(BankError, match="too large"):  # refused before it is even decoded
        read_originals("A" * (SMALL_LIMIT + 4))


def test_a_deck_whose_files_pass_the_limit_does_not_carry_them_and_says_so(monkeypatch, tmp_path):
    """Bank files over the limit are not carried (a warning naming the deck), and the package is still made;
    `convert` of it writes the canonical form."""
    monkeypatch.setattr(anki_package, "MAX_ORIGINALS_BYTES", 1000)  # intro.md and its notes pass it; lenses do not
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "state"))
    bank, deck = write_hand_bank(tmp_path / "bank"), tmp_path / "deck.apkg"
    result = CliRunner().invoke(app, ["anki", str(bank), "-o", str(deck)])
    assert result.exit_code == 0, result.output
    assert "the bank files of deck 'Hand Bank::Basics::Getting started' are over 0.1 MiB together" in result.output
    assert "Hand Bank::Physics::Lenses" not in result.output
    qaexport("convert", str(deck), "-o", str(tmp_path / "back"))
    back = _files(tmp_path / "back")
    assert back["physics/optics/lenses.md"] == FILES["physics/optics/lenses.md"].encode()
    assert "intro.md" not in back  # written in canonical form, under convert's own names


def test_a_learner_edit_keeps_the_images_and_cover_of_its_file(trip, tmp_path):
    """The file written in canonical form (an answer edited in Anki) still shows its images and names the cover:
    each beside it in ``media/``, where its rewritten references point, so the bank that came back builds."""
    with new_collection(tmp_path / "col") as col:
        import_deck(col, trip["anki"])
        nid = next(n for n in col.find_notes("") if col.get_note(n)["Key"] == "hand-bank/basics/getting-started/what")
        note = col.get_note(nid)
        note["Answer"] += "<p>My own note</p>"
        col.update_note(note)
        export(col, tmp_path / "edited.apkg", legacy=False)
    qaexport("convert", str(tmp_path / "edited.apkg"), "-o", str(tmp_path / "back"))
    intro = (tmp_path / "back" / "intro.md").read_text()
    assert "canonical form: hand-bank/basics/getting-started/what\n" in intro and "My own note" in intro
    shown = re.findall(r"\((media/[0-9a-f]{16}\.png)\)", intro)
    cover = re.search(r"^cover: (media/[0-9a-f]{16}\.png)$", intro, re.M)
    assert len(shown) == 1 and cover is not None, intro
    for rel in (*shown, cover.group(1)):
        assert (tmp_path / "back" / rel).is_file(), rel
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "back")])
    assert result.exit_code == 0 and "not found" not in result.output, result.output
