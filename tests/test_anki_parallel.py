"""A deck rendered on two cores is the deck rendered on one: the same notes, in the same order, with the same GUIDs,
times and bytes (rendering in children is only ever faster, never different)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.synth import synthesise
from qaexport import forked, render
from tests.anki_collection import import_deck, new_collection
from tests.cli_run import qaexport


def notes_of(package: Path, folder: Path) -> list[tuple[str, str, int, str]]:
    with new_collection(folder) as col:
        import_deck(col, package)
        rows = col.db.all("SELECT guid, flds, mod, tags FROM notes ORDER BY id")
    return [tuple(row) for row in rows]


def test_one_core_and_two_make_the_same_deck(tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    synthesise(240, bank)  # over render.POOL_THRESHOLD (200): two cores render in a child beside this process
    assert render.POOL_THRESHOLD <= 240
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    decks = {}
    for n in (1, 2):
        monkeypatch.setattr(forked, "cores", lambda n=n: n)
        monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / f"state-{n}"))  # each its own ledger: a first export
        decks[n] = tmp_path / f"deck-{n}.apkg"
        qaexport("anki", str(bank), "-o", str(decks[n]), "--no-cache", env=env)
    assert decks[1].read_bytes() == decks[2].read_bytes()
    one, other = notes_of(decks[1], tmp_path / "anki-1"), notes_of(decks[2], tmp_path / "anki-2")
    assert len(one) == 240 and len({guid for guid, *_ in one}) == 240
    assert one == other
