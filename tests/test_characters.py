"""Characters that hide or reorder text, control characters, noncharacters and lone surrogates are handled in one
place (qaexport/characters.py, applied by assemble), so no output keeps them: not the PDF's outline and /Title,
not the EPUB's navigation and package document (which must stay well-formed XML), not the Anki note's fields."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport import sources
from qaexport.characters import clean_name, clean_text
from qaexport.cli import app
from tests.bounds_corpus import payload

runner = CliRunner()
WEIRD = "\u202eevil\u202c \u200bzero\u2066iso\u2069 \x01\x07ctl\x1b \ufffe\uffff\ufeff\u2028 \x7f\x85\U0010fffe"
BANNED = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff\ufffe\uffff\U0010fffe") | {
    chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), *range(0x7F, 0xA0)]}


def test_clean_text_drops_what_hides_and_keeps_what_spells():
    assert clean_text("a\u202eb\u200bc\x07d\ufffee\tf\ng") == "abcde\tf\ng"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("می\u200cخواهم 👩\u200d💻 \u200e") == "می\u200cخواهم 👩\u200d💻 \u200e"  # ZWNJ, ZWJ, LRM stay


def test_clean_name_is_one_line():
    assert clean_name("  Two\nlines\u2028and\ttabs \u202e ") == "Two lines and tabs"


@pytest.fixture(scope="module")
def weird_bank(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("weird")
    sub = {"subtopic": f"Sub {WEIRD}", "path": "/fw/topic/sub", "description": f"About {WEIRD}", "questions": [
        {"id": "q1", "difficulty": "easy", "q": f"Question {WEIRD}? \ud83d", "a": f"Answer {WEIRD} \udca9"}]}
    path = folder / "weird.json"
    path.write_text(json.dumps(payload([sub], f"Fw {WEIRD}", f"Topic {WEIRD}")))
    return path


def _no_banned(text: str, where: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in BANNED or 0xD800 <= ord(c) <= 0xDFFF})
    assert not found, f"{where}: {found}"


def test_the_library_holds_no_such_character(weird_bank):
    library = sources.load([weird_bank])
    for fw, topic, sub in library.subtopics():
        for text in (fw.name, topic.name, sub.name, sub.description):
            _no_banned(text, "names")
            assert "\n" not in fw.name + topic.name + sub.name
    question = next(library.questions()).question
    _no_banned(question.question + question.answer, "texts")
    assert "\ufffd" in question.question and "\ufffd" in question.answer


def test_the_epub_stays_well_formed_and_clean(weird_bank, tmp_path):
    out = tmp_path / "book.epub"
    result = runner.invoke(app, ["epub", str(weird_bank), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.endswith((".xhtml", ".opf", ".ncx")):
                text = zf.read(name).decode("utf-8")
                ElementTree.fromstring(text)  # well-formed XML
                _no_banned(text, name)


def test_the_anki_notes_are_clean(weird_bank, tmp_path):
    out = tmp_path / "deck.apkg"
    result = runner.invoke(app, ["anki", str(weird_bank), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        (tmp_path / "c.db").write_bytes(zf.read("collection.anki2"))
    conn = sqlite3.connect(tmp_path / "c.db")
    try:
        for (fields,) in conn.execute("select flds from notes"):
            _no_banned(fields.replace("\x1f", " "), "note fields")
        _no_banned(conn.execute("select decks from col").fetchone()[0], "deck names")
    finally:
        conn.close()


def test_the_pdf_outline_and_title_are_clean(weird_bank, tmp_path):
    out = tmp_path / "book.pdf"
    result = runner.invoke(app, ["pdf", str(weird_bank), "-o", str(out), "--title", f"Title {WEIRD}"])
    assert result.exit_code == 0, result.output
    reader = PdfReader(out)
    _no_banned(str(reader.metadata.title), "/Title")
    assert reader.metadata.title.startswith("Title evil")

    def walk(items) -> list[str]:
        found = []
        for item in items:
            found += walk(item) if isinstance(item, list) else [item.title]
        return found

    titles = walk(reader.outline)
    assert titles
    for title in titles:
        _no_banned(title, "outline")


def test_rich_markup_in_names_and_paths_is_printed_as_written(tmp_path):
    bank = tmp_path / "[apkg] [bold]bank.md"
    bank.write_text("---\nframework: '[/x] Fw'\ntopic: '[red]T'\nsubtopic: ':smile: S'\n---\n\n"
                    "## Why [/b]? {#a .easy}\n\nA\n\n## Broken {#b .nope .hard}\n\nA\n")
    result = runner.invoke(app, ["validate", str(bank)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"✗ {bank}:11" in result.output
    bank.write_text(bank.read_text().replace(" .nope", ""))
    result = runner.invoke(app, ["list", str(bank)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[/x] Fw: [red]T" in result.output and ":smile: S" in result.output


def _one_class(text: str) -> str:
    """clean_text as it was written first: one character class for everything dropped (the split classes of
    characters.py must drop exactly this)."""
    import re

    from qaexport import characters

    dropped = re.compile(f"[{characters._HIDING}{characters._CONTROLS}{characters._NONCHARACTERS}]")
    text = characters._SURROGATE.sub("\ufffd", dropped.sub("", text))
    return text.replace("\u2028", "\n").replace("\u2029", "\n\n")


_EDGES = [chr(c) for c in (*range(0, 0xA1), 0x200B, 0x200C, 0x200D, 0x200E, 0x2028, 0x2029, 0x202A, 0x202E, 0x2060,
                           0x2066, 0x2069, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFDCF, 0xFDD0, 0xFDEF, 0xFDF0, 0xFEFF,
                           0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x1F600, 0x1FFFD, 0x1FFFE, 0x1FFFF, 0x20000, 0x10FFFE,
                           0x10FFFF)]


@pytest.mark.parametrize("seed", range(4))
def test_the_split_classes_drop_exactly_what_the_one_class_drops(seed):
    import random

    rng = random.Random(seed)
    for _ in range(5000):
        text = "".join(rng.choice(_EDGES) if rng.random() < 0.5 else chr(rng.randrange(0x110000))
                       for _ in range(rng.randrange(12)))
        assert clean_text(text) == _one_class(text), ascii(text)
    for edge in _EDGES:  # each alone, in ASCII text, and in text reaching beyond the Basic Multilingual Plane
        for text in (edge, f"ab{edge}cd", f"\U0001f600{edge}é"):
            assert clean_text(text) == _one_class(text), ascii(text)
