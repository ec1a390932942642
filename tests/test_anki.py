"""The deck, imported into a real collection with the official `anki` package."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import genanki
import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.exporters.anki.identity import MODEL_ID, deck_id, note_guid
from tests.anki_collection import import_deck, log_counts, new_collection
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write
from tests.test_render import live_markup_problems

runner = CliRunner()


def export(*args: str) -> None:
    qaexport("anki", *args)


@pytest.fixture(scope="module")
def sample_deck(tmp_path_factory, sample_path) -> Path:
    out = tmp_path_factory.mktemp("deck") / "sample.apkg"
    export(str(sample_path), "-o", str(out))
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory, sample_deck):
    with new_collection(tmp_path_factory.mktemp("col")) as col:
        yield col, import_deck(col, sample_deck)


def test_sample_imports_34_notes_in_3_subdecks(imported, sample_library):
    col, log = imported
    assert log_counts(log) == {"new": 34, "updated": 0, "duplicate": 0, "conflicting": 0, "first_field_match": 0}
    assert col.note_count() == 34
    names = {d.name for d in col.decks.all_names_and_ids()} - {"Default"}
    leaves = {n for n in names if not any(o.startswith(n + "::") for o in names)}
    assert leaves == {
        "FastAPI::Deployment & Middleware::Uvicorn & Gunicorn",
        "FastAPI::Deployment & Middleware::Middleware",
        "FastAPI::Deployment & Middleware::Background Tasks",
    }
    assert {n.split("::")[0] for n in names} == {"FastAPI"}
    for _, _, sub in sample_library.subtopics():
        deck = f"FastAPI::Deployment & Middleware::{sub.name}"
        assert len(col.find_cards(f'"deck:{deck}"')) == len(sub.questions)
    desc = col.decks.by_name("FastAPI::Deployment & Middleware::Middleware")["desc"]
    assert "middleware" in desc.lower()


def test_every_note_has_one_matching_difficulty_tag_and_hierarchy_tag(imported, sample_library):
    col, _ = imported
    expected = {note_guid(r.question.key): r for r in sample_library.questions()}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        ref = expected[note.guid]
        difficulty_tags = [t for t in note.tags if t.startswith("difficulty::")]
        assert difficulty_tags == [f"difficulty::{ref.question.difficulty.label}"]
        assert f"fastapi::deployment::{ref.subtopic.slug}" in note.tags
        assert all(t == t.lower() and " " not in t for t in note.tags)
        assert note["Key"] == ref.question.key
        assert note["Difficulty"] == ref.question.difficulty.label


def test_rendered_cards_are_safe_and_highlighted(imported, sample_library):
    col, _ = imported
    by_guid = {note_guid(r.question.key): r.question for r in sample_library.questions()}
    with_code = 0
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        q = by_guid[card.note().guid]
        question_html, answer_html = card.question(), card.answer()
        visible = re.sub(r"<[^>]+>", "", question_html).replace("&amp;", "&").replace("&#x27;", "'")
        first_words = re.sub(r"`", "", q.question)[:25]
        assert first_words in visible.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
        assert f'badge-{q.difficulty.label}">{q.difficulty.label}<' in question_html
        body = re.sub(r"<style>.*?</style>", "", answer_html, flags=re.S)
        assert live_markup_problems(body) == []
        assert "<script" not in answer_html.lower() and "javascript:" not in answer_html.lower()
        if "```" in q.answer:
            with_code += 1
            assert '<pre class="hl">' in body and '<span class="' in body
    assert with_code >= 20


def test_note_type_css_has_theme_and_night_mode(imported):
    col, _ = imported
    model = col.models.get(MODEL_ID)
    assert [f["name"] for f in model["flds"]] == ["Question", "Answer", "Difficulty", "Source", "Key"]
    assert [t["name"] for t in model["tmpls"]] == ["Question → Answer"]
    css = model["css"]
    assert ".card .hl .k{" in css
    assert ".nightMode pre.hl{" in css and ".night_mode .hl .k{" in css
    assert "<script" not in model["tmpls"][0]["qfmt"] + model["tmpls"][0]["afmt"]


def _review_first_card(col) -> int:
    col.decks.select(col.decks.id_for_name("FastAPI"))
    card = col.sched.getCard()
    col.sched.answerCard(card, 3)
    return card.id


def test_reimport_updates_exactly_what_changed_and_keeps_reviews(tmp_path, sample_copy):
    deck = tmp_path / "dist" / "deck.apkg"
    export(str(sample_copy), "-o", str(deck))
    with new_collection(tmp_path / "col") as col:
        assert log_counts(import_deck(col, deck))["new"] == 34
        reviewed = _review_first_card(col)
        reps_before = col.get_card(reviewed).reps
        assert reps_before == 1 and len(col.find_cards("rated:1")) == 1

        # No change: a rebuild to the same path is a no-op on import.
        export(str(sample_copy), "-o", str(deck))
        assert log_counts(import_deck(col, deck))["updated"] == 0

        # A typo fix in one answer updates exactly that note.
        payload = json.loads(sample_copy.read_text())
        idx = payload.index("gunicorn-uvicorn-workers") + 2  # q then a follow the id in this payload
        assert payload[idx].startswith("Uvicorn alone")
        payload[idx] = payload[idx].replace("battle-tested", "battle tested")
        sample_copy.write_text(json.dumps(payload))
        export(str(sample_copy), "-o", str(deck))
        log = import_deck(col, deck)
        # Anki's log files the 33 untouched notes under "duplicate" (its word for "already there,
        # skipped"); no note is added twice: the collection still holds 34 notes with 34 GUIDs.
        assert log_counts(log) == {"new": 0, "updated": 1, "duplicate": 33, "conflicting": 0, "first_field_match": 0}
        assert [n.fields[4] for n in log.updated] == ["fastapi/deployment/uvicorn-gunicorn/gunicorn-uvicorn-workers"]
        assert col.note_count() == 34 and len({col.get_note(n).guid for n in col.find_notes("")}) == 34
        changed = col.get_note(col.find_notes("Key:fastapi/deployment/uvicorn-gunicorn/gunicorn-uvicorn-workers")[0])
        assert "battle tested" in changed["Answer"]
        card = col.get_card(reviewed)
        assert card.reps == reps_before and len(col.card_stats_data(reviewed).revlog) == 1

        # And the unchanged rebuild after that is a no-op again.
        export(str(sample_copy), "-o", str(deck))
        assert log_counts(import_deck(col, deck))["updated"] == 0


def test_learners_own_edit_survives_reimport_of_unchanged_note(tmp_path, sample_copy):
    deck = tmp_path / "deck.apkg"
    export(str(sample_copy), "-o", str(deck))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, deck)
        nid = col.find_notes("Key:fastapi/deployment/middleware/*")[0]
        note = col.get_note(nid)
        note["Answer"] += "<p>my mnemonic</p>"
        col.update_note(note)
        export(str(sample_copy), "-o", str(deck))
        import_deck(col, deck)
        assert "my mnemonic" in col.get_note(nid)["Answer"]


def test_notes_do_not_share_one_fixed_timestamp_after_an_edit(tmp_path, sample_copy):
    deck = tmp_path / "deck.apkg"
    export(str(sample_copy), "-o", str(deck))
    first = _note_mods(deck)
    payload = json.loads(sample_copy.read_text())
    i = payload.index("uvicorn-basics") + 2
    payload[i] += "\nEdited."
    sample_copy.write_text(json.dumps(payload))
    other = tmp_path / "other.apkg"
    export(str(sample_copy), "-o", str(other), "--previous", str(deck))
    second = _note_mods(other)
    changed = [g for g in first if first[g] != second[g]]
    assert changed == [note_guid("fastapi/deployment/uvicorn-gunicorn/uvicorn-basics")]
    assert second[changed[0]] > first[changed[0]]


def _note_mods(apkg: Path) -> dict[str, int]:
    with zipfile.ZipFile(apkg) as zf:
        data = zf.read("collection.anki2")
    db = apkg.with_suffix(".db")
    db.write_bytes(data)
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("select guid, mod from notes"))
    finally:
        conn.close()
        db.unlink()


def test_same_question_id_in_two_topics_nests_and_never_collides(tmp_path):
    a = write(tmp_path / "a.json", page([subtopic("workers", "Workers", [question("basics"), question("x", "hard")])]))
    b = write(tmp_path / "b.json", page(
        [subtopic("workers", "Workers", [question("basics", "medium")], topic="testing")],
        topic="testing", topic_name="Testing", topic_order=2))
    deck = tmp_path / "two.apkg"
    export(str(a), str(b), "-o", str(deck))
    with new_collection(tmp_path / "col") as col:
        log = import_deck(col, deck)
        assert log_counts(log)["new"] == 3 and col.note_count() == 3
        guids = {col.get_note(n).guid for n in col.find_notes("")}
        assert len(guids) == 3
        assert len(col.find_notes('"deck:FastAPI::Testing::Workers"')) == 1
        assert len(col.find_notes('"deck:FastAPI::Deployment & Middleware::Workers"')) == 2
        testing = col.get_note(col.find_notes('"deck:FastAPI::Testing::Workers"')[0])
        assert set(testing.tags) == {"difficulty::medium", "fastapi::testing::workers"}


def test_identities_are_pinned_literals():
    """What learners' collections already hold: these numbers may never change."""
    assert MODEL_ID == 1607392319
    assert deck_id("FastAPI") == 2313541944828412
    assert deck_id("FastAPI::Deployment & Middleware") == 2445551777733553
    assert note_guid("fastapi/deployment/uvicorn-gunicorn/uvicorn-basics") == "J.Lp=@EO4R"


def test_identities_are_genankis_and_tell_keys_apart():
    # note_guid is computed without genanki; it must stay genanki's function for every key.
    keys = ["", "a/b/c/d", "é/ü/日本/x", *(f"fw-{i}/topic/sub/q-{i * 7919}" for i in range(3000))]
    assert [note_guid(k) for k in keys] == [genanki.guid_for("qaexport", k) for k in keys]
    assert len({note_guid(k) for k in keys}) == len(keys)  # no two keys share a GUID
    names = ["FastAPI", "FastAPI::X", "FastAPI::Y", *(f"Deck {i}::Sub" for i in range(3000))]
    ids = [deck_id(n) for n in names]
    assert len(set(ids)) == len(names) and all(1 < i < 2**53 for i in ids)


def test_flat_and_deck_name(tmp_path, sample_path):
    deck = tmp_path / "flat.apkg"
    export(str(sample_path), "-o", str(deck), "--flat", "--deck-name", "My Prep")
    with new_collection(tmp_path / "col") as col:
        import_deck(col, deck)
        assert len(col.find_cards('"deck:My Prep" -"deck:My Prep::*"')) == 34


def test_corrupt_previous_deck_is_a_clear_error(tmp_path, sample_path):
    deck = tmp_path / "deck.apkg"
    deck.write_bytes(b"not a zip")
    result = runner.invoke(app, ["anki", str(sample_path), "-o", str(deck)])
    assert result.exit_code == 1
    assert "cannot read the previous deck" in result.output
    assert deck.read_bytes() == b"not a zip"
    assert [p.name for p in tmp_path.iterdir()] == ["deck.apkg"]


def test_an_unreadable_earlier_deck_gets_the_advice_of_its_case(tmp_path, sample_path):
    """--previous names a damaged file: name another (not "pass --previous"). The output file is damaged: move it
    away or pass --previous (not "export the deck from Anki"); with --previous as well, it is left out."""
    bad = tmp_path / "bad.apkg"
    bad.write_bytes(b"not a zip")

    def said(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["anki", str(sample_path), *args])
        return result.exit_code, " ".join(result.output.split())

    code, text = said("--previous", str(bad), "-o", str(tmp_path / "new.apkg"))
    assert code == 1 and "it is the file --previous names: name an earlier .apkg of this deck instead" in text, text
    assert "pass --previous" not in text
    code, text = said("-o", str(bad))
    assert code == 1 and "it is the output file, which this export would replace: move it away" in text, text
    assert "export the deck from Anki" not in text and "or pass --previous with an earlier copy" in text
    good = tmp_path / "good.apkg"
    assert said("-o", str(good))[0] == 0
    code, text = said("-o", str(bad), "--previous", str(good))
    assert code == 0 and f"it is the output file: left out (--previous {good} is read) and replaced" in text, text
    assert "pass --previous or remove it" not in text


def test_default_output_is_dist(tmp_path, sample_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(sample_path.parent, tmp_path / "data")
    result = runner.invoke(app, ["anki"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "dist" / "fastapi-deployment.apkg").stat().st_size > 10_000


def test_theme_change_updates_the_note_type_not_the_notes(tmp_path, sample_path):
    deck = tmp_path / "deck.apkg"
    export(str(sample_path), "-o", str(deck))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, deck)
        assert "pre.hl{background-color:#f8f8f8" in col.models.get(MODEL_ID)["css"]
        export(str(sample_path), "-o", str(deck), "--theme", "monokai")
        log = import_deck(col, deck)
        assert len(log.updated) == 0 and col.note_count() == 34
        rendered = col.get_card(col.find_cards("")[0]).answer()  # rendered by the backend: no stale cache
        assert ".card pre.hl{background-color:#272822" in rendered
        assert len([m for m in col.models.all_names_and_ids() if m.name.startswith("qaexport")]) == 1
