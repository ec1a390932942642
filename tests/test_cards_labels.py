"""A card's "k/n" is laid out once for every card whose number has as many digits (``cards.label_key``).

A part of a cut answer, and a whole question on the first of several cards, are kept as measured without their
"k/n"; the "k/n" alone (a face with all else hidden) is drawn over them. It lands after the number ("#N", bold sans),
so where it lands depends on the number's width, which is its count of digits (the sans face's figures are
tabular and not kerned against each other): one layout per (digits, "k/n") serves every card, where each card's own
was laid out before (on the 560 bank: 978 faces, with the 652 heads of cut parts, now kept with their parts). Here
real faces are laid out by WeasyPrint: every number's "k/n" is drawn with the same bytes as the one of its key, and a
bank's sheets lay out each key's face once.
"""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pikepdf
import pytest

from qaexport.books.fonts import font_face_css, font_faces
from qaexport.exporters import cards
from qaexport.exporters.cards import continued_key, label_key, layout, measure_css
from qaexport.exporters.cards.geometry import choose_grid
from qaexport.templates import asset, environment
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write

pytestmark = pytest.mark.slow  # lays out real faces

NUMBERS = [*range(1, 13), *range(88, 112), 555, 999, 1000, 1234]
PARTS = ["1/2", "2/2", "3/12", "12/12"]


def _drawings(faces: list[str], path: Path) -> list[bytes]:
    """Each face laid out alone on its measuring page (as ``lay_out_faces`` does) and drawn: its page's drawing."""
    grid = choose_grid("a4", "a7")
    css = measure_css(font_face_css() + asset("cards", "cards.css"), grid)
    files = {face.uri: face.path for face in font_faces()}
    measured = layout._measure(layout.Batch(faces, [True] * len(faces), path), css, float("inf"), None, files)
    assert measured.pages == list(range(len(faces)))
    with pikepdf.open(path) as pdf:
        return [page.obj.Contents.read_bytes() for page in pdf.pages]


def test_a_k_of_n_is_drawn_alike_for_every_number_of_its_key(tmp_path):
    """Every number's "k/n" face, front and back, and every "(continued)" face (the faces ``make_cards`` makes),
    draws exactly what the face of its key draws (the same page drawing, byte for byte: the same glyphs at the same
    place), and "k/n" keys of other widths draw elsewhere: the key is exact, and needed. Fails with a key that
    ignores the number's digits (1 and 10 share)."""
    face = environment("cards").get_template("face.html").module.face  # type: ignore[attr-defined]
    subtopics = ("Sub", "Another subtopic", "A subtopic long enough to take two lines of the card's head, and more")
    made = [(side, number, part, difficulty, size, subtopics[number % 3], continued)
            for side, difficulty, size, continued in (("front", "hard", 11.0, False), ("back", "easy", 7.0, False),
                                                      ("front", "easy", 9.0, True), ("front", "hard", 7.0, True))
            for number in NUMBERS for part in PARTS]
    faces = [face(side, number, part, difficulty, sub if side == "front" else "", "", size, f"m-{k}",
                  continued=continued, part_only=not continued, continued_only=continued)
             for k, (side, number, part, difficulty, size, sub, continued) in enumerate(made)]
    drawn = _drawings(faces, tmp_path / "labels.pdf")
    by_key: dict[tuple[object, ...], set[bytes]] = collections.defaultdict(set)
    for (_side, number, part, difficulty, _size, sub, continued), drawing in zip(made, drawn, strict=True):
        by_key[continued_key(difficulty, sub) if continued else label_key(number, part)].add(drawing)
    assert all(len(drawings) == 1 for drawings in by_key.values()), {k: len(v) for k, v in by_key.items()}
    widths: dict[str, list[bytes]] = collections.defaultdict(list)  # the "k/n" keys but for the digits
    for key, drawings in by_key.items():
        if key[0] != "(continued)":
            widths[str(key[1])] += drawings
    assert len(widths) == len(PARTS)
    assert all(len(set(drawings)) == len(drawings) == 4 for drawings in widths.values())  # each width its place
    assert sum(key[0] == "(continued)" for key in by_key) == 6
    assert all(b"Tj" in d or b"TJ" in d for d in drawn)  # each draws its text


def test_the_labels_of_a_bank_are_laid_out_once_per_key(tmp_path, monkeypatch):
    """``qaexport cards`` of a bank of 12 questions whose answers take several cards each (numbers of one and two
    digits): the faces laid out after measuring are one "k/n" face per key, and nothing else: no part's head (a cut
    part is kept with it), no "(continued)" front (its question's head, kept, under a "k/n" face that shows the
    "(continued)"), where each labelled card had its own "k/n", each part its head and each "(continued)" front its
    face laid out. Fails when each card's "k/n" is laid out for it."""
    prose = "\n\n".join(f"Paragraph {i}: " + " ".join(f"word{i}x{j}" for j in range(40)) for i in range(8))
    qs = [question(f"q{n}", "hard" if n % 2 else "easy", f"Question {n}?", prose) for n in range(12)]
    bank = write(tmp_path / "bank.json", page([subtopic("long", "Long", qs)]))
    log = tmp_path / "faces"
    made: list = []
    real_batch, real_faces = cards._lay_out_batch, cards.lay_out_faces

    def kind(html: str) -> str:  # a "k/n" or "(continued)" face, a head, a "(continued)" front laid out whole
        label = "part-only" in html or "continued-only" in html
        continued = '<p class="continued">' in html and not label
        return f"{label:d}{'label-only' in html or 'headless' in html:d}{continued:d}"

    def logged(batch, *args):  # in the forked children: to a file
        with log.open("a") as out:
            out.write("".join(kind(html) + "\n" for html in batch.faces))
        return real_batch(batch, *args)

    def spied(cards_made, *args):
        made.extend(cards_made)
        return real_faces(cards_made, *args)

    monkeypatch.setattr(cards, "_lay_out_batch", logged)
    monkeypatch.setattr(cards, "lay_out_faces", spied)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    qaexport("cards", str(bank), "-o", str(tmp_path / "bank.cards.pdf"), "--no-cache")
    labels = [label for card in made for label in (card.front_label, card.back_label) if label is not None]
    keys = {label.key for label in labels}
    afters = [card.front_after for card in made if card.front_after is not None]
    keys |= {after.key for after in afters}
    assert {key[0] for key in keys} == {1, 2, "(continued)"} and len(labels) >= 36 > 2 * len(keys)
    assert len(afters) >= 12 > 4 * sum(key[0] == "(continued)" for key in keys)
    faces = collections.Counter(log.read_text().split())
    assert faces["100"] == len(keys), (faces, keys)
    assert sum(n for kind, n in faces.items() if kind != "100") == 0, faces  # no head, no "(continued)" front


@pytest.fixture(autouse=True)
def _clean(tmp_path):
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)
