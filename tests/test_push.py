"""``qaexport push`` into a running Anki, here the AnkiConnect test double (``tests/ankiconnect_double.py``): a real
collection behind AnkiConnect's HTTP API, driven by the real ``anki`` package.

Learners' notes are the point: a push adds and changes exactly what the bank changed, keeps the learner's edits,
tags, reviews and own notes, and agrees with the ``.apkg`` route on every note.
"""

from __future__ import annotations

import contextlib
import faulthandler
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.exporters.anki.connect import MAX_ACTIONS, MAX_BODY
from qaexport.exporters.anki.identity import MODEL_ID
from tests.anki_collection import import_deck, log_counts
from tests.ankiconnect_double import WAIT, AnkiConnectDouble, HangUp, Reset, threads, wait_for_threads
from tests.apkg_decks import png_bytes

runner = CliRunner()

FRONT = """---
framework: FastAPI
topic:
  name: Deployment
  slug: deployment
subtopic: {subtopic}
---
"""
#: What changes a collection: a push that sent none of these changed nothing.
WRITES = {"importPackage", "updateNoteFields", "updateNote", "addTags", "removeTags", "changeDeck", "deleteNotes",
          "deleteDecks", "updateModelStyling", "updateModelTemplates", "storeMediaFile", "setDeckConfigId",
          "addNote", "addNotes", "createDeck"}
KEY = "fastapi/deployment/workers/"


def q(qid: str, text: str, answer: str, difficulty: str = "medium", extra: str = "") -> str:
    return f"## {text} {{#{qid} .{difficulty}{extra}}}\n\n{answer}\n"


def v2(section: str) -> str:
    """The section with its answer changed."""
    return section.rstrip("\n") + " (v2)\n"


def write(folder: Path, name: str, subtopic: str, *sections: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(FRONT.format(subtopic=subtopic) + "\n" + "\n".join(sections), encoding="utf-8")
    return path


def scaling(*extra: str) -> list[str]:
    return [q("replicas", "How many replicas?", "As many as the load needs."),
            q("autoscale", "When to autoscale?", "When the load varies.", "hard"), *extra]


def workers(*extra: str, count: str = "Start with `2 × cores + 1`, then measure.") -> list[str]:
    return [q("worker-count", "How many workers?", count),
            q("uvicorn", "What is Uvicorn?", "An ASGI server.", "easy"),
            q("gunicorn", "Why Gunicorn?", "A process manager for the workers.", "hard"), *extra]


@pytest.fixture(scope="module", autouse=True)
def _nothing_left_running():
    """After this module the process runs the threads it ran before it, no more (alone: the main thread only).

    The CI once hung because this module left the ``anki`` backend of a synced collection as garbage, its
    runtime threads alive, and a forked child collected it. Each double checks its own threads when it stops;
    this catches whatever else a test leaves (a server, a thread, garbage that holds threads). No garbage is
    collected here: garbage holding threads is what must not be left. pytest's hang watchdog (faulthandler's
    timer thread, one per test) is stopped first, as it would count; the wait below is bounded."""
    before = threads()
    yield
    faulthandler.cancel_dump_traceback_later()
    left = wait_for_threads(before, WAIT)
    assert not left, f"tests/test_push.py left threads running: {left}"


@pytest.fixture()
def bank(tmp_path) -> Path:
    folder = tmp_path / "bank"
    write(folder, "workers.md", "Workers", *workers())
    write(folder, "scaling.md", "Scaling", *scaling())
    return folder


@pytest.fixture()
def anki(tmp_path):
    with AnkiConnectDouble(tmp_path / "anki" / "collection.anki2") as double:
        yield double


def push(anki: AnkiConnectDouble, bank: Path, *args: str, env: dict[str, str] | None = None, code: int = 0):
    result = runner.invoke(app, ["push", str(bank), "--url", anki.url, *args], env=env)
    assert result.exit_code == code, result.output
    return result


def summary(result) -> str:
    return result.stdout.strip().splitlines()[-1]


def snapshot(anki: AnkiConnectDouble) -> dict[int, tuple]:
    """Every note: its mod, fields, tags, and its cards' (id, deck, mod, interval)."""
    with anki.paused() as col:
        notes = {}
        for nid in col.find_notes(""):
            note = col.get_note(nid)
            cards = tuple((c.id, col.decks.name(c.did), c.mod, c.ivl) for c in note.cards())
            notes[nid] = (note.mod, tuple(note.fields), tuple(sorted(note.tags)), cards)
        return notes


def age(anki: AnkiConnectDouble) -> None:
    """Every note and card last modified long ago, so that any change to one shows in its ``mod``."""
    with anki.paused() as col:
        col.db.execute("update notes set mod = 1000")
        col.db.execute("update cards set mod = 1000")


def note_id(anki: AnkiConnectDouble, key: str) -> int:
    with anki.paused() as col:
        (nid,) = col.find_notes(f'"Key:{key}*"')
        return int(nid)


def writes(anki: AnkiConnectDouble) -> set[str]:
    return set(anki.actions) & WRITES


# ---------------------------------------------------------------------------------------------- what it must show


def test_push_then_push_changes_nothing(anki, bank):
    first = push(anki, bank)
    assert summary(first) == "5 added, 0 updated, 0 moved, 0 deleted, 0 unchanged"
    with anki.paused() as col:
        assert col.note_count() == 5
        assert {col.decks.name(c.did) for c in (col.get_card(i) for i in col.find_cards(""))} == {
            "FastAPI::Deployment::Workers", "FastAPI::Deployment::Scaling"}
    age(anki)
    before = snapshot(anki)
    anki.actions.clear()
    again = push(anki, bank)
    assert summary(again) == "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"
    assert writes(anki) == set() and snapshot(anki) == before


def test_editing_one_question_updates_exactly_that_note(anki, bank):
    push(anki, bank)
    age(anki)
    before = snapshot(anki)
    write(bank, "workers.md", "Workers", *workers(count="Start with **one per core**, then measure."))
    result = push(anki, bank)
    assert summary(result) == "0 added, 1 updated, 0 moved, 0 deleted, 4 unchanged"
    after = snapshot(anki)
    changed = [nid for nid in before if before[nid] != after[nid]]
    assert changed == [note_id(anki, KEY + "worker-count")]
    assert "<strong>one per core</strong>" in after[changed[0]][1][1] and after[changed[0]][0] > 1000
    assert after[changed[0]][3] == before[changed[0]][3]  # its card untouched


def test_a_moved_question_keeps_note_reviews_and_moves_its_cards(anki, bank):
    push(anki, bank)
    nid = note_id(anki, KEY + "worker-count")
    with anki.paused() as col:
        cid = col.get_note(nid).card_ids()[0]
        col.sched.set_due_date([cid], "9")
        reviews = col.db.scalar("select count() from revlog where cid = ?", cid)
        interval = col.get_card(cid).ivl
    write(bank, "workers.md", "Workers", *workers()[1:])
    write(bank, "scaling.md", "Scaling", *scaling(),
          q("worker-count", "How many workers?", "Start with `2 × cores + 1`, then measure.", "medium",
            f" from={KEY}worker-count"))
    dry = push(anki, bank, "--dry-run")
    assert "would move fastapi/deployment/scaling/worker-count" in dry.stdout
    assert "from FastAPI::Deployment::Workers to FastAPI::Deployment::Scaling" in dry.stdout
    result = push(anki, bank)
    assert summary(result) == "0 added, 0 updated, 1 moved, 0 deleted, 4 unchanged"
    with anki.paused() as col:
        assert col.note_count() == 5
        note, card = col.get_note(nid), col.get_card(cid)
        assert note["Key"] == f"fastapi/deployment/scaling/worker-count from={KEY}worker-count"
        assert "fastapi::deployment::scaling" in note.tags and "fastapi::deployment::workers" not in note.tags
        assert col.decks.name(card.did) == "FastAPI::Deployment::Scaling"
        assert (card.ivl, col.db.scalar("select count() from revlog where cid = ?", cid)) == (interval, reviews)
        assert interval > 0 and reviews == 1
    assert summary(push(anki, bank)) == "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"


def test_the_same_move_through_the_apkg_route_after_a_push_makes_no_duplicate(anki, bank, tmp_path):
    push(anki, bank)
    nid = note_id(anki, KEY + "worker-count")
    write(bank, "workers.md", "Workers", *workers()[1:])
    write(bank, "scaling.md", "Scaling", *scaling(),
          q("worker-count", "How many workers?", "Start with `2 × cores + 1`, then measure.", "medium",
            f" from={KEY}worker-count"))
    deck = tmp_path / "moved.apkg"
    assert runner.invoke(app, ["anki", str(bank), "-o", str(deck)]).exit_code == 0
    with anki.paused() as col:
        counts = log_counts(import_deck(col, deck))
        assert counts["new"] == 0 and col.note_count() == 5
        assert col.get_note(nid)["Key"].startswith("fastapi/deployment/scaling/worker-count from=")
    result = push(anki, bank)  # the import left the card in the old deck: push moves it
    assert summary(result) == "0 added, 0 updated, 1 moved, 0 deleted, 4 unchanged"


def test_a_move_without_from_gets_a_hint_naming_the_from_to_add(anki, bank):
    push(anki, bank)
    write(bank, "workers.md", "Workers", *workers()[1:])
    write(bank, "scaling.md", "Scaling", *scaling(), workers()[0])  # moved, from= forgotten
    result = push(anki, bank, "--dry-run")
    assert "question fastapi/deployment/scaling/worker-count looks moved from fastapi/deployment/workers/" \
           "worker-count" in result.stdout
    assert "add `from=fastapi/deployment/workers/worker-count` to its heading" in result.stdout
    assert "scaling.md:" in result.stdout


def test_a_deleted_question_is_kept_named_by_dry_run_and_deleted_only_when_asked(anki, bank):
    push(anki, bank)
    write(bank, "workers.md", "Workers", *workers()[:2])  # gunicorn removed
    kept = push(anki, bank)
    assert summary(kept) == "0 added, 0 updated, 0 moved, 0 deleted, 4 unchanged"
    assert "kept 1 note whose question is no longer in the bank (fastapi/deployment/workers/gunicorn)" in kept.stdout
    with anki.paused() as col:
        assert col.note_count() == 5
    anki.actions.clear()
    dry = push(anki, bank, "--delete-missing", "--dry-run")
    assert f"would delete {KEY}gunicorn" in dry.stdout and writes(anki) == set()
    assert summary(dry).endswith("0 added, 0 updated, 0 moved, 1 deleted, 4 unchanged")
    gone = push(anki, bank, "--delete-missing")
    assert summary(gone) == "0 added, 0 updated, 0 moved, 1 deleted, 4 unchanged"
    with anki.paused() as col:
        assert col.note_count() == 4 and not col.find_notes(f'"Key:{KEY}gunicorn"')


def test_push_then_apkg_import_is_one_note_per_question(anki, bank, tmp_path):
    push(anki, bank)
    ids = {note_id(anki, k) for k in (KEY + "worker-count", KEY + "uvicorn", KEY + "gunicorn")}
    deck = tmp_path / "deck.apkg"
    assert runner.invoke(app, ["anki", str(bank), "-o", str(deck)]).exit_code == 0
    with anki.paused() as col:
        counts = log_counts(import_deck(col, deck))
        assert counts["new"] == 0 and counts["updated"] == 0 and col.note_count() == 5
    assert {note_id(anki, k) for k in (KEY + "worker-count", KEY + "uvicorn", KEY + "gunicorn")} == ids


def test_apkg_import_then_push_is_one_note_per_question(anki, bank, tmp_path):
    deck = tmp_path / "deck.apkg"
    assert runner.invoke(app, ["anki", str(bank), "-o", str(deck)]).exit_code == 0
    with anki.paused() as col:
        import_deck(col, deck)
        ids = sorted(col.find_notes(""))
    anki.actions.clear()
    result = push(anki, bank)
    assert summary(result) == "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"
    assert writes(anki) == set()
    with anki.paused() as col:
        assert sorted(col.find_notes("")) == ids


def test_a_learner_edit_survives_is_reported_and_overwrite_edits_replaces_it(anki, bank):
    push(anki, bank)
    nid = note_id(anki, KEY + "uvicorn")
    with anki.paused() as col:
        note = col.get_note(nid)
        note["Answer"] += "<p>my mnemonic: unicorn</p>"
        col.update_note(note)
    write(bank, "workers.md", "Workers", *workers(count="Measure first."))  # another note changes meanwhile
    dry = push(anki, bank, "--dry-run")
    assert "kept the learner's edit of Answer in fastapi/deployment/workers/uvicorn" in dry.stdout
    assert "my mnemonic: unicorn" in dry.stdout
    result = push(anki, bank)
    assert "kept the learner's edit of Answer in fastapi/deployment/workers/uvicorn" in result.stdout
    assert summary(result) == "0 added, 1 updated, 0 moved, 0 deleted, 4 unchanged"
    with anki.paused() as col:
        assert "my mnemonic" in col.get_note(nid)["Answer"]
    assert "my mnemonic" in snapshot(anki)[nid][1][1]
    replaced = push(anki, bank, "--overwrite-edits")
    assert "replaced the learner's edit of Answer in fastapi/deployment/workers/uvicorn" in replaced.stdout
    with anki.paused() as col:
        assert col.get_note(nid)["Answer"] == "<p>An ASGI server.</p>\n"


def _long_answer_with_a_mnemonic(anki, bank: Path) -> tuple[str, int]:
    """A 400-character answer (worker-count) pushed, then the learner's mnemonic added at its end in Anki: the
    answer as the bank has it, and the note's id."""
    long = "Start with `2 × cores + 1` workers, " + "then measure the latency under load, " * 8 + "and adjust."
    write(bank, "workers.md", "Workers", *workers(count=long))
    push(anki, bank)
    nid = note_id(anki, KEY + "worker-count")
    with anki.paused() as col:
        note = col.get_note(nid)
        note["Answer"] = note["Answer"].replace("and adjust.", "and adjust. Mnemonic: two per core")
        col.update_note(note)
    return long, nid


def test_the_kept_edit_line_shows_where_the_texts_differ_in_a_long_answer(anki, bank):
    """Seen on the real Anki desktop with data/: a mnemonic added at the end of a 400-character answer was
    reported as "Anki has 'Middleware is code that runs …', the bank 'Middleware is code that runs …'", two
    equal beginnings that hide the edit. Each text is shown from a little before its first difference."""
    _long_answer_with_a_mnemonic(anki, bank)
    with anki.paused() as col:
        markup = col.get_note(note_id(anki, KEY + "gunicorn"))
        markup["Answer"] = markup["Answer"].replace("process manager", "<b>process</b> manager")
        col.update_note(markup)
    result = push(anki, bank, "--dry-run")
    (line,) = [t for t in result.stdout.splitlines() if "edit of Answer in " + KEY + "worker-count" in t]
    theirs, ours = line.split("Anki has ", 1)[1].split(", the bank ", 1)
    assert "Mnemonic: two per core" in theirs and "Mnemonic" not in ours, line
    assert theirs.startswith("'…") and ours.startswith("'…"), line
    assert ours.endswith("and adjust.' (--overwrite-edits replaces it)"), line
    assert len(line) < 400, line
    (bold,) = [t for t in result.stdout.splitlines() if "edit of Answer in " + KEY + "gunicorn" in t]
    assert "<b>process</b>" in bold and "the bank 'A process manager" not in bold, bold  # only markup differs


def test_the_kept_edit_line_shows_the_learners_edit_and_the_authors_change_wherever_they_are(anki, bank):
    """Seen on the real Anki desktop: the line showed the texts from their first difference only, so the author's
    change near the start of an answer hid the mnemonic the learner added at its end, and the learner could not
    tell from the line what they would lose with --overwrite-edits. Every place where the texts differ is shown
    (the first, the last and the largest between), each with the words before it."""
    long, nid = _long_answer_with_a_mnemonic(anki, bank)
    write(bank, "workers.md", "Workers", *workers(count=long.replace("Start with", "Begin with")))
    result = push(anki, bank)
    (line,) = [t for t in result.stdout.splitlines() if "edit of Answer in " + KEY + "worker-count" in t]
    assert ", in 2 places: 1) Anki has 'Start with 2 × cores…', the bank 'Begin with 2 × cores…'; " in line, line
    assert "2) Anki has '…load, and adjust. Mnemonic: two per core', the bank '…load, and adjust.'" in line, line
    assert line.endswith(" (--overwrite-edits replaces it)"), line
    with anki.paused() as col:
        assert "Mnemonic: two per core" in col.get_note(nid)["Answer"]


def test_the_kept_edit_line_is_bounded_and_shows_no_control_character_raw(anki, bank):
    """An answer of 140,000 characters with the learner's words changed in 32 places, a terminal's escapes among
    them, and another answer with 1.2 MB pasted into it: one line each, of bounded length, three places shown
    (the first, the last, the largest between) and the rest counted, the escapes shown escaped. (Anki drops
    ESC and BEL from a field, but keeps the 8-bit CSI U+009B, which some terminals act on, and bidi controls.)"""
    push(anki, bank)
    words = [f"word{n}" for n in range(15_000)]
    pasted = " ".join(words)
    write(bank, "workers.md", "Workers", q("worker-count", "How many workers?", "Measure."),
          q("uvicorn", "What is Uvicorn?", pasted, "easy"), q("gunicorn", "Why Gunicorn?", "A process manager."))
    push(anki, bank)
    edited = list(words)
    for n in range(0, 15_000, 500):
        edited[n] = "EDIT"
    edited[7250] = "\x9b2J\u202epwned\u200b a much longer edit in the middle"
    with anki.paused() as col:
        note = col.get_note(note_id(anki, KEY + "uvicorn"))
        note["Answer"] = " ".join(edited) + " my note \u202e\x9b31m"
        col.update_note(note)
        note = col.get_note(note_id(anki, KEY + "gunicorn"))
        note["Answer"] = "A process manager. " + "\x9b5m" * 100_000 + "a" * 700_000 + " mine"
        col.update_note(note)
    write(bank, "workers.md", "Workers", q("worker-count", "How many workers?", "Measure again."),
          q("uvicorn", "What is Uvicorn?", pasted, "easy"), q("gunicorn", "Why Gunicorn?", "A process manager!"))
    lines = push(anki, bank).stdout.splitlines()
    (line,) = [t for t in lines if "edit of Answer in " + KEY + "uvicorn" in t]
    assert len(line) < 700, len(line)
    assert ", in 32 places: 1) Anki has 'EDIT word1 word2…', the bank 'word0 word1 word2…'; " in line, line
    assert "2) Anki has '…word7248 word7249 \\x9b2J\\u202epwned\\u200b a much longer ed…', the bank " \
           "'…word7248 word7249 word7250 word7251 word7252…'" in line, line  # the largest of the 30 between
    assert "3) Anki has '…word14998 word14999 my note \\u202e\\x9b31m', the bank '…word14998 word14999'" in line, line
    assert line.endswith("; and 29 more places (--overwrite-edits replaces it)"), line
    (huge,) = [t for t in lines if "edit of Answer in " + KEY + "gunicorn" in t]
    assert len(huge) < 700 and "aaaaaaaaaa mine'" in huge and "\\x9b5m" in huge, huge
    assert not any(c in "\n".join(lines) for c in "\x9b\u202e\u200b"), "a control character printed raw"


def test_a_stale_field_qaexport_wrote_is_updated_but_a_value_it_never_wrote_is_not(anki, bank, state_dir):
    """The difference between the two is the ledger's record of what qaexport wrote; without it, keep."""
    push(anki, bank)
    (state_dir / "anki-notes.sqlite3").unlink()  # the ledger lost: qaexport cannot tell stale from edited
    write(bank, "workers.md", "Workers", *workers(count="Measure first."))
    result = push(anki, bank)
    assert "kept the learner's edit of Answer in fastapi/deployment/workers/worker-count" in result.stdout
    assert summary(result) == "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"


def test_notes_the_learner_made_are_never_touched(anki, bank):
    with anki.paused() as col:
        deck = col.decks.id("FastAPI::Deployment::Workers")
        basic = col.new_note(col.models.by_name("Basic"))
        basic["Front"], basic["Back"] = "My own card", "in qaexport's deck"
        col.add_note(basic, deck)
        mine = col.new_note(col.models.get(MODEL_ID)) if col.models.get(MODEL_ID) else None
    assert mine is None  # qaexport's note type arrives with the first push
    push(anki, bank)
    with anki.paused() as col:
        own = col.new_note(col.models.get(MODEL_ID))  # the learner's note of qaexport's type, no Key
        own["Question"], own["Answer"] = "Mine", "Also mine"
        col.add_note(own, deck)
        own_id = own.id
    age(anki)
    before = snapshot(anki)
    write(bank, "workers.md", "Workers", *workers()[:2])
    push(anki, bank, "--delete-missing", "--deck-name", "Prep")
    after = snapshot(anki)
    assert after[basic.id] == before[basic.id] and after[own_id] == before[own_id]
    with anki.paused() as col:  # their deck stays: it still holds their cards
        assert "FastAPI::Deployment::Workers" in [d.name for d in col.decks.all_names_and_ids()]


def test_learner_tags_are_kept_and_qaexport_tags_follow_the_bank(anki, bank):
    push(anki, bank)
    nid = note_id(anki, KEY + "uvicorn")
    with anki.paused() as col:
        col.tags.bulk_add([nid], "mine leech")
    write(bank, "workers.md", "Workers", *workers()[:1], q("uvicorn", "What is Uvicorn?", "An ASGI server.", "hard"),
          *workers()[2:])
    assert summary(push(anki, bank)) == "0 added, 1 updated, 0 moved, 0 deleted, 4 unchanged"
    with anki.paused() as col:
        note = col.get_note(nid)
        assert sorted(note.tags) == ["difficulty::hard", "fastapi::deployment::workers", "leech", "mine"]
        assert note["Difficulty"] == "hard"


def test_a_theme_change_updates_the_note_type_only(anki, bank):
    push(anki, bank)
    age(anki)
    before = snapshot(anki)
    result = push(anki, bank, "--theme", "monokai")
    assert summary(result) == "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"
    assert "updated the note type 'qaexport Q&A'" in result.stdout
    assert snapshot(anki) == before
    with anki.paused() as col:
        assert "code theme: monokai" in col.models.get(MODEL_ID)["css"]


def test_a_new_deck_name_moves_the_whole_tree_with_its_options(anki, bank):
    push(anki, bank)
    with anki.paused() as col:
        preset = col.decks.add_config_returning_id("my hard mode")
        stored = col.decks.by_name("FastAPI::Deployment::Workers")
        stored["conf"] = preset
        col.decks.save(stored)
    result = push(anki, bank, "--deck-name", "Interview::2026")
    assert summary(result) == "0 added, 0 updated, 5 moved, 0 deleted, 0 unchanged"
    with anki.paused() as col:
        names = sorted(d.name for d in col.decks.all_names_and_ids())
        assert names == ["Default", "Interview", "Interview::2026", "Interview::2026::FastAPI",
                         "Interview::2026::FastAPI::Deployment", "Interview::2026::FastAPI::Deployment::Scaling",
                         "Interview::2026::FastAPI::Deployment::Workers"]
        moved = col.decks.by_name("Interview::2026::FastAPI::Deployment::Workers")
        assert moved["conf"] == preset


def test_a_card_the_learner_moved_stays_and_a_filtered_deck_is_left_alone(anki, bank):
    push(anki, bank)
    a, b = note_id(anki, KEY + "uvicorn"), note_id(anki, KEY + "gunicorn")
    with anki.paused() as col:
        col.set_deck(col.get_note(a).card_ids(), col.decks.id("My review pile"))
        cram = col.decks.get(col.decks.new_filtered("Cram"))  # the learner crams one card
        cram["terms"] = [[f"nid:{b}", 100, 0]]
        col.decks.save(cram)
        col.sched.rebuild_filtered_deck(cram["id"])
    result = push(anki, bank, "--deck-name", "Prep")
    assert "kept fastapi/deployment/workers/uvicorn" in result.stdout and "My review pile" in result.stdout
    assert "left fastapi/deployment/workers/gunicorn (" in result.stdout and "in a filtered deck" in result.stdout
    with anki.paused() as col:
        assert col.decks.name(col.get_note(a).cards()[0].did) == "My review pile"
        assert col.decks.name(col.get_note(b).cards()[0].did) == "Cram"
    push(anki, bank, "--deck-name", "Prep", "--overwrite-edits")
    with anki.paused() as col:
        assert col.decks.name(col.get_note(a).cards()[0].did) == "Prep::FastAPI::Deployment::Workers"


def test_a_renamed_deck_and_a_filtered_deck_are_one_line_each_not_one_per_note(anki, bank):
    """A learner who renames qaexport's deck (or crams a hundred cards) reads one line per deck on each push."""
    push(anki, bank)
    with anki.paused() as col:
        col.decks.rename(col.decks.by_name("FastAPI::Deployment::Workers"), "My Workers")
        cram = col.decks.get(col.decks.new_filtered("Cram"))
        cram["terms"] = [["deck:FastAPI::Deployment::Scaling", 100, 0]]
        col.decks.save(cram)
        col.sched.rebuild_filtered_deck(cram["id"])
    age(anki)
    before = snapshot(anki)
    result = push(anki, bank)
    assert result.stdout.strip().splitlines() == [
        "kept 3 notes in My Workers, where the learner put them (fastapi/deployment/workers/worker-count, "
        "fastapi/deployment/workers/uvicorn, fastapi/deployment/workers/gunicorn; the bank says "
        "FastAPI::Deployment::Workers; --overwrite-edits moves them)",
        "left 2 notes in filtered decks (fastapi/deployment/scaling/replicas, fastapi/deployment/scaling/autoscale); "
        "they go back to their decks when those are emptied, and the next push puts them in place",
        "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"]
    assert snapshot(anki) == before
    moved = push(anki, bank, "--overwrite-edits")
    assert summary(moved) == "0 added, 0 updated, 3 moved, 0 deleted, 2 unchanged"


def test_two_notes_claiming_one_question_are_both_left_alone(anki, bank):
    push(anki, bank)
    nid = note_id(anki, KEY + "uvicorn")
    with anki.paused() as col:
        copy = col.new_note(col.models.get(MODEL_ID))
        for name in ("Question", "Answer", "Key"):
            copy[name] = col.get_note(nid)[name]
        col.add_note(copy, col.decks.id("Elsewhere"))
    write(bank, "workers.md", "Workers", *workers()[:1], q("uvicorn", "What is Uvicorn?", "Changed."), *workers()[2:])
    result = push(anki, bank)
    assert f"left alone: 2 notes claim {KEY}uvicorn" in result.stdout
    with anki.paused() as col:
        assert col.get_note(nid)["Answer"] == "<p>An ASGI server.</p>\n"


def test_filters_never_make_a_question_missing(anki, bank):
    push(anki, bank)
    result = push(anki, bank, "-d", "hard", "--delete-missing")
    assert summary(result) == "0 added, 0 updated, 0 moved, 0 deleted, 2 unchanged"
    other = push(anki, bank, "-t", "fastapi/deployment/scaling", "--delete-missing")
    assert summary(other) == "0 added, 0 updated, 0 moved, 0 deleted, 2 unchanged"
    with anki.paused() as col:
        assert col.note_count() == 5


def test_another_banks_notes_are_not_missing_from_this_one(anki, bank, tmp_path):
    push(anki, bank)
    other = tmp_path / "other"
    (other).mkdir()
    (other / "python.md").write_text("---\nframework: Python\ntopic: Basics\nsubtopic: Types\n---\n\n"
                                     + q("ints", "Are ints bounded?", "No."), encoding="utf-8")
    result = push(anki, other, "--delete-missing")
    assert summary(result) == "1 added, 0 updated, 0 moved, 0 deleted, 0 unchanged"
    with anki.paused() as col:
        assert col.note_count() == 6


def test_a_dry_run_changes_nothing_not_even_the_ledger(anki, bank, state_dir):
    anki.actions.clear()
    result = push(anki, bank, "--dry-run")
    assert summary(result) == "dry run, nothing changed; a push would give: 5 added, 0 updated, 0 moved, 0 deleted, " \
                              "0 unchanged"
    assert writes(anki) == set() and not (state_dir / "anki-notes.sqlite3").exists()
    with anki.paused() as col:
        assert col.note_count() == 0


def test_images_are_stored_once_under_their_content_names(anki, tmp_path):
    folder = tmp_path / "bank"
    image = png_bytes()
    name = hashlib.sha256(image).hexdigest()[:16] + ".png"
    (folder / "media").mkdir(parents=True)
    (folder / "media" / name).write_bytes(image)
    write(folder, "pics.md", "Pictures", q("pic", "What is shown?", f'<p>This: <img src="{name}"></p>', "easy",
                                          " format=html"))
    push(anki, folder)
    with anki.paused() as col:
        assert (Path(col.media.dir()) / name).read_bytes() == image
    assert anki.actions["storeMediaFile"] == 1
    write(folder, "pics.md", "Pictures", q("pic", "What is shown now?", f'<p>This: <img src="{name}"></p>', "easy",
                                          " format=html"))
    assert summary(push(anki, folder)).startswith("0 added, 1 updated")
    assert anki.actions["storeMediaFile"] == 1  # already there: not sent again


def test_a_cloze_question_is_one_note_with_a_card_per_deletion_and_agrees_with_the_apkg_route(anki, bank, tmp_path):
    cloze = "## The {{c1::speed of light}} is about {{c2::300,000 km/s::how fast?}} {#light .easy}\n\nIn vacuum.\n"
    write(bank, "physics.md", "Physics", cloze)
    assert summary(push(anki, bank)) == "6 added, 0 updated, 0 moved, 0 deleted, 0 unchanged"
    with anki.paused() as col:
        (nid,) = col.find_notes('"Key:fastapi/deployment/physics/light"')
        note = col.get_note(nid)
        assert note.note_type()["name"] == "qaexport Cloze" and len(note.cards()) == 2
        assert {col.decks.name(c.did) for c in note.cards()} == {"FastAPI::Deployment::Physics"}
    assert summary(push(anki, bank)) == "0 added, 0 updated, 0 moved, 0 deleted, 6 unchanged"
    write(bank, "physics.md", "Physics", cloze.replace("In vacuum.", "In a vacuum."))
    assert summary(push(anki, bank)) == "0 added, 1 updated, 0 moved, 0 deleted, 5 unchanged"
    deck = tmp_path / "deck.apkg"
    exported = runner.invoke(app, ["anki", str(bank), "-o", str(deck)])
    assert exported.exit_code == 0 and "became" not in exported.output, exported.output  # the push kept its type
    with anki.paused() as col:
        assert log_counts(import_deck(col, deck))["new"] == 0 and col.note_count() == 6
    write(bank, "physics.md", "Physics", "## The speed of light? {#light .easy}\n\nAbout 300,000 km/s.\n")
    result = push(anki, bank)  # no longer a cloze: Anki cannot change the note's type
    assert "left fastapi/deployment/physics/light" in result.stdout and "cannot change an existing note's type" \
        in result.stdout


# ---------------------------------------------------------------------------------------------- batches, reruns


def test_requests_are_bounded_batches_and_every_action_carries_the_key(tmp_path):
    folder = tmp_path / "bank"
    filler = "Some words to make an answer of a few kilobytes. " * 60
    write(folder, "many.md", "Many", *(q(f"q{i}", f"Question {i}?", f"Answer {i}. {filler}") for i in range(300)))
    with AnkiConnectDouble(tmp_path / "anki" / "collection.anki2", api_key="s3cret-k3y") as anki:
        push(anki, folder, env={"QAEXPORT_ANKICONNECT_KEY": "s3cret-k3y"})
        write(folder, "many.md", "Many", *(q(f"q{i}", f"Question {i}?", f"Answer {i}, better. {filler}")
                                           for i in range(300)))
        anki.bodies.clear()
        result = push(anki, folder, "--api-key", "s3cret-k3y")
        assert summary(result) == "0 added, 300 updated, 0 moved, 0 deleted, 0 unchanged"
        assert "s3cret-k3y" not in result.output
        batches = [(size, count) for size, count in anki.bodies if count > 1]
        # 300 updates of ~3 KiB: several requests, each within the bounds (512 KiB, 250 actions)
        assert len(batches) >= 3 and sum(count for _, count in batches) >= 300
        assert max(size for size, _ in anki.bodies) <= MAX_BODY == 512 * 1024
        assert max(count for _, count in batches) <= MAX_ACTIONS == 250


def test_a_failure_inside_a_batch_is_reported_for_its_note_and_the_rest_goes_on(anki, bank):
    push(anki, bank)
    victim = note_id(anki, KEY + "uvicorn")
    write(bank, "workers.md", "Workers", *(v2(s) for s in workers()))

    def learner_deletes_a_note_meanwhile(action: str, params: dict) -> None:
        if action == "guiSelectedNotes":
            anki.col.remove_notes([victim])
    anki.after_action = learner_deletes_a_note_meanwhile
    result = push(anki, bank, code=5)
    assert f"not updated: Note was not found: {victim}" in result.output
    assert summary(result).startswith("0 added, 2 updated, 0 moved, 0 deleted, 2 unchanged; 1 not done")


def test_a_note_open_in_the_browser_is_named_and_not_updated(anki, bank):
    push(anki, bank)
    open_one = note_id(anki, KEY + "uvicorn")
    anki.browser_selected = [open_one]
    write(bank, "workers.md", "Workers", *(v2(s) for s in workers()))
    result = push(anki, bank, code=5)
    assert f"it is open in Anki's browser (note {open_one})" in result.output
    assert "fastapi/deployment/workers/uvicorn" in result.output
    anki.browser_selected = []
    assert summary(push(anki, bank)) == "0 added, 1 updated, 0 moved, 0 deleted, 4 unchanged"


@pytest.mark.parametrize("stop_after", ["importPackage", "updateNoteFields", "changeDeck"])
def test_a_push_cut_off_midway_is_finished_by_the_next_one_without_duplicates(anki, bank, stop_after):
    if stop_after != "importPackage":
        push(anki, bank)
        if stop_after == "updateNoteFields":
            write(bank, "workers.md", "Workers", *(v2(s) for s in workers()))
    deck_args = ["--deck-name", "Prep"] if stop_after == "changeDeck" else []
    cut = {"done": False}

    def anki_goes_away(action: str, params: dict) -> None:
        if action == stop_after and not cut["done"]:
            cut["done"] = True
            raise HangUp
    anki.after_action = anki_goes_away
    broken = push(anki, bank, *deck_args, code=4)
    assert "closed the connection without answering" in broken.output, broken.output
    assert "run the same push again: it finishes the job, adding nothing twice" in broken.output, broken.output
    assert "Traceback" not in broken.output and len(broken.output.strip().splitlines()) == 1
    anki.after_action = None
    push(anki, bank, *deck_args)
    again = push(anki, bank, *deck_args)
    assert summary(again) == "0 added, 0 updated, 0 moved, 0 deleted, 5 unchanged"
    with anki.paused() as col:
        assert col.note_count() == 5
        keys = [col.get_note(n)["Key"] for n in col.find_notes("")]
        assert len(keys) == len(set(keys))


@pytest.mark.parametrize("how", ["quits", "resets"])
def test_anki_gone_midway_says_a_rerun_finishes_the_push_and_it_does(anki, bank, how):
    """Seen on the real Anki desktop, stopped during a push of 3,000 adds and 3,000 updates: "nothing is
    listening" (Anki had quit between two requests) and "Connection reset by peer" (quit during one), each one
    line that did not say, as the timeout's does, that running the same push again finishes it. It does: the
    notes added before the break are found again by Key, the updates not done are done, nothing is doubled."""
    push(anki, bank)
    write(bank, "workers.md", "Workers", *(v2(s) for s in workers()))
    write(bank, "scaling.md", "Scaling", *scaling(q("spot", "Spot instances?", "For batch work."),
                                                   q("cold", "Cold starts?", "Keep one warm.")))
    stop_after = "importPackage" if how == "quits" else "updateNoteFields"

    def anki_goes_away(action: str, params: dict) -> None:
        if action == stop_after and anki.after_action is not None:
            anki.after_action = None
            if how == "quits":
                anki.quit()  # this request is answered; the next one finds nothing listening
            else:
                raise Reset  # this action is done, the rest of its request is not, and no answer comes
    anki.after_action = anki_goes_away
    broken = push(anki, bank, code=4)
    (line,) = broken.output.strip().splitlines()
    expected = ("nothing is listening at " + anki.url + " any more" if how == "quits" else
                "(Connection reset by peer); check that Anki is running with AnkiConnect")
    assert line.startswith("error: ") and expected in line, line
    assert line.endswith("run the same push again: it finishes the job, adding nothing twice"), line
    if how == "quits":
        with pytest.raises(ConnectionRefusedError):  # Anki is gone: nothing listens on its port
            socket.create_connection(("127.0.0.1", int(anki.url.rsplit(":", 1)[1])), timeout=5).close()
        anki.restart()
    with anki.paused() as col:
        assert col.note_count() == 7  # the added notes went in before the break
        assert sum("(v2)" in col.get_note(n)["Answer"] for n in col.find_notes("")) == (0 if how == "quits" else 1)
    rerun = push(anki, bank)
    left = 3 if how == "quits" else 2
    assert summary(rerun) == f"0 added, {left} updated, 0 moved, 0 deleted, {7 - left} unchanged"
    assert summary(push(anki, bank)) == "0 added, 0 updated, 0 moved, 0 deleted, 7 unchanged"
    with anki.paused() as col:
        notes = [col.get_note(n) for n in col.find_notes("")]
        assert len(notes) == 7 and len({n["Key"] for n in notes}) == 7 and len({n.guid for n in notes}) == 7
        answers = {n["Key"].split("/")[-1].split()[0]: n["Answer"] for n in notes}
        assert all("(v2)" in answers[k] for k in ("worker-count", "uvicorn", "gunicorn")), answers
        assert {col.decks.name(c.did) for n in notes for c in n.cards()} == {
            "FastAPI::Deployment::Workers", "FastAPI::Deployment::Scaling"}


# ---------------------------------------------------------------------------------------------- errors


def one_line_error(result, code: int, *words: str) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == code and len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_nothing_listening_is_one_line(bank):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        result = runner.invoke(app, ["push", str(bank), "--url", f"http://127.0.0.1:{port}"])
    one_line_error(result, 4, "nothing is listening", "2055492159")


def test_an_old_ankiconnect_is_one_line(anki, bank):
    anki.version_number = 5
    one_line_error(push(anki, bank, code=4), 4, "API version 5", "needs 6")


def test_permission_refused_is_one_line(anki, bank):
    anki.allowed = False
    one_line_error(push(anki, bank, code=4), 4, "denied permission")


@pytest.mark.parametrize("given", [None, "wrong-key-123"])
def test_a_missing_or_wrong_key_is_one_line_and_never_printed(tmp_path, bank, given):
    with AnkiConnectDouble(tmp_path / "anki" / "collection.anki2", api_key="right-key-456") as anki:
        args = ["--api-key", given] if given else []
        expected = "refused the API key" if given else "needs an API key"
        line = one_line_error(push(anki, bank, *args, code=4), 4, expected)
        assert "right-key-456" not in line and (given is None or given not in line)


def test_an_answer_that_is_not_json_is_one_line(anki, bank):
    anki.garbage = b"<html><body>It works!</body></html>"
    one_line_error(push(anki, bank, code=4), 4, "not AnkiConnect's JSON", "It works")


def test_a_timeout_is_one_line(anki, bank):
    anki.delay = 1.5
    one_line_error(push(anki, bank, "--timeout", "0.3", code=4), 4, "did not answer within 0.3 s",
                   "run the same push again: it finishes the job")


def test_a_remote_url_needs_allow_remote(bank):
    result = runner.invoke(app, ["push", str(bank), "--url", "http://192.168.1.20:8765"])
    one_line_error(result, 2, "192.168.1.20 is not this machine", "--allow-remote", "unencrypted")
    for url in ("ftp://127.0.0.1:8765", "http://user:pw@127.0.0.1:8765", "127.0.0.1:8765", "http://127.0.0.1:99999"):
        one_line_error(runner.invoke(app, ["push", str(bank), "--url", url]), 2, "--url")


def test_a_note_type_changed_in_anki_stops_the_push_in_one_line(anki, bank):
    push(anki, bank)
    with anki.paused() as col:
        model = col.models.get(MODEL_ID)
        col.models.add_field(model, col.models.new_field("My notes"))
        col.models.update_dict(model)
    line = one_line_error(push(anki, bank, code=4), 4, "was changed", "My notes", "Manage Note Types")
    assert "Question, Answer, Difficulty, Source, Key" in line


def test_the_package_goes_through_ankis_media_folder_when_anki_is_elsewhere(anki, bank, monkeypatch):
    """A remote Anki cannot read our temporary files: the package travels as data (exercised on the double with
    the client told the address is not this machine)."""
    import dataclasses

    import qaexport.cli.push as cli_push
    from qaexport.exporters.anki import connect

    def elsewhere(url: str, allow_remote: bool) -> connect.Endpoint:
        return dataclasses.replace(connect.endpoint(url, allow_remote), local=False)
    monkeypatch.setattr(cli_push, "endpoint", elsewhere)
    assert summary(push(anki, bank)) == "5 added, 0 updated, 0 moved, 0 deleted, 0 unchanged"
    assert anki.actions["storeMediaFile"] == 1 and anki.actions["deleteMediaFile"] >= 1
    with anki.paused() as col:
        assert not [n for n in Path(col.media.dir()).iterdir() if n.suffix == ".apkg"]


def test_a_sync_without_an_ankiweb_login_is_reported_after_the_push(anki, bank):
    result = push(anki, bank, "--sync", code=5)
    assert "not synced: Anki is not logged in to AnkiWeb" in result.output
    assert summary(result).startswith("5 added")


@pytest.fixture()
def sync_server(tmp_path):
    """Anki's own sync server (``anki.syncserver``, what AnkiWeb runs) on a free loopback port, one user."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SYNC_USER1": "learner:pw", "SYNC_HOST": "127.0.0.1", "SYNC_PORT": str(port),
           "SYNC_BASE": str(tmp_path / "sync-server")}
    server = subprocess.Popen([sys.executable, "-m", "anki.syncserver"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while True:  # until it listens; waiting on the process shows if it died
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.wait(0.1)
                    pytest.fail("Anki's sync server stopped")
                if time.monotonic() > deadline:
                    pytest.fail(f"Anki's sync server did not listen within {WAIT:g} s")
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        try:
            server.wait(WAIT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(WAIT)
            pytest.fail(f"Anki's sync server did not stop within {WAIT:g} s of SIGTERM; killed")


def test_a_full_sync_asked_for_by_the_server_is_reported_and_a_normal_sync_goes_through(anki, bank, sync_server):
    with anki.paused() as col:
        anki.sync_auth = col.sync_login("learner", "pw", sync_server)
    first = push(anki, bank, "--sync", code=5)  # a new collection meets an empty server: a full sync is required
    assert "not synced: AnkiWeb asks for a full sync" in first.output and summary(first).startswith("5 added")
    with anki.paused() as col:  # the learner chooses Upload in Anki
        status = col.sync_collection(anki.sync_auth, False)
        col.close_for_full_sync()
        col.full_upload_or_download(auth=anki.sync_auth, server_usn=status.server_media_usn, upload=True)
        if col.db is None:
            col.reopen(after_full_sync=True)
    write(bank, "workers.md", "Workers", *workers(count="Measure first."))
    second = push(anki, bank, "--sync")
    assert "asked Anki to sync with AnkiWeb" in second.output
    assert summary(second) == "0 added, 1 updated, 0 moved, 0 deleted, 4 unchanged"


def test_push_options_come_from_the_config_file(anki, bank, tmp_path, monkeypatch):
    (tmp_path / "qaexport.toml").write_text(f'[push]\nurl = "{anki.url}"\ndelete_missing = true\n\n'
                                            '[anki]\ndeck_name = "FromConfig"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["push", str(bank)])
    assert result.exit_code == 0, result.output
    with anki.paused() as col:
        assert "FromConfig::FastAPI::Deployment::Workers" in [d.name for d in col.decks.all_names_and_ids()]
    (tmp_path / "qaexport.toml").write_text('[push]\napi_key = "x"\n', encoding="utf-8")
    bad = runner.invoke(app, ["push", str(bank)])
    assert bad.exit_code == 2 and "qaexport.toml:2: [push] api_key = \"x\": unknown option" in bad.output


def test_the_test_double_answers_like_the_real_add_on(anki, tmp_path):
    """The behaviours of the real AnkiConnect (seen on Anki desktop 26 with the add-on) the push relies on."""
    import http.client

    def post(body: dict | bytes) -> object:
        conn = http.client.HTTPConnection("127.0.0.1", int(anki.url.rsplit(":", 1)[1]), timeout=10)
        conn.request("POST", "/", body if isinstance(body, bytes) else json.dumps(body))
        data = conn.getresponse().read()
        conn.close()
        return json.loads(data) if data.startswith(b"{") else data

    def call(action: str, **params: object) -> object:
        return post({"action": action, "version": 6, "params": params})

    assert post(b"") == b"AnkiConnect v.6"
    assert call("multi", actions=[{"action": "version"}, {"action": "version", "version": 6}]) == {
        "result": [6, {"result": 6, "error": None}], "error": None}
    call("createDeck", deck="Alpha")
    call("createDeck", deck="Beta")
    note = {"deckName": "Beta", "modelName": "Basic", "fields": {"Front": "one", "Back": "x"}}
    added = call("addNote", note=note)["result"]
    assert call("getDecks", cards=call("findCards", query=f"nid:{added}")["result"])["result"] == {
        "Default": call("findCards", query=f"nid:{added}")["result"]}  # deckName ignored (upstream #385)
    assert call("addNotes", notes=[note, {**note, "fields": {"Front": "two", "Back": "x"}}])["result"][0] is None
    assert call("addNote", note=note) == {"result": None, "error": "cannot create note because it is a duplicate"}
    anki.api_key = "k"
    assert call("multi", actions=[{"action": "version", "version": 6, "key": "k"}])["error"] == \
        "valid api key must be provided"
    inner_without_key = {"action": "version", "version": 6}
    assert post({"action": "multi", "version": 6, "key": "k", "params": {"actions": [inner_without_key]}})[
        "result"] == [{"result": None, "error": "valid api key must be provided"}]
