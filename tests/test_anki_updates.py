"""A learner's collection through re-exports: edits survive, changes arrive, decks stay put, new cards in book order.

Builds are stamped with increasing SOURCE_DATE_EPOCH values, as later builds would be: any note that is
given a new time would then overwrite the learner's copy, so the tests see every spurious update.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport import sources
from qaexport.cli import app
from qaexport.exporters.anki import ledger as anki_ledger
from qaexport.exporters.anki.ledger import Version, choose_time, note_times
from tests.anki_collection import import_deck, log_counts, new_collection
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write

runner = CliRunner()
HOUR = 3600


def export_at(when: int, *args: str) -> None:
    qaexport("anki", *args, env={"SOURCE_DATE_EPOCH": str(when)})


def edit(col, query: str, text: str) -> int:
    nid = col.find_notes(query)[0]
    note = col.get_note(nid)
    note["Answer"] += f"<p>{text}</p>"
    col.update_note(note)
    return nid


@pytest.fixture()
def t0() -> int:
    return int(time.time()) - 10 * HOUR  # the first build; the learner's edits happen "now", later


def test_edit_survives_export_to_a_new_path(tmp_path, sample_path, t0):
    export_at(t0, str(sample_path), "-o", str(tmp_path / "first.apkg"))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "first.apkg")
        nid = edit(col, "Key:fastapi/deployment/middleware/middleware-basics", "my mnemonic")
        export_at(t0 + 20 * HOUR, str(sample_path), "-o", str(tmp_path / "elsewhere" / "new-name.apkg"))
        log = import_deck(col, tmp_path / "elsewhere" / "new-name.apkg")
        assert log_counts(log)["updated"] == 0 and log_counts(log)["new"] == 0
        assert "my mnemonic" in col.get_note(nid)["Answer"]


def test_edits_survive_a_filtered_export_then_a_full_one(tmp_path, sample_path, t0):
    full, hard = tmp_path / "dist" / "fastapi-deployment.apkg", tmp_path / "dist" / "fastapi-deployment-hard.apkg"
    export_at(t0, str(sample_path), "-o", str(full))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, full)
        edited = [edit(col, "tag:difficulty::hard", "hard note, my words"),
                  edit(col, "tag:difficulty::easy", "easy note, my words")]
        export_at(t0 + 20 * HOUR, str(sample_path), "-d", "hard", "-o", str(hard))
        assert log_counts(import_deck(col, hard))["updated"] == 0
        export_at(t0 + 21 * HOUR, str(sample_path), "-o", str(full))
        assert log_counts(import_deck(col, full))["updated"] == 0
        # The same filtered export written over the full deck's own file, then the full deck again.
        export_at(t0 + 22 * HOUR, str(sample_path), "-d", "hard", "-o", str(full))
        export_at(t0 + 23 * HOUR, str(sample_path), "-o", str(full))
        assert log_counts(import_deck(col, full))["updated"] == 0
        assert ["my words" in col.get_note(nid)["Answer"] for nid in edited] == [True, True]


def test_without_the_ledger_previous_and_the_output_file_together_keep_every_edit(tmp_path, sample_path, t0,
                                                                                  monkeypatch):
    """The ledger is gone and --previous names a filtered package: the existing output file still knows the rest
    (both are read), so no unchanged note is updated and no learner edit is lost."""
    full, hard = tmp_path / "full.apkg", tmp_path / "hard.apkg"
    export_at(t0, str(sample_path), "-o", str(full))
    export_at(t0 + HOUR, str(sample_path), "-d", "hard", "-o", str(hard))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, full)
        edited = edit(col, "tag:difficulty::easy", "my own words")
        monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "a-new-machine"))
        result = runner.invoke(app, ["anki", str(sample_path), "-o", str(full), "--previous", str(hard)],
                               env={"SOURCE_DATE_EPOCH": str(t0 + 20 * HOUR)})
        assert result.exit_code == 0 and "warning" not in result.output, result.output
        log = import_deck(col, full)
        assert log_counts(log)["updated"] == 0 and log_counts(log)["new"] == 0
        assert "my own words" in col.get_note(edited)["Answer"]


def test_a_previous_package_that_does_not_cover_the_deck_is_named_in_a_warning(tmp_path, sample_path, t0,
                                                                              monkeypatch):
    hard = tmp_path / "hard.apkg"
    export_at(t0, str(sample_path), "-d", "hard", "-o", str(hard))
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "a-new-machine"))
    result = runner.invoke(app, ["anki", str(sample_path), "-o", str(tmp_path / "new.apkg"), "--previous", str(hard)])
    assert result.exit_code == 0
    assert (f"warning: 25 of 34 notes are in neither --previous {hard}, the output file nor the note-time ledger"
            in " ".join(result.output.split())), result.output


def test_changing_the_deck_name_with_the_ledger_gone_says_that_anki_will_not_move_cards(tmp_path, sample_path, t0,
                                                                                        monkeypatch):
    """The ledger's record of each note's decks is gone (a new machine): the existing output file tells which deck
    each note had, so the run that changes --deck-name still says that Anki leaves the cards where they are."""
    deck = tmp_path / "deck.apkg"
    export_at(t0, str(sample_path), "-o", str(deck))
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "a-new-machine"))
    same = runner.invoke(app, ["anki", str(sample_path), "-o", str(deck)])
    assert same.exit_code == 0 and "warning" not in same.output, same.output
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "another-machine"))
    moved = runner.invoke(app, ["anki", str(sample_path), "-o", str(deck), "--deck-name", "Interview::2026"])
    assert moved.exit_code == 0
    lines = [line for line in moved.output.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, moved.output
    assert lines[0].startswith("warning: 34 notes changed deck since the last export (e.g. to 'Interview::2026::"
                               "FastAPI::"), lines[0]
    assert "never moves cards" in " ".join(moved.output.split()) and "Change Deck" in moved.output
    again = runner.invoke(app, ["anki", str(sample_path), "-o", str(deck), "--deck-name", "Interview::2026"])
    assert "warning" not in again.output  # said once, by the run that changed it


def test_one_changed_answer_updates_exactly_that_note_on_a_new_path(tmp_path, sample_copy, t0):
    export_at(t0, str(sample_copy), "-o", str(tmp_path / "v1.apkg"))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "v1.apkg")
        kept = edit(col, "Key:fastapi/deployment/middleware/middleware-order", "learner note")
        payload = json.loads(sample_copy.read_text())
        idx = payload.index("gunicorn-uvicorn-workers") + 2
        payload[idx] = payload[idx].replace("battle-tested", "battle tested")
        sample_copy.write_text(json.dumps(payload))
        export_at(t0 + 20 * HOUR, str(sample_copy), "-o", str(tmp_path / "v2" / "deck.apkg"))
        log = import_deck(col, tmp_path / "v2" / "deck.apkg")
        assert log_counts(log)["updated"] == 1 and log_counts(log)["new"] == 0
        assert [n.fields[4] for n in log.updated] == ["fastapi/deployment/uvicorn-gunicorn/gunicorn-uvicorn-workers"]
        assert "learner note" in col.get_note(kept)["Answer"]
        # Exported once more, anywhere: nothing left to update.
        export_at(t0 + 21 * HOUR, str(sample_copy), "-o", str(tmp_path / "v3.apkg"))
        assert log_counts(import_deck(col, tmp_path / "v3.apkg"))["updated"] == 0


def _other_framework(tmp_path: Path) -> Path:
    return write(tmp_path / "django.json", page(
        [subtopic("queries", "Queries", [question("select-related"), question("prefetch", "hard")], fw="django",
                  topic="orm")], fw="django", fw_name="Django", topic="orm", topic_name="ORM"))


def _deck_of_each_note(col) -> dict[str, str]:
    return {col.get_note(col.get_card(cid).nid)["Key"]: col.decks.name(col.get_card(cid).did)
            for cid in col.find_cards("")}


def test_a_banks_deck_tree_does_not_depend_on_what_else_is_exported(tmp_path, sample_path):
    alone, together = tmp_path / "alone.apkg", tmp_path / "together.apkg"
    qaexport("anki", str(sample_path), "-o", str(alone))
    qaexport("anki", str(sample_path), str(_other_framework(tmp_path)), "-o", str(together))
    with new_collection(tmp_path / "a") as col_a, new_collection(tmp_path / "b") as col_b:
        import_deck(col_a, alone)
        import_deck(col_b, together)
        decks_alone, decks_together = _deck_of_each_note(col_a), _deck_of_each_note(col_b)
        assert {k: v for k, v in decks_together.items() if k.startswith("fastapi/")} == decks_alone
        assert decks_together["django/orm/queries/prefetch"] == "Django::ORM::Queries"
        # Importing both leaves one tree per framework and no empty deck.
        import_deck(col_b, alone)
        names = {d.name for d in col_b.decks.all_names_and_ids()} - {"Default"}
        assert {n.split("::")[0] for n in names} == {"FastAPI", "Django"}
        assert all(col_b.find_cards(f'"deck:{n}"') for n in names)
    fastapi_decks = {k: v for k, v in _package_decks(together, tmp_path).items() if k.startswith("FastAPI")}
    assert fastapi_decks == {k: v for k, v in _package_decks(alone, tmp_path).items() if k != "Default"}


def test_deck_name_is_a_parent_prefix_that_may_nest(tmp_path, sample_path):
    deck = tmp_path / "deck.apkg"
    qaexport("anki", str(sample_path), str(_other_framework(tmp_path)), "-o", str(deck), "--deck-name",
             " Interview :: 2026 ")
    with new_collection(tmp_path / "col") as col:
        import_deck(col, deck)
        decks = _deck_of_each_note(col)
        assert decks["django/orm/queries/prefetch"] == "Interview::2026::Django::ORM::Queries"
        assert decks["fastapi/deployment/middleware/middleware-order"] == \
            "Interview::2026::FastAPI::Deployment & Middleware::Middleware"
    result = runner.invoke(app, ["anki", str(sample_path), "-o", str(tmp_path / "x.apkg"), "--deck-name", "A::::B"])
    assert result.exit_code == 2 and "--deck-name" in result.output and "empty" in result.output
    assert not (tmp_path / "x.apkg").exists()


def test_new_cards_are_due_in_booklet_order(tmp_path, sample_path, sample_library):
    other = _other_framework(tmp_path)
    deck = tmp_path / "deck.apkg"
    qaexport("anki", str(other), str(sample_path), "-o", str(deck))
    book_order = [r.question.key for r in sources.load([other, sample_path]).questions()]
    with new_collection(tmp_path / "col") as col:
        import_deck(col, deck)
        cards = [col.get_card(cid) for cid in col.find_cards("is:new")]
        assert len({c.due for c in cards}) == len(cards) == len(book_order)
        by_due = [col.get_note(c.nid)["Key"] for c in sorted(cards, key=lambda c: c.due)]
        assert by_due == book_order


def _col_json(apkg: Path, tmp_path: Path, column: str) -> dict:
    db = tmp_path / "m.db"
    with zipfile.ZipFile(apkg) as zf:
        db.write_bytes(zf.read("collection.anki2"))
    conn = sqlite3.connect(db)
    try:
        return json.loads(conn.execute(f"select {column} from col").fetchone()[0])
    finally:
        conn.close()
        db.unlink()


def _model_mod(apkg: Path, tmp_path: Path) -> int:
    return next(iter(_col_json(apkg, tmp_path, "models").values()))["mod"]


def _package_decks(apkg: Path, tmp_path: Path) -> dict[str, tuple[int, str]]:
    """Deck name → (id, description) as the package declares them."""
    return {d["name"]: (d["id"], d["desc"]) for d in _col_json(apkg, tmp_path, "decks").values()}


def test_note_type_keeps_its_time_on_a_new_path(tmp_path, sample_path, t0):
    export_at(t0, str(sample_path), "-o", str(tmp_path / "a.apkg"))
    export_at(t0 + HOUR, str(sample_path), "-o", str(tmp_path / "b.apkg"))
    assert _model_mod(tmp_path / "b.apkg", tmp_path) == _model_mod(tmp_path / "a.apkg", tmp_path) == t0
    export_at(t0 + 2 * HOUR, str(sample_path), "-o", str(tmp_path / "c.apkg"), "--theme", "monokai")
    assert _model_mod(tmp_path / "c.apkg", tmp_path) == t0 + 2 * HOUR


def test_same_input_and_ledger_give_identical_packages(tmp_path, sample_path, monkeypatch):
    outputs = []
    for name in ("one", "two"):  # two machines: each with a fresh ledger, then a rebuild with a used one
        monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / f"state-{name}"))
        for attempt in range(2):
            out = tmp_path / f"{name}-{attempt}.apkg"
            export_at(1_700_000_000, str(sample_path), "-o", str(out))
            outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    assert (tmp_path / "state-one" / anki_ledger.FILE_NAME).exists()


def test_an_unusable_ledger_is_a_warning_not_a_failure(tmp_path, sample_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(blocker))
    result = runner.invoke(app, ["anki", str(sample_path), "-o", str(tmp_path / "deck.apkg")])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "note-time ledger unusable" in result.output
    assert (tmp_path / "deck.apkg").exists()


def test_changed_content_gets_max_of_build_time_and_old_plus_one():
    assert choose_time("a", [], 100) == 100
    assert choose_time("a", [Version("a", 50)], 100) == 50
    assert choose_time("b", [Version("a", 50)], 100) == 100
    assert choose_time("b", [Version("a", 150)], 100) == 151  # a clock behind the last build still moves on
    # The newest version decides: back to older content is still a change for whoever holds the newest.
    assert choose_time("a", [Version("a", 50), Version("b", 60)], 10) == 61


def test_overlapping_runs_never_give_two_contents_one_time(tmp_path, monkeypatch):
    ledger = tmp_path / anki_ledger.FILE_NAME
    assert note_times(ledger, {"n": "v0"}, {}, 100) == {"n": 100}
    blocker = sqlite3.connect(ledger, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another run in the middle of its update
    waiting = threading.Semaphore(0)
    begin = anki_ledger._begin

    def begin_seen(conn):  # each run tells when it asks for the write lock the blocker holds
        waiting.release()
        return begin(conn)

    monkeypatch.setattr(anki_ledger, "_begin", begin_seen)
    results: dict[str, int] = {}
    threads = [threading.Thread(target=lambda fp=fp: results.update({fp: note_times(ledger, {"n": fp}, {}, 100)["n"]}))
               for fp in ("v1", "v2")]
    for t in threads:
        t.start()
    assert waiting.acquire(timeout=30) and waiting.acquire(timeout=30)  # both runs are at the lock
    blocker.execute("COMMIT")
    blocker.close()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) == [101, 102]


def test_ledger_is_bounded_and_keeps_this_runs_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(anki_ledger, "MAX_ROWS", 5)
    ledger = tmp_path / anki_ledger.FILE_NAME
    note_times(ledger, {f"old{i}": "x" for i in range(4)}, {}, 100)
    note_times(ledger, {f"new{i}": "x" for i in range(3)}, {}, 200)
    conn = sqlite3.connect(ledger)
    try:
        ids = {row[0] for row in conn.execute("select id from notes")}
    finally:
        conn.close()
    assert len(ids) == 5 and {"new0", "new1", "new2"} <= ids


def _note_mods(apkg: Path, tmp_path: Path) -> dict[str, int]:
    """Key → note time, as the package holds them."""
    db = tmp_path / "n.db"
    with zipfile.ZipFile(apkg) as zf:
        db.write_bytes(zf.read("collection.anki2"))
    conn = sqlite3.connect(db)
    try:
        return {flds.split("\x1f")[4]: mod for flds, mod in conn.execute("select flds, mod from notes")}
    finally:
        conn.close()
        db.unlink()


@pytest.fixture()
def previous_reads(monkeypatch) -> list[Path]:
    """The previous packages the exporter reads back (the real reader, counted)."""
    from qaexport.exporters import anki

    calls: list[Path] = []
    real = anki.read_previous
    monkeypatch.setattr(anki, "read_previous", lambda path, *advice: calls.append(path) or real(path, *advice))
    return calls


def test_a_rebuild_over_our_own_unchanged_package_does_not_read_it_back(tmp_path, sample_path, t0, previous_reads):
    deck = tmp_path / "deck.apkg"
    export_at(t0, str(sample_path), "-o", str(deck))
    first = _note_mods(deck, tmp_path)
    export_at(t0 + HOUR, str(sample_path), "-o", str(deck))
    assert previous_reads == [] and _note_mods(deck, tmp_path) == first
    os.utime(deck)  # touched by someone else: no longer known to be ours, so it is read
    export_at(t0 + 2 * HOUR, str(sample_path), "-o", str(deck))
    assert previous_reads == [deck] and _note_mods(deck, tmp_path) == first


def test_a_package_copied_over_ours_is_read_even_with_our_files_mtime(tmp_path, sample_copy, t0, monkeypatch,
                                                                      previous_reads):
    """Another machine's newer version of a note, copied over our package keeping our file's mtime: the
    learner may hold that version, so going back to our content must get a newer time still."""
    deck, theirs = tmp_path / "deck.apkg", tmp_path / "theirs.apkg"
    key = "fastapi/deployment/uvicorn-gunicorn/gunicorn-uvicorn-workers"
    original = sample_copy.read_text()
    export_at(t0, str(sample_copy), "-o", str(deck))
    ours, our_state = deck.stat(), os.environ["QAEXPORT_STATE_DIR"]
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "their-state"))
    sample_copy.write_text(original.replace("battle-tested", "battle tested"))  # same length
    export_at(t0 + HOUR, str(sample_copy), "-o", str(theirs))
    shutil.copy2(theirs, deck)
    os.utime(deck, ns=(ours.st_atime_ns, ours.st_mtime_ns))
    monkeypatch.setenv("QAEXPORT_STATE_DIR", our_state)
    sample_copy.write_text(original)
    export_at(t0 + 2 * HOUR, str(sample_copy), "-o", str(deck))
    mods = _note_mods(deck, tmp_path)
    assert previous_reads == [deck]
    # Their export stamped every note t0 + 1 h (a fresh ledger): unchanged notes keep that, the changed one moves on.
    assert mods[key] == t0 + 2 * HOUR and {m for k, m in mods.items() if k != key} == {t0 + HOUR}


def test_a_pruned_ledger_no_longer_vouches_for_a_package(tmp_path, monkeypatch):
    ledger, package = tmp_path / anki_ledger.FILE_NAME, tmp_path / "p.apkg"
    note_times(ledger, {"old": "x"}, {}, 50)
    times = note_times(ledger, {"a": "x", "b": "y"}, {}, 100)
    package.write_bytes(b"a package")
    anki_ledger.record_package(ledger, package, times.run, package.stat().st_ino)
    assert anki_ledger.holds_package(ledger, package)
    monkeypatch.setattr(anki_ledger, "MAX_ROWS", 3)
    note_times(ledger, {"c": "z"}, {}, 200)  # forgets "old", from before the package: still vouched for
    assert anki_ledger.holds_package(ledger, package)
    note_times(ledger, {"d": "w"}, {}, 300)  # forgets "a" or "b", which the package holds
    assert not anki_ledger.holds_package(ledger, package)


def _values(table: dict[str, list[str]]):
    """A ``written_of`` for note_times: ``table[id]`` are the cheap values (asked always), the rest when full."""
    asked: list[tuple[str, bool]] = []

    def written_of(key: str, full: bool) -> list[str]:
        asked.append((key, full))
        return table[key] if full else table[key][:1]
    return written_of, asked


def test_the_ledger_remembers_every_value_it_wrote_and_hashes_fields_only_when_content_changes(tmp_path):
    ledger = tmp_path / anki_ledger.FILE_NAME
    written_of, asked = _values({"n": ["deck1", "q1", "a1"]})
    first = note_times(ledger, {"n": "v1"}, {}, 100, written_of=written_of)
    assert first.written == {"n": ("deck1", "q1", "a1")} and first.fresh == {} and asked == [("n", True)]
    asked.clear()
    again = note_times(ledger, {"n": "v1"}, {}, 200, written_of=written_of)  # nothing changed: only the deck
    assert asked == [("n", False)] and again.written["n"] == ("deck1", "q1", "a1") and again.fresh == {}
    written_of, asked = _values({"n": ["deck2", "q1", "a2"]})
    changed = note_times(ledger, {"n": "v2"}, {}, 300, written_of=written_of)
    assert changed["n"] == 300 and asked == [("n", True)]
    assert changed.written["n"] == ("deck1", "q1", "a1", "deck2", "a2") and changed.fresh == {"n": ["deck2", "a2"]}


def test_written_values_are_bounded_per_note_newest_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(anki_ledger, "MAX_WRITTEN", 3)
    ledger = tmp_path / anki_ledger.FILE_NAME
    for i in range(5):
        times = note_times(ledger, {"n": f"v{i}"}, {}, 100 + i, written_of=lambda _k, _f, i=i: [f"x{i}"])
    assert times.written["n"] == ("x2", "x3", "x4")


def test_a_dry_run_reads_the_ledger_and_writes_nothing(tmp_path):
    ledger = tmp_path / anki_ledger.FILE_NAME
    assert note_times(ledger, {"n": "v1"}, {}, 100, record=False) == {"n": 100}
    assert not ledger.exists()
    note_times(ledger, {"n": "v1"}, {}, 100, written_of=lambda _k, _f: ["a"])
    before = ledger.read_bytes()
    dry = note_times(ledger, {"n": "v2"}, {}, 200, written_of=lambda _k, _f: ["b"], record=False)
    assert dry == {"n": 200} and dry.written == {"n": ("a", "b")}
    assert note_times(ledger, {"n": "v1"}, {}, 300, record=False) == {"n": 100}  # the dry run recorded nothing
    assert ledger.read_bytes() == before


def test_a_ledger_from_before_written_values_is_upgraded(tmp_path):
    ledger = tmp_path / anki_ledger.FILE_NAME
    conn = sqlite3.connect(ledger)
    conn.executescript("""
        CREATE TABLE notes (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, mod INTEGER NOT NULL,
                            run INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO notes VALUES ('n', 'v1', 50, 1);
        INSERT INTO meta VALUES ('runs', 1);""")
    conn.close()
    times = note_times(ledger, {"n": "v1"}, {}, 100, written_of=lambda _k, _f: ["a", "b"])
    assert times == {"n": 50} and times.written == {"n": ("a", "b")} and times.fresh == {}
    assert note_times(ledger, {"n": "v1"}, {}, 200).written == {"n": ("a", "b")}


def test_a_build_dated_before_a_learners_touch_does_not_reach_that_note_and_the_docs_say_so(tmp_path, t0):
    """trial11 #7: with SOURCE_DATE_EPOCH the build time is that date; a note the learner tagged after it is newer in
    the collection, so Anki's import skips the author's correction on it, silently (the untouched note is updated).
    The real behaviour, with the official anki package, and docs/anki.md saying it where it promises byte-identical
    decks (it did not: the trial lost a correction)."""
    bank = tmp_path / "bank" / "b.md"
    bank.parent.mkdir()
    front = "---\nframework: {name: F, slug: f}\ntopic: {name: T, slug: t}\nsubtopic: {name: S, slug: s}\n---\n"
    bank.write_text(front + "\n## One? {#one .easy}\n\nFirst.\n\n## Two? {#two .easy}\n\nSecond.\n")
    export_at(t0, str(bank.parent), "-o", str(tmp_path / "d.apkg"))
    with new_collection(tmp_path / "col") as col:
        import_deck(col, tmp_path / "d.apkg")
        touched = col.get_note(col.find_notes("Key:f/t/s/one")[0])
        touched.tags.append("mine")
        col.update_note(touched)  # its time is now: after t0 + 1 hour
        text = bank.read_text()
        bank.write_text(text.replace("First.", "First, corrected.").replace("Second.", "Second, corrected."))
        export_at(t0 + HOUR, str(bank.parent), "-o", str(tmp_path / "d.apkg"))
        log = import_deck(col, tmp_path / "d.apkg")
        assert log_counts(log)["updated"] == 1
        assert "corrected" not in col.get_note(touched.id)["Answer"]
        assert "corrected" in col.get_note(col.find_notes("Key:f/t/s/two")[0])["Answer"]
    docs = " ".join((Path(__file__).parent.parent / "docs" / "anki.md").read_text(encoding="utf-8").split())
    assert "a note the learner edited or tagged after that date is newer in the collection, so Anki skips the " \
           "author's correction on it without a word" in docs
