"""Renaming a place must not silently fork every note: identity follows slugs, so a rename seen in the earlier
deck is told with the slug that undoes it, and `init` and the README pin their slugs.
Every deck is imported into one real collection with the official ``anki`` package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qaexport.cli import app
from tests.anki_collection import import_deck, log_counts, new_collection

runner = CliRunner()
README = Path(__file__).resolve().parent.parent / "README.md"


def anki(*args: str, epoch: int) -> str:
    result = runner.invoke(app, ["anki", *args], env={"SOURCE_DATE_EPOCH": str(epoch)})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def subtopic_file(folder: Path, name: str, sub: str, ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    questions = "".join(f"## What is {i}? {{#{i} .easy}}\n\nIt is {i}.\n\n" for i in ids)
    path.write_text(f"---\nframework: {{name: Web, slug: web}}\ntopic: Servers\nsubtopic: {sub}\n---\n\n{questions}",
                    encoding="utf-8")
    return path


def test_init_and_the_readme_pin_every_slug_so_a_rename_keeps_the_notes(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    example = next((tmp_path / "bank").rglob("*.md"))
    bank = str(tmp_path / "bank")
    anki(bank, "-o", str(tmp_path / "v1.apkg"), epoch=1_700_000_000)
    text = example.read_text(encoding="utf-8")
    renamed = text.replace("name: Getting started", "name: Getting going").replace("name: Markdown", "name: Md")
    assert renamed.count("Getting going") == 1 and "name: Md" in renamed
    example.write_text(renamed, encoding="utf-8")
    anki(bank, "-o", str(tmp_path / "v2.apkg"), epoch=1_700_000_000 + 3600)
    with new_collection(tmp_path / "col") as col:
        assert log_counts(import_deck(col, tmp_path / "v1.apkg"))["new"] == 3
        assert log_counts(import_deck(col, tmp_path / "v2.apkg"))["new"] == 0
        assert col.note_count() == 3
    front = re.search(r"````markdown\n---\n(.*?)\n---", README.read_text(encoding="utf-8"), re.S).group(1)
    assert [line.split(":")[0] for line in front.splitlines() if "slug:" in line] == ["framework", "topic", "subtopic"]


def test_a_rename_is_told_with_the_slug_that_undoes_it(tmp_path, monkeypatch):
    bank = tmp_path / "bank"
    first = subtopic_file(bank, "a.md", "Getting started", ["alpha", "beta", "gamma"])
    subtopic_file(bank, "b.md", "Other things", ["delta"])
    deck = tmp_path / "dist" / "web.apkg"
    assert "warning" not in anki(str(bank), "-o", str(deck), epoch=1_700_000_000)  # builds stay quiet (and skippable)
    v1_copy = tmp_path / "v1.apkg"
    v1_copy.write_bytes(deck.read_bytes())

    first.write_text(first.read_text(encoding="utf-8").replace("Getting started", "Getting going"), encoding="utf-8")
    v2 = anki(str(bank), "-o", str(deck), epoch=1_700_000_000 + 3600)  # the ledger holds the output file
    told = ("3 questions (e.g. 'alpha') moved from web/servers/getting-started to web/servers/getting-going since "
            f"{deck}")
    assert told in v2 and "give it back its old slug (subtopic `slug: getting-started`)" in v2, v2
    with new_collection(tmp_path / "col") as col:
        import_deck(col, v1_copy)
        assert log_counts(import_deck(col, deck))["new"] == 3  # what the warning is about: the notes forked

    # Another machine (no ledger): --previous names the deck learners hold, and it tells the same.
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "another-machine"))
    other = anki(str(bank), "-o", str(tmp_path / "elsewhere.apkg"), "--previous", str(v1_copy),
                 epoch=1_700_000_000 + 7200)
    assert "3 questions (e.g. 'alpha') moved from web/servers/getting-started to web/servers/getting-going " \
           f"since {v1_copy}" in other, other

    # Pinned as told: the notes are the learners' again; nothing is said and the import makes no note.
    first.write_text(first.read_text(encoding="utf-8").replace(
        "subtopic: Getting going", "subtopic: {name: Getting going, slug: getting-started}"), encoding="utf-8")
    v3 = anki(str(bank), "-o", str(tmp_path / "v3.apkg"), "--previous", str(v1_copy), epoch=1_700_000_000 + 9000)
    assert "moved from" not in v3 and "subtopic 'Getting going'" not in v3, v3
    with new_collection(tmp_path / "col2") as col:
        import_deck(col, v1_copy)
        assert log_counts(import_deck(col, tmp_path / "v3.apkg"))["new"] == 0
        assert col.note_count() == 4


def test_validate_warns_once_per_place_without_a_slug_and_a_build_stays_quiet(tmp_path):
    bank = tmp_path / "bank"
    subtopic_file(bank, "a.md", "Getting started", ["alpha"])
    subtopic_file(bank, "b.md", '"Other: things"', ["beta"])
    checked = runner.invoke(app, ["validate", str(bank)])
    assert checked.exit_code == 0, checked.output
    said = " ".join(checked.output.split())
    assert said.count("topic 'Servers': no `slug`") == 1, said  # once per place, not once per file
    assert f"{bank / 'a.md'}:4: subtopic 'Getting started': no `slug`" in said
    assert "pin it: `subtopic: {name: Getting started, slug: getting-started}`" in said
    assert 'pin it: `subtopic: {name: "Other: things", slug: other-things}`' in said  # quoted: YAML reads it
    assert "framework 'Web'" not in said  # it has its slug
    # A build says nothing (a build with warnings is never skipped as up to date); the rename is told when it
    # happens (above).
    assert "warning" not in anki(str(bank), "-o", str(tmp_path / "d.apkg"), epoch=1_700_000_000)


def test_a_rename_that_renames_the_default_output_is_told_from_the_old_deck_beside_it(tmp_path, monkeypatch):
    """One framework, one topic: the default file is named after both, so renaming the topic writes a new file
    (dist/web-http-servers.apkg) beside the old deck (dist/web-servers.apkg), which is neither the output nor
    --previous. The build manifest shows this very command wrote the old deck there, and it still holds those
    bytes: it is read, and the rename told. Before, nothing was said (stop 38's leftover). A file this command did
    not write there (another bank's deck put at the old name) is never read: its ids would tell a false rename."""
    monkeypatch.chdir(tmp_path)
    bank = tmp_path / "bank"
    first = subtopic_file(bank, "a.md", "Getting started", ["alpha", "beta", "gamma"])
    epoch = 1_700_000_000  # the same for both builds: SOURCE_DATE_EPOCH is part of the run key
    assert "warning" not in anki(str(bank), epoch=epoch)
    old = tmp_path / "dist" / "web-servers.apkg"
    assert old.is_file()
    first.write_text(first.read_text(encoding="utf-8").replace("topic: Servers", "topic: HTTP servers"),
                     encoding="utf-8")
    said = anki(str(bank), epoch=epoch)
    new = tmp_path / "dist" / "web-http-servers.apkg"
    assert new.is_file() and old.is_file()
    told = (f"3 questions (e.g. 'alpha') moved from web/servers/getting-started to web/http-servers/getting-started "
            f"since {old}")
    assert told in said and "give it back its old slug (topic `slug: servers`)" in said, said
    with new_collection(tmp_path / "col") as col:
        assert log_counts(import_deck(col, old))["new"] == 3
        assert log_counts(import_deck(col, new))["new"] == 3  # what the warning is about: the notes forked


@pytest.mark.parametrize("case", ["the earlier build warned", "the later build has --no-cache"])
def test_the_old_deck_beside_the_output_is_found_after_a_build_that_warned_or_with_no_cache(tmp_path, monkeypatch,
                                                                                           case):
    """Stop 39's leftovers: a build that warned recorded no manifest, and ``--no-cache`` read none, so the old deck
    of a rename that renamed the default output was not found. A build that warned is now recorded, marked so (never
    up to date: it runs again and says its warnings again), and ``--no-cache`` reads the records of the same command
    built with the cache (it changes no output), both only to know the files that command wrote: the same run key,
    and the old deck still those bytes, as before."""
    monkeypatch.chdir(tmp_path)
    bank = tmp_path / "bank"
    first = subtopic_file(bank, "a.md", "Getting started", ["alpha", "beta", "gamma"])
    if case == "the earlier build warned":  # a cloze in an answer is warned at every build
        first.write_text(first.read_text(encoding="utf-8").replace("It is beta.", "It is {{c1::beta}}."),
                         encoding="utf-8")
    epoch = 1_700_000_000
    said = anki(str(bank), epoch=epoch)
    assert ("warning" in said) == (case == "the earlier build warned"), said
    old = tmp_path / "dist" / "web-servers.apkg"
    if case == "the earlier build warned":  # recorded, yet never skipped: the warning is said again
        assert anki(str(bank), epoch=epoch).count("warning") == said.count("warning")
    first.write_text(first.read_text(encoding="utf-8").replace("topic: Servers", "topic: HTTP servers"),
                     encoding="utf-8")
    said = anki(str(bank), *(["--no-cache"] if case != "the earlier build warned" else []), epoch=epoch)
    assert (tmp_path / "dist" / "web-http-servers.apkg").is_file() and old.is_file()
    told = (f"3 questions (e.g. 'alpha') moved from web/servers/getting-started to web/http-servers/getting-started "
            f"since {old}")
    assert told in said, said


def test_a_deck_this_command_did_not_write_beside_the_output_is_never_read(tmp_path, monkeypatch):
    """The old name holds another file than the one this command wrote there (another bank's deck with the same
    ids, copied over it): it is not read, and no rename is told from it."""
    monkeypatch.chdir(tmp_path)
    bank, other = tmp_path / "bank", tmp_path / "other"
    first = subtopic_file(bank, "a.md", "Getting started", ["one", "two"])
    subtopic_file(other, "a.md", "Getting started", ["one", "two", "three"])
    epoch = 1_700_000_000
    anki(str(bank), epoch=epoch)
    old = tmp_path / "dist" / "web-servers.apkg"
    anki(str(other), "-o", str(tmp_path / "foreign.apkg"), epoch=epoch)
    old.write_bytes((tmp_path / "foreign.apkg").read_bytes())  # not the bytes this command wrote there
    first.write_text(first.read_text(encoding="utf-8").replace("topic: Servers", "topic: HTTP servers"),
                     encoding="utf-8")
    said = anki(str(bank), epoch=epoch)
    assert (tmp_path / "dist" / "web-http-servers.apkg").is_file()
    assert "moved from" not in said, said


def test_a_place_written_as_a_block_mapping_is_told_at_its_name_line_by_both_messages(tmp_path):
    """One line per place (``Node.line``, its name's): the missing slug and the slug clash point at the same
    line. Before, a block mapping's missing slug was told at the ``subtopic:`` line and its clash at the ``name:``
    line below it (two fields, ``line`` and ``unpinned_at``, held the place's line)."""
    bank = tmp_path / "bank"
    bank.mkdir()
    front = "---\nframework: {{name: Web, slug: web}}\ntopic:\n  order: 2\n  name: Tools\nsubtopic:\n  name: {}\n---\n"
    for file, name, qid in (("b.md", '"C++"', "b"), ("c.md", '"C#"', "c")):
        (bank / file).write_text(front.format(name) + f"\n## What? {{#{qid} .easy}}\n\nA.\n", encoding="utf-8")
    said = " ".join(runner.invoke(app, ["validate", str(bank)]).output.split())
    assert f"{bank / 'b.md'}:5: topic 'Tools': no `slug`" in said, said
    assert f"{bank / 'b.md'}:7: subtopic 'C++': no `slug`" in said, said
    assert f"{bank / 'c.md'}:7: subtopic 'C#' gets the slug 'c', as does subtopic 'C++' at {bank / 'b.md'}:7" in said


def test_a_changed_question_id_is_told_with_the_id_to_give_back_as_the_trial_found_it(tmp_path):
    """Trial 11's #9: `init`, a deck, then the example's `{#code-in-answers .medium}` made `{#code-answers .medium}`:
    Anki imports it as a new note (the reviews stay on the old one), and the build said nothing. The earlier deck's
    bank member holds the old question's text: a gone id and a new id with that very text in the same place are
    told, at the new question's line, with the id to give back or the `from=` that keeps the note."""
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    example = next(p for p in (tmp_path / "bank").rglob("*.md") if "{#code-in-answers " in p.read_text("utf-8"))
    bank, deck = str(tmp_path / "bank"), tmp_path / "d.apkg"
    assert "warning" not in anki(bank, "-o", str(deck), epoch=1_700_000_000)
    v1 = tmp_path / "v1.apkg"
    v1.write_bytes(deck.read_bytes())
    text = example.read_text(encoding="utf-8").replace("{#code-in-answers .medium}", "{#code-answers .medium}")
    example.write_text(text, encoding="utf-8")
    line = text.splitlines().index(next(s for s in text.splitlines() if "{#code-answers " in s)) + 1
    said = anki(bank, "-o", str(deck), epoch=1_700_000_000 + 3600)
    old_key = "example/markdown/getting-started/code-in-answers"
    assert (f"{example}:{line}: question id 'code-in-answers' became 'code-answers' since {deck} (the same "
            "question in the same place)") in said, said
    assert f"Give it back its id 'code-in-answers', or keep the learners' reviews with `from={old_key}`" in said
    assert said.count("became") == 1 and "moved from" not in said, said
    with new_collection(tmp_path / "col") as col:
        import_deck(col, v1)
        assert log_counts(import_deck(col, deck))["new"] == 1  # what the warning is about: the note forked

    # Done as told (from=): the learners' note again; nothing is said, the import makes no note.
    example.write_text(text.replace("{#code-answers .medium}", f"{{#code-answers .medium from={old_key}}}"),
                       encoding="utf-8")
    fixed = tmp_path / "fixed.apkg"
    assert "became" not in anki(bank, "-o", str(fixed), "--previous", str(v1), epoch=1_700_000_000 + 7200)
    with new_collection(tmp_path / "col2") as col:
        import_deck(col, v1)
        assert log_counts(import_deck(col, fixed))["new"] == 0


def test_a_changed_id_is_told_from_previous_and_never_guessed(tmp_path, monkeypatch):
    """Another machine (no ledger): the deck `--previous` names is read by its notes' Key fields, the texts from its
    bank member, and the same is told. Not told: an id whose question text changed too, and a text that two new
    questions of the place share (either could be the old one)."""
    bank = tmp_path / "bank"
    first = subtopic_file(bank, "a.md", "Getting started", ["alpha", "beta", "gamma"])
    v1 = tmp_path / "v1.apkg"
    anki(str(bank), "-o", str(v1), epoch=1_700_000_000)
    original = first.read_text(encoding="utf-8")
    monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / "another-machine"))

    first.write_text(original.replace("{#beta ", "{#bravo "), encoding="utf-8")
    told = anki(str(bank), "-o", str(tmp_path / "v2.apkg"), "--previous", str(v1), epoch=1_700_000_000 + 3600)
    assert (f"{first}:11: question id 'beta' became 'bravo' since {v1}" in told
            and "`from=web/servers/getting-started/beta`" in told), told

    first.write_text(original.replace("## What is beta? {#beta ", "## What is bravo? {#bravo "), encoding="utf-8")
    assert "became" not in anki(str(bank), "-o", str(tmp_path / "v3.apkg"), "--previous", str(v1),
                                epoch=1_700_000_000 + 3600)

    # Two questions of the old text in the place: 'bravo' (already in the deck this ledger wrote) and 'b2' (new),
    # then both new (a third machine): either could be 'beta'.
    first.write_text(original.replace("{#beta ", "{#bravo ") + "## What is beta? {#b2 .easy}\n\nIt is beta.\n",
                     encoding="utf-8")
    for machine in ("another-machine", "a-third-machine"):
        monkeypatch.setenv("QAEXPORT_STATE_DIR", str(tmp_path / machine))
        assert "became" not in anki(str(bank), "-o", str(tmp_path / f"{machine}.apkg"), "--previous", str(v1),
                                    epoch=1_700_000_000 + 3600)

