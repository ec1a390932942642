"""A question moved to another subtopic or file keeps its Anki note: ``from=`` in the bank, the Key field in the note.

The rule: a question's identity is the key it was first exported under. A bank that moves a question says where
it came from (``{#id .medium from=framework/topic/subtopic/id}``); its GUID stays the one learners' decks already
hold, and every GUID qaexport wrote before stays the same (questions that never moved have no ``from=``).
"""

from __future__ import annotations

from pathlib import Path

import genanki
import pytest
from typer.testing import CliRunner

from qaexport import sources
from qaexport.cli import app
from qaexport.formats.anki_key import identity_of, key_field, parse_key_field
from tests.anki_collection import import_deck, log_counts, new_collection
from tests.cli_run import qaexport

runner = CliRunner()

FRONT = """---
framework: FastAPI
topic:
  name: Deployment
  slug: deployment
subtopic: {subtopic}
---
"""
WORKERS = "## How many workers? {#worker-count .medium%s}\n\nStart with `2 × cores + 1`, then measure.\n"
OTHER = "## What is Uvicorn? {#uvicorn .easy}\n\nAn ASGI server.\n"
OLD_KEY = "fastapi/deployment/workers/worker-count"
NEW_KEY = "fastapi/deployment/scaling/worker-count"


def write_bank(folder: Path, moved: bool, with_from: bool = True) -> Path:
    """Two files; the worker-count question is in Workers, or moved to Scaling (with or without from=)."""
    folder.mkdir(parents=True, exist_ok=True)
    attr = f" from={OLD_KEY}" if with_from else ""
    (folder / "workers.md").write_text(FRONT.format(subtopic="Workers") + "\n" + OTHER +
                                       ("" if moved else "\n" + WORKERS % ""), encoding="utf-8")
    scaling = folder / "scaling.md"
    if moved:
        scaling.write_text(FRONT.format(subtopic="Scaling") + "\n" + WORKERS % attr, encoding="utf-8")
    else:
        scaling.unlink(missing_ok=True)
    return folder


def export(bank: Path, apkg: Path, when: int) -> str:
    result = runner.invoke(app, ["anki", str(bank), "-o", str(apkg)], env={"SOURCE_DATE_EPOCH": str(when)})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_moved_question_keeps_its_note_reviews_and_guid_through_the_apkg_route(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=False)
    export(bank, tmp_path / "v1.apkg", 1_700_000_000)
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "v1.apkg")
        nid = col.find_notes(f'"Key:{OLD_KEY}"')[0]
        cid = col.get_note(nid).card_ids()[0]
        col.sched.set_due_date([cid], "7")  # the learner's review history: a review card, a revlog entry
        before = (col.get_card(cid).ivl, col.db.scalar("select count() from revlog where cid = ?", cid))
        old_deck = col.decks.name(col.get_card(cid).did)

        write_bank(bank, moved=True)
        said = export(bank, tmp_path / "v2.apkg", 1_700_100_000)
        assert "1 note changed deck since the last export" in said and "never moves cards" in said, said
        log = import_deck(col, tmp_path / "v2.apkg")

        assert log_counts(log)["new"] == 0 and log_counts(log)["updated"] == 1
        assert col.note_count() == 2
        note = col.get_note(nid)
        assert note.guid == genanki.guid_for("qaexport", OLD_KEY)
        assert note["Key"] == f"{NEW_KEY} from={OLD_KEY}"
        assert "fastapi::deployment::scaling" in note.tags
        card = col.get_card(cid)
        assert (card.ivl, col.db.scalar("select count() from revlog where cid = ?", cid)) == before
        assert before[0] > 0 and before[1] == 1
        # Anki's importer never moves an existing card: it stays in the old deck (push moves it; the run says so)
        assert col.decks.name(card.did) == old_deck == "FastAPI::Deployment::Workers"


def test_without_from_a_move_is_a_new_note_which_is_why_from_exists(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=False)
    export(bank, tmp_path / "v1.apkg", 1_700_000_000)
    write_bank(bank, moved=True, with_from=False)
    export(bank, tmp_path / "v2.apkg", 1_700_100_000)
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "v1.apkg")
        assert log_counts(import_deck(col, tmp_path / "v2.apkg"))["new"] == 1
        assert col.note_count() == 3


def test_guids_of_questions_that_never_moved_are_unchanged(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=True)
    library = sources.load([bank])
    by_key = {ref.question.key: ref.question for ref in library.questions()}
    assert by_key[NEW_KEY].identity == OLD_KEY and by_key[NEW_KEY].origin == OLD_KEY
    unmoved = by_key["fastapi/deployment/workers/uvicorn"]
    assert unmoved.origin is None and unmoved.identity == unmoved.key


def test_list_keys_prints_each_notes_key_field(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=True)
    result = runner.invoke(app, ["list", str(bank), "--keys"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"{NEW_KEY} from={OLD_KEY}", "fastapi/deployment/workers/uvicorn"]


def test_convert_writes_from_back(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=True)
    qaexport("convert", str(bank), "--to", "markdown", "-o", str(tmp_path / "out"))
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((tmp_path / "out").rglob("*.md")))
    assert f"{{#worker-count .medium from={OLD_KEY}}}" in text
    again = {ref.question.key: ref.question.identity for ref in sources.load([tmp_path / "out"]).questions()}
    assert again[NEW_KEY] == OLD_KEY


@pytest.mark.parametrize(("heading", "message"), [
    ("{#worker-count .medium from=fastapi/deployment}", "is not a question key"),
    ("{#worker-count .medium from=Fast API/x/y/z}", "cannot read heading attribute"),
    (f"{{#worker-count .medium from={NEW_KEY}}}", "names this question's own key"),
    (f"{{#worker-count .medium from={OLD_KEY} from={OLD_KEY}}}", "two from= attributes"),
])
def test_a_bad_from_is_one_line_naming_file_and_line(tmp_path, heading, message):
    bank = write_bank(tmp_path / "bank", moved=True)
    scaling = bank / "scaling.md"
    scaling.write_text(scaling.read_text(encoding="utf-8").replace(f"{{#worker-count .medium from={OLD_KEY}}}",
                                                                   heading), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bank)])
    assert result.exit_code == 1
    assert f"{scaling}:9" in result.output and message in result.output, result.output


@pytest.mark.parametrize("copy_first", [True, False])
def test_a_copy_instead_of_a_move_is_refused_in_either_order(tmp_path, copy_first):
    """The question left in place and a copy that claims to have moved would be one Anki note: refused."""
    bank = write_bank(tmp_path / "bank", moved=True)
    workers = bank / ("a-workers.md" if copy_first else "workers.md")
    (bank / "workers.md").unlink()
    workers.write_text(FRONT.format(subtopic="Workers") + "\n" + OTHER + "\n" + WORKERS % "", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bank)])
    assert result.exit_code == 1, result.output
    assert "two questions would be one Anki note" in result.output


def test_a_new_question_at_the_old_place_cannot_take_the_moved_ones_identity(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=True)
    workers = bank / "workers.md"
    workers.write_text(workers.read_text(encoding="utf-8") + "\n" + WORKERS % "", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bank)])
    assert result.exit_code == 1 and "two questions would be one Anki note" in result.output, result.output


def test_key_field_round_trip_and_what_is_not_a_key_field():
    assert parse_key_field(key_field(NEW_KEY, OLD_KEY)) == (NEW_KEY, OLD_KEY)
    assert parse_key_field(key_field(OLD_KEY)) == (OLD_KEY, None)
    assert parse_key_field(f" {OLD_KEY}\n") == (OLD_KEY, None)
    assert identity_of(key_field(NEW_KEY, OLD_KEY)) == OLD_KEY and identity_of(OLD_KEY) == OLD_KEY
    for junk in ("", "my own note", "fastapi/deployment/workers", f"{OLD_KEY}<br>", f"{OLD_KEY} from=",
                 f"{OLD_KEY} from=x", f"{OLD_KEY}  from={NEW_KEY}", "Fast/deployment/workers/x", f"{OLD_KEY}/x",
                 "a/b/c/" + "x" * 121):
        assert parse_key_field(junk) is None, junk


def test_the_run_that_changes_the_deck_name_says_that_cards_stay_and_only_that_run(tmp_path):
    bank = write_bank(tmp_path / "bank", moved=False)
    apkg = tmp_path / "deck.apkg"
    assert "changed deck" not in export(bank, apkg, 1_700_000_000)
    assert "changed deck" not in export(bank, apkg, 1_700_000_100)  # nothing changed
    result = runner.invoke(app, ["anki", str(bank), "-o", str(apkg), "--deck-name", "Prep::2026"],
                           env={"SOURCE_DATE_EPOCH": "1700000200"})
    assert result.exit_code == 0 and "2 notes changed deck since the last export" in result.output, result.output
    assert "Prep::2026::FastAPI::Deployment::Workers" in result.output
    again = runner.invoke(app, ["anki", str(bank), "-o", str(apkg), "--deck-name", "Prep::2026"],
                          env={"SOURCE_DATE_EPOCH": "1700000300"})
    assert again.exit_code == 0 and "changed deck" not in again.output, again.output
